"""`ProbeshareProbe`: pyOCD's `DebugProbe` over a pipelined connection.

It speaks the same protocol as pyOCD's ``remote:`` client
(`pyocd.probe.tcp_client_probe.TCPClientProbe`) and differs where that
client is slow or unsafe:

- Requests that return nothing (writes, `lock`, `unlock`, `connect`,
  sequences without input, resets) and ``now=False`` reads are sent without
  waiting; a value is waited for only when pyOCD needs it (a ``now=True``
  read, a deferred read's callback, `flush`). A failed write raises at the
  sending thread's next such point, as pyOCD's CMSIS-DAP driver raises a
  queued transfer's error at a later read or flush.
- `lock` excludes the session's other threads until the matching `unlock`
  (and holds the server's lock meanwhile); every other request also takes
  the session lock for its duration, so threads never interleave their
  TAR/DRW pairs.
- It declares the ``memory_handles`` feature (docs/protocol.md,
  "Extensions"), so a probeshare server gives it memory handles whatever
  its ``--memory-handles`` flag says, and its handles encode byte data
  safely (`memory.PipelinedMemoryInterface`).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from pyocd.core import exceptions
from pyocd.probe.debug_probe import DebugProbe

from .. import protocol
from .listing import MEMORY_HANDLES_OPTION
from .memory import PipelinedMemoryInterface

#: Status codes as pyOCD's exceptions, as its remote client maps them.
_STATUS_EXCEPTIONS: Dict[int, type] = {
    protocol.STATUS_GENERAL_ERROR: exceptions.Error,
    protocol.STATUS_PROBE_DISCONNECTED: exceptions.ProbeDisconnected,
    protocol.STATUS_PROBE_ERROR: exceptions.ProbeError,
    protocol.STATUS_TRANSFER_ERROR: exceptions.TransferError,
    protocol.STATUS_TRANSFER_TIMEOUT: exceptions.TransferTimeoutError,
    protocol.STATUS_TRANSFER_FAULT: exceptions.TransferFaultError,
}

#: Properties that never change while a connection lasts; read once, in
#: one round trip, when the probe opens.
_STATIC_PROPERTIES = ("vendor_name", "product_name", "supported_wire_protocols", "capabilities")

DEFAULT_PORT = 5555


def pyocd_error(request: str, status: int, message: str) -> BaseException:
    """The pyOCD exception for a failed request, worded as pyOCD's client words it."""
    kind = _STATUS_EXCEPTIONS.get(status, exceptions.ProbeError)
    error: BaseException = kind(
        f"error received from server for command {request} (status code {status}): {message}"
    )
    return error


class ProbeshareProbe(DebugProbe):  # type: ignore[misc]
    """A probe served by a probeshare server (or any remote probe server)."""

    @classmethod
    def get_all_connected_probes(
        cls, unique_id: Optional[str] = None, is_explicit: bool = False
    ) -> List["ProbeshareProbe"]:
        if is_explicit and unique_id is not None:
            return [cls(unique_id)]
        from .listing import listed_probes

        return listed_probes(cls)

    @classmethod
    def get_probe_with_id(
        cls, unique_id: str, is_explicit: bool = False
    ) -> Optional["ProbeshareProbe"]:
        return cls(unique_id) if is_explicit else None

    def __init__(self, address: str, listed: Optional[Dict[str, Any]] = None) -> None:
        """`address` is ``HOST:PORT`` (the unique ID without ``probeshare:``);
        `listed` holds properties already read by a listing."""
        super().__init__()
        self._host, self._port = protocol.parse_address(address, DEFAULT_PORT)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._uid = f"probeshare:{host}:{self._port}"
        self._connection: Optional[protocol.Connection] = None
        self._properties: Dict[str, Any] = dict(listed or {})
        self._features: List[str] = []
        # The session lock is the base class's RLock (`self._lock`): taken by
        # lock() and around every request. The server's lock is held while
        # the outermost lock() is.
        self._lock_depth = 0

    # -- properties ----------------------------------------------------------

    @property
    def description(self) -> str:
        served = self._properties.get("description")
        return str(served) if served else f"probeshare probe {self._uid}"

    @property
    def vendor_name(self) -> Any:
        return self._properties.get("vendor_name", "probeshare")

    @property
    def product_name(self) -> Any:
        return self._properties.get("product_name", "remote probe")

    @property
    def supported_wire_protocols(self) -> Any:
        names = self._properties.get("supported_wire_protocols")
        return None if names is None else [DebugProbe.Protocol[n] for n in names]

    @property
    def capabilities(self) -> Any:
        names = self._properties.get("capabilities")
        return set() if names is None else {DebugProbe.Capability[n] for n in names}

    @property
    def wire_protocol(self) -> Any:
        if self._connection is None:
            return None
        # The server answers `readprop` when it reads it, not after the probe
        # work queued before it: a `connect` still in flight must be
        # answered first (and its error raised here, where pyOCD checks it).
        with self._lock:
            connection = self.connection
            self._translate(connection.settle)
        name = self._call("readprop", "wire_protocol")
        return None if name is None else DebugProbe.Protocol[name]

    @property
    def unique_id(self) -> str:
        return self._uid

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def features(self) -> List[str]:
        """The probeshare features the server granted (empty for other servers)."""
        return list(self._features)

    @property
    def connection(self) -> protocol.Connection:
        if self._connection is None:
            raise exceptions.ProbeError(f"{self._uid} is not open")
        return self._connection

    # -- requests ------------------------------------------------------------

    def _send(self, request: str, *args: Any) -> None:
        """A request whose answer nobody waits for: its error comes later."""
        with self._lock:
            self.connection.send(request, *args, deferred=True)

    def _call(self, request: str, *args: Any) -> Any:
        """A request whose result is needed now."""
        with self._lock:
            connection = self.connection
            pending = connection.send(request, *args)
        return self._translate(lambda: connection.value(pending))

    def _read_later(self, request: str, *args: Any, now: bool) -> Any:
        """A read: its value now, or a callback that collects it."""
        with self._lock:
            connection = self.connection
            pending = connection.send(request, *args)

        def collect() -> Any:
            return self._translate(lambda: connection.value(pending))

        return collect() if now else collect

    def _translate(self, collect: Callable[[], Any]) -> Any:
        try:
            return collect()
        except protocol.ConnectionLost as e:
            raise exceptions.ProbeDisconnected(f"{self._uid}: {e}") from e

    # -- life ----------------------------------------------------------------

    def open(self) -> None:
        if self._connection is None:
            try:
                self._connection = protocol.Connection(
                    self._host, self._port, make_error=pyocd_error
                )
            except OSError as e:
                raise exceptions.ProbeError(f"cannot connect to {self._uid}: {e}") from e
        connection = self._connection
        # One round trip: hello, the extension, open and the properties that
        # never change, all in flight at once.
        hello = connection.send("hello", protocol.PROTOCOL_VERSION)
        wanted = [protocol.FEATURE_MEMORY_HANDLES] if self._wants_memory_handles() else []
        features = connection.send(protocol.FEATURES_REQUEST, wanted)
        opened = connection.send("open")
        properties = {name: connection.send("readprop", name) for name in _STATIC_PROPERTIES}
        description = connection.send("readprop", "description")
        self._translate(lambda: connection.value(hello))
        try:
            self._features = list(self._translate(lambda: connection.value(features)) or [])
        except exceptions.Error:
            # Not a probeshare server (pyOCD's own answers "unknown request
            # type"): it is used as the stock client uses it.
            self._features = []
        self._translate(lambda: connection.value(opened))
        for name, pending in properties.items():
            self._properties[name] = self._translate(lambda p=pending: connection.value(p))
        try:
            self._properties["description"] = self._translate(
                lambda: connection.value(description)
            )
        except exceptions.Error:
            pass

    def _wants_memory_handles(self) -> bool:
        """The session option ``probeshare.memory_handles`` (default on)."""
        session = self.session
        if session is None:
            return True
        return bool(session.options.get(MEMORY_HANDLES_OPTION))

    def close(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            with self._lock:
                connection.discard_unraised()
                closing = connection.send("close")
            self._translate(lambda: connection.value(closing))
        finally:
            connection.close()
            self._connection = None

    def lock(self) -> None:
        self._lock.acquire()
        try:
            if self._lock_depth == 0:
                self.connection.send("lock", deferred=True)
        except BaseException:
            self._lock.release()
            raise
        self._lock_depth += 1

    def unlock(self) -> None:
        assert self._lock_depth > 0, "unlock without lock"
        self._lock_depth -= 1
        try:
            if self._lock_depth == 0 and self._connection is not None:
                self._connection.send("unlock", deferred=True)
        finally:
            self._lock.release()

    # -- target control ------------------------------------------------------

    def connect(self, protocol_: Any = None) -> None:
        name = "DEFAULT" if protocol_ is None else protocol_.name
        self._send("connect", name)

    def disconnect(self) -> None:
        self._send("disconnect")

    def swj_sequence(self, length: int, bits: int) -> None:
        self._send("swj_sequence", length, bits)

    def swd_sequence(self, sequences: Sequence[Any]) -> Any:
        return self._call("swd_sequence", [list(s) for s in sequences])

    def jtag_sequence(self, cycles: int, tms: int, read_tdo: bool, tdi: int) -> Any:
        return self._call("jtag_sequence", cycles, tms, read_tdo, tdi)

    def set_clock(self, frequency: float) -> None:
        self._send("set_clock", int(frequency))

    def reset(self) -> None:
        self._send("reset")

    def assert_reset(self, asserted: bool) -> None:
        self._send("assert_reset", bool(asserted))

    def is_reset_asserted(self) -> bool:
        return bool(self._call("is_reset_asserted"))

    def flush(self) -> None:
        with self._lock:
            connection = self.connection
            connection.send("flush", deferred=True)
        self._translate(connection.settle)

    # -- DAP access ----------------------------------------------------------

    def read_dp(self, addr: int, now: bool = True) -> Union[int, Callable[[], int]]:
        result: Union[int, Callable[[], int]] = self._read_later("read_dp", addr, now=now)
        return result

    def write_dp(self, addr: int, data: int) -> None:
        self._send("write_dp", addr, data)

    def read_ap(self, addr: int, now: bool = True) -> Union[int, Callable[[], int]]:
        result: Union[int, Callable[[], int]] = self._read_later("read_ap", addr, now=now)
        return result

    def write_ap(self, addr: int, data: int) -> None:
        self._send("write_ap", addr, data)

    def read_ap_multiple(
        self, addr: int, count: int = 1, now: bool = True
    ) -> Union[Sequence[int], Callable[[], Sequence[int]]]:
        result: Union[Sequence[int], Callable[[], Sequence[int]]] = self._read_later(
            "read_ap_multiple", addr, count, now=now
        )
        return result

    def write_ap_multiple(self, addr: int, values: Sequence[int]) -> None:
        self._send("write_ap_multiple", addr, list(values))

    def get_memory_interface_for_ap(self, ap_address: Any) -> Optional[PipelinedMemoryInterface]:
        handle = self._call(
            "get_memory_interface_for_ap", ap_address.ap_version.value, ap_address.nominal_address
        )
        if handle is None:
            return None
        return PipelinedMemoryInterface(self, handle)

    # -- SWO -----------------------------------------------------------------

    def has_swo(self) -> bool:
        return bool(self._call("has_swo"))

    def swo_start(self, baudrate: float) -> None:
        self._send("swo_start", int(baudrate))

    def swo_stop(self) -> None:
        self._send("swo_stop")

    def swo_read(self) -> Any:
        return self._call("swo_read")

