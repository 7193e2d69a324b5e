"""`ProbeshareDriver`: drives a `ProbeshareProbe` through pyOCD and the plugin.

Activation reserves the probe and connects to it:

1. When the resource names a management address, a probeshare session is
   opened for the place's holder (``HOST/USER (labgrid place NAME)``), so
   clients outside labgrid (another CI job's pyOCD, an OpenOCD) are refused
   while the place is in use. The session is renewed from a background
   thread every third of its time to live; if the test process dies, it
   expires on its own.
2. A pyOCD session is opened on the session's port (the probe's port when
   there is no session) with the probeshare plugin.

Deactivation closes both, the pyOCD session first.
"""

from __future__ import annotations

import getpass
import socket
import threading
from typing import Any, Callable, Optional, TypeVar, cast

import attr
from labgrid.driver import Driver
from labgrid.factory import target_factory
from labgrid.protocol import ResetProtocol
from labgrid.step import step

from ..management import Management, ManagementError, SessionGrant
from .resource import ProbeshareProbe

_Method = TypeVar("_Method", bound=Callable[..., Any])

#: The longest holder name the management interface takes.
MAX_HOLDER_CHARS = 200


def _active_step(*step_args: str) -> Callable[[_Method], _Method]:
    """labgrid's `Driver.check_active` and `step` (untyped in labgrid), typed."""

    def decorate(method: _Method) -> _Method:
        return cast(_Method, Driver.check_active(step(args=list(step_args))(method)))

    return decorate


@target_factory.reg_driver
@attr.s(eq=False)
class ProbeshareDriver(Driver, ResetProtocol):  # type: ignore[misc]
    """A debug probe served by probeshare: memory, run control, reset and flashing.

    Attributes (set in the environment file's ``drivers:`` entry):

    - `target_type`: pyOCD's target type (``pyocd list --targets``), default
      ``cortex_m``;
    - `connect_mode`: pyOCD's ``connect_mode``, default ``attach`` (the
      target keeps running when the driver activates);
    - `session_ttl`: seconds a probeshare session lives without renewal;
    - `preempt`: open the session even while other clients use the probe
      (they are told and disconnected); by default that is refused.
    """

    bindings = {"probe": {ProbeshareProbe}}

    target_type: str = attr.ib(default="cortex_m", validator=attr.validators.instance_of(str))
    connect_mode: str = attr.ib(default="attach", validator=attr.validators.instance_of(str))
    session_ttl: int = attr.ib(default=60, validator=attr.validators.instance_of(int))
    preempt: bool = attr.ib(default=False, validator=attr.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._pyocd: Any = None
        self._reservation: Optional[SessionGrant] = None
        self._stop_renewing = threading.Event()
        self._renewer: Optional[threading.Thread] = None

    # The resource, as bound by labgrid.
    probe: ProbeshareProbe

    @property
    def reservation(self) -> Optional[SessionGrant]:
        """The probeshare session held while active, if the resource names a
        management address."""
        return self._reservation

    @property
    def uid(self) -> str:
        """pyOCD's unique id of the port this driver uses,
        ``probeshare:HOST:PORT``: the session's port while one is open (the
        only port that reaches the probe meanwhile), else the probe's."""
        port = self._reservation.port if self._reservation else self.probe.port
        return f"probeshare:{self.probe.host}:{port}"

    @property
    def dap_port(self) -> Optional[int]:
        """The CMSIS-DAP over TCP port for OpenOCD that reaches the probe now."""
        if self._reservation is not None:
            return self._reservation.dap_port
        return self.probe.dap_port

    @property
    def pyocd_session(self) -> Any:
        """The driver's `pyocd.core.session.Session` while active (its
        ``target`` reads registers, sets breakpoints, ...), for what the
        driver's own methods do not cover."""
        if self._pyocd is None:
            raise RuntimeError(f"{self} is not active")
        return self._pyocd

    def holder(self) -> str:
        """Who the session is opened for: the labgrid place's holder
        (``HOST/USER``, as the coordinator shows it) and the place's name, or
        this host and user when the resource is not from a remote place."""
        place = getattr(self.probe, "parent", None)
        manager = getattr(place, "manager", None)
        client = getattr(manager, "session", None)
        holder = f"{socket.gethostname()}/{getpass.getuser()} (labgrid)"
        if place is not None and client is not None:
            remote = client.get_place(place.name)
            if remote.acquired:
                holder = f"{remote.acquired} (labgrid place {remote.name})"
        return holder[:MAX_HOLDER_CHARS]

    def on_activate(self) -> None:
        if self.probe.management:
            self._open_reservation(self.probe.management)
        try:
            self._connect()
        except BaseException:
            self._close_reservation()
            raise

    def on_deactivate(self) -> None:
        try:
            if self._pyocd is not None:
                self._pyocd.close()
        finally:
            self._pyocd = None
            self._close_reservation()

    @_active_step()
    def halt(self) -> None:
        self._core().halt()

    @_active_step()
    def resume(self) -> None:
        self._core().resume()

    @_active_step()
    def reset(self, halt: bool = False) -> None:
        """Resets the target (pyOCD's default reset type), halting it at the
        reset vector if `halt`."""
        if halt:
            self._core().reset_and_halt()
        else:
            self._core().reset()

    @_active_step("address", "size")
    def read_memory(self, address: int, size: int) -> bytes:
        return bytes(self._core().read_memory_block8(address, size))

    @_active_step("address")
    def write_memory(self, address: int, data: bytes) -> None:
        core = self._core()
        core.write_memory_block8(address, list(data))
        # Writes are pipelined; a failed one raises here, not at a later read.
        core.flush()

    @_active_step("path")
    def flash(
        self,
        path: str,
        base_address: Optional[int] = None,
        file_format: Optional[str] = None,
    ) -> None:
        """Programs an ELF, Intel hex or binary file with pyOCD's file
        programmer (RAM regions are written directly, flash through the
        target's flash algorithm). A binary goes to `base_address`, by
        default the target's boot memory; `file_format` (``elf``, ``hex``,
        ``bin``) overrides the guess from the file name."""
        from pyocd.flash.file_programmer import FileProgrammer

        FileProgrammer(self._pyocd).program(
            str(path), file_format=file_format, base_address=base_address
        )

    def _core(self) -> Any:
        return self._pyocd.target

    def _connect(self) -> None:
        from pyocd.core.helpers import ConnectHelper

        session = ConnectHelper.session_with_chosen_probe(
            unique_id=self.uid,
            blocking=False,
            auto_open=False,
            target_override=self.target_type,
            connect_mode=self.connect_mode,
        )
        if session is None:
            raise ConnectionError(f"pyOCD found no probe {self.uid}")
        session.open()
        self._pyocd = session

    def _open_reservation(self, address: str) -> None:
        management = Management(address)
        self._reservation = management.open_session(
            self.probe.serial, self.holder(), self.session_ttl, self.preempt
        )
        self.logger.info(
            "opened probeshare session %d on %s for %s, port %d",
            self._reservation.session,
            self.probe.serial,
            self._reservation.holder,
            self._reservation.port,
        )
        self._stop_renewing.clear()
        self._renewer = threading.Thread(
            target=self._renew, args=(management,), name="probeshare-renew", daemon=True
        )
        self._renewer.start()

    def _renew(self, management: Management) -> None:
        period = max(self.session_ttl / 3, 1.0)
        while not self._stop_renewing.wait(period):
            reservation = self._reservation
            if reservation is None:
                return
            try:
                management.renew_session(reservation.probe, reservation.session)
            except ManagementError as error:
                self.logger.warning("cannot renew probeshare session: %s", error)

    def _close_reservation(self) -> None:
        reservation = self._reservation
        if reservation is None:
            return
        self._stop_renewing.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        self._reservation = None
        assert self.probe.management is not None
        try:
            Management(self.probe.management).close_session(reservation.probe, reservation.session)
        except ManagementError as error:
            # Expiry ends it anyway; the test's result should not hang on this.
            self.logger.warning("cannot close probeshare session: %s", error)
        else:
            self.logger.info("closed probeshare session %d", reservation.session)
