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
- It answers what it already knows without a round trip: the wire
  protocol while it stays up (`wire.WireState`), an AP's IDR read before,
  a `flush` after nothing but reads (docs/pyocd-plugin.md).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from pyocd.core import exceptions
from pyocd.probe.debug_probe import DebugProbe

from .. import protocol
from .errors import pyocd_error
from .listing import MEMORY_HANDLES_OPTION, listed_probes
from .memory import PipelinedMemoryInterface
from .wire import WireState

#: Properties that never change while a connection lasts; sent with `open`
#: and collected when first asked for.
_STATIC_PROPERTIES = ("vendor_name", "product_name", "supported_wire_protocols", "capabilities")

DEFAULT_PORT = 5555

#: The IDR of an APv1 AP: APSEL in bits 31:24, bank 0xF, register 0xC.
_APV1_IDR = 0xFC

#: Properties read with `open`, without waiting (`wire_protocol` changes, so
#: it is read when asked).
_OPEN_PROPERTIES = _STATIC_PROPERTIES + ("description",)

#: Requests that change nothing on the target or the probe.
_READS = frozenset(
    ("readprop", "read_dp", "read_ap", "read_ap_multiple", "read_mem", "read_block32",
     "read_block8", "is_reset_asserted", "has_swo", "get_memory_interface_for_ap")
)


class ProbeshareProbe(DebugProbe):  # type: ignore[misc]
    """A probe served by a probeshare server (or any remote probe server)."""

    @classmethod
    def get_all_connected_probes(
        cls, unique_id: Optional[str] = None, is_explicit: bool = False
    ) -> List["ProbeshareProbe"]:
        if is_explicit and unique_id is not None:
            return [cls(unique_id)]
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
        # What `open` sent and nobody collected yet.
        self._opening: Optional[Tuple[protocol.Pending, Dict[str, protocol.Pending]]] = None
        # Whether the server answered `probeshare_features` (not pyOCD's).
        self._is_probeshare = False
        self._wire = WireState()
        # Memory interfaces asked for as soon as an AP's IDR read non-zero,
        # by APSEL: pyOCD asks for one for each AP it finds, right after.
        self._interfaces: Dict[int, protocol.Pending] = {}
        # APv1 IDR values read (read-only constants of the hardware), by
        # AP address; pyOCD reads each AP's IDR twice while connecting.
        self._ap_ids: Dict[int, int] = {}
        # Whether anything but a read went out since the last `flush`.
        self._unflushed = True
        # The session lock is the base class's RLock (`self._lock`): taken by
        # lock() and around every request. The server's lock is held while
        # the outermost lock() is.
        self._lock_depth = 0

    # -- properties ----------------------------------------------------------

    @property
    def description(self) -> str:
        served = self._property("description")
        return str(served) if served else f"probeshare probe {self._uid}"

    @property
    def vendor_name(self) -> Any:
        return self._property("vendor_name") or "probeshare"

    @property
    def product_name(self) -> Any:
        return self._property("product_name") or "remote probe"

    @property
    def supported_wire_protocols(self) -> Any:
        names = self._property("supported_wire_protocols")
        return None if names is None else [DebugProbe.Protocol[n] for n in names]

    @property
    def capabilities(self) -> Any:
        names = self._property("capabilities")
        return set() if names is None else {DebugProbe.Capability[n] for n in names}

    @property
    def wire_protocol(self) -> Any:
        if self._connection is None:
            return None
        self._opened()
        wire = self._wire
        with self._lock:
            connection = self.connection
            change = wire.change
            if change is not None and not change.done:
                # The server answers `readprop` when it reads it, not after
                # the probe work queued before it: a `connect` or
                # `disconnect` in flight is collected first (and its error
                # raised here, where pyOCD checks the protocol).
                self._translate(lambda: connection.settle(change))
                wire.connected(self._property("supported_wire_protocols") or [])
            if wire.known is not None:
                return wire.known
            early = wire.take_early_read()
        if early is not None and self._translate(lambda: connection.value(early)) is None:
            # Down when the server read it: pyOCD connects next, which
            # counts this client.
            return None
        name = self._call("readprop", "wire_protocol")
        return wire.seen(name)

    @property
    def unique_id(self) -> str:
        return self._uid

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def features(self) -> List[str]:
        """The probeshare features the server granted (empty for other servers)."""
        self._opened()
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
            self._unflushed = True

    def _call(self, request: str, *args: Any) -> Any:
        """A request whose result is needed now."""
        with self._lock:
            connection = self.connection
            pending = connection.send(request, *args)
            if request not in _READS:
                self._unflushed = True
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
        # Sent without waiting, like writes: `hello` and `open` fail at the
        # first value pyOCD asks for (it reads the wire protocol next), and
        # the extension and the properties that never change are collected
        # when first needed. No round trip of its own.
        with self._lock:
            connection.send("hello", protocol.PROTOCOL_VERSION, deferred=True)
            wanted = [protocol.FEATURE_MEMORY_HANDLES] if self._wants_memory_handles() else []
            features = connection.send(protocol.FEATURES_REQUEST, wanted)
            connection.send("open", deferred=True)
            properties = {name: connection.send("readprop", name) for name in _OPEN_PROPERTIES}
            # pyOCD asks for the wire protocol right after the capabilities;
            # an answer read now is as good (see wire_protocol).
            self._wire.read_early(connection.send("readprop", "wire_protocol"))
            self._opening = (features, properties)

    def _opened(self) -> None:
        """Collects the answers `open` left in flight (once)."""
        with self._lock:
            opening, self._opening = self._opening, None
            if opening is None:
                return
            features, properties = opening
            connection = self.connection
            self._translate(lambda: connection.settle(list(properties.values())[-1]))
            if features.error is None:
                self._features = list(features.result or [])
                self._is_probeshare = True
            # Otherwise not a probeshare server (pyOCD's own answers
            # "unknown request type"): it is used as the stock client uses it.
            for name, pending in properties.items():
                if pending.error is None:
                    self._properties[name] = pending.result

    def _property(self, name: str) -> Any:
        self._opened()
        return self._properties.get(name)

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
        with self._lock:
            self._connection = None
            self._opening = None
            self._wire = WireState()
            connection.discard_unraised()
            try:
                closing = connection.send("close", deferred=True)
            except protocol.ConnectionLost:
                connection.close()
                return
        # The server releases whatever this connection holds when it ends
        # (docs/protocol.md, Sharing, rule 4), so nobody waits for the
        # answer: a thread collects it and closes the socket.
        threading.Thread(
            target=connection.close_after, args=(closing,), daemon=True,
            name=f"probeshare close {self._uid}",
        ).start()

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
        self._change_wire("connect", name)

    def disconnect(self) -> None:
        self._change_wire("disconnect")

    def _change_wire(self, request: str, *args: Any) -> None:
        with self._lock:
            self._ap_ids.clear()
            self._interfaces.clear()
            self._unflushed = True
            self._wire.changing(request, args, self.connection.send(request, *args, deferred=True))

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
        self._opened()
        with self._lock:
            connection = self.connection
            if not self._unflushed and self._is_probeshare:
                # Nothing but reads since the last flush: a probeshare server
                # has nothing to complete or report (a read's error comes
                # with its own answer), so no round trip. This thread's
                # failed writes are still raised here.
                self._translate(connection.settle_unraised)
                return
            flushing = connection.send("flush", deferred=True)
            self._unflushed = False
        self._translate(lambda: connection.settle(flushing))

    # -- DAP access ----------------------------------------------------------

    def read_dp(self, addr: int, now: bool = True) -> Union[int, Callable[[], int]]:
        result: Union[int, Callable[[], int]] = self._read_later("read_dp", addr, now=now)
        return result

    def write_dp(self, addr: int, data: int) -> None:
        self._send("write_dp", addr, data)

    def read_ap(self, addr: int, now: bool = True) -> Union[int, Callable[[], int]]:
        if not self._is_apv1_idr(addr):
            result: Union[int, Callable[[], int]] = self._read_later("read_ap", addr, now=now)
            return result
        known = self._ap_ids.get(addr)
        if known is not None:
            return known if now else (lambda: known)
        read = self._read_later("read_ap", addr, now=False)

        def remember() -> int:
            value: int = read()
            self._ap_ids[addr] = value
            if value:
                self._ask_interface(addr >> 24)
            return value

        return remember() if now else remember

    def _is_apv1_idr(self, addr: int) -> bool:
        """An APv1 address of an AP's IDR (bank 0xF, register 0xC). Under
        APv2 addressing the same offset is another register, so nothing is
        cached when the probe can address APv2s."""
        if addr & 0x00FFFFFF != _APV1_IDR:
            return False
        return DebugProbe.Capability.APv2_ADDRESSES not in self.capabilities

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

    def _ask_interface(self, apsel: int) -> None:
        """Asks for the memory interface of an APv1 AP that exists, without
        waiting; the server answers null for an AP that is no MEM-AP."""
        with self._lock:
            if apsel not in self._interfaces:
                self._interfaces[apsel] = self.connection.send(
                    "get_memory_interface_for_ap", 1, apsel
                )

    def get_memory_interface_for_ap(self, ap_address: Any) -> Optional[PipelinedMemoryInterface]:
        version, nominal = ap_address.ap_version.value, ap_address.nominal_address
        asked = self._interfaces.pop(nominal, None) if version == 1 else None
        if asked is not None:
            connection = self.connection
            handle = self._translate(lambda: connection.value(asked))
        else:
            handle = self._call("get_memory_interface_for_ap", version, nominal)
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

