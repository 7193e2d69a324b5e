"""`Session`: one connection to a probeshare probe port, and optionally
the server it spawned.

`Session.connect(host, port)` attaches to a running server;
`Session.start(probe="sim")` or `Session.start(config=PATH)` spawns
``probeshare serve`` first (see `process`). Subsystems are made on first
use: `dap`, `memory`, `target`, `registers`, `sessions`, `events`.
`command(request, *args)` sends any protocol request. `close()` (or leaving
a ``with`` block) closes the connections and stops a spawned server.

Probe access: the first of `dap`, `memory`, `target` and `registers` opens
the probe, connects the wire (SWD unless `attach` was called with another)
and powers up the debug port, counted for this connection alone as the
sharing rules count any client's (docs/protocol.md, "Sharing").
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, List, Optional, Type, Union

from .. import protocol
from .dap import DP_CTRL_STAT, Dap
from .errors import ProbeshareError, Timeout
from .events import Events
from .memory import Memory
from .process import ServerProcess, find_binary, serve_args
from .registers import Registers
from .reservations import Sessions
from .target import Target
from .wire import Wire

CDBGPWRUPREQ = 1 << 28
CDBGPWRUPACK = 1 << 29
CSYSPWRUPREQ = 1 << 30
CSYSPWRUPACK = 1 << 31
POWER_UP_TIMEOUT_S = 2.0


class Session:
    """A client of one probe of a probeshare server."""

    def __init__(self, host: str, port: int, timeout: float = 10.0,
                 server: Optional[ServerProcess] = None,
                 management: Optional[str] = None) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._server = server
        self._management = management
        self._wire = Wire(host, port, timeout, [protocol.FEATURE_MEMORY_HANDLES])
        self._attached: Optional[str] = None
        self._dap: Optional[Dap] = None
        self._memory: Optional[Memory] = None
        self._target: Optional[Target] = None
        self._registers: Optional[Registers] = None
        self._sessions: Optional[Sessions] = None
        self._events: Optional[Events] = None
        self._closed = False

    # -- making one ------------------------------------------------------------

    @classmethod
    def connect(cls, host: str = "127.0.0.1", port: int = 5555, timeout: float = 10.0,
                management: Optional[str] = None) -> "Session":
        """Attaches to a running server's probe port. `management`
        (``HOST:PORT``) is needed only for `sessions`."""
        return cls(host, port, timeout, management=management)

    @classmethod
    def start(cls, probe: Optional[str] = None, *, config: Union[str, Path, None] = None,
              port: int = 0, binary: Union[str, Path, None] = None, timeout: float = 10.0,
              extra_args: Optional[List[str]] = None) -> "Session":
        """Spawns ``probeshare serve --probe PROBE --port PORT`` (or
        ``serve --config CONFIG``, connecting to `port`, or with 0 to the
        first probe the server announces), waits until it accepts, and
        connects. The binary: `binary`, else $PROBESHARE_BIN, else
        ``probeshare`` on PATH."""
        args = serve_args(find_binary(binary), probe, config, port, extra_args)
        server = ServerProcess(args, port, timeout)
        try:
            return cls(server.host, server.port, timeout, server=server)
        except BaseException:
            server.stop()
            raise

    # -- the server ------------------------------------------------------------

    @property
    def process(self) -> Optional["subprocess.Popen[bytes]"]:
        """The spawned server's process (None after `connect`)."""
        return None if self._server is None else self._server.popen

    @property
    def server(self) -> Optional[ServerProcess]:
        """The spawned server, with its output (None after `connect`)."""
        return self._server

    @property
    def management(self) -> Optional[str]:
        """``HOST:PORT`` of the management interface, if known. For a
        spawned server, from its log line (waiting up to `timeout` for it:
        the interface starts after the probes; a server without one never
        writes it)."""
        if self._management is None and self._server is not None:
            self._management = self._server.wait_management(self.timeout)
        return self._management

    # -- requests --------------------------------------------------------------

    def command(self, request: str, *args: Any) -> Any:
        """Sends one protocol request and returns its result (typed
        exception on a non-zero status)."""
        return self._wire.call(request, *args)

    def attach(self, wire_protocol: str = "SWD") -> None:
        """Opens the probe, connects the wire and powers up the debug port
        (done by the first probe subsystem used; call it to choose JTAG)."""
        if self._attached is not None:
            return
        # Deferred: their errors (a reservation's refusal, say) are raised
        # by the CTRL/STAT read below, which waits for them anyway.
        self._wire.send("open", deferred=True)
        self._wire.send("connect", wire_protocol, deferred=True)
        self._wire.send("write_dp", DP_CTRL_STAT, CDBGPWRUPREQ | CSYSPWRUPREQ, deferred=True)
        deadline = time.monotonic() + POWER_UP_TIMEOUT_S
        while True:
            ctrl_stat = int(self._wire.call("read_dp", DP_CTRL_STAT))
            if ctrl_stat & CDBGPWRUPACK and ctrl_stat & CSYSPWRUPACK:
                break
            if time.monotonic() >= deadline:
                raise Timeout(f"debug power-up not acknowledged (CTRL/STAT 0x{ctrl_stat:08x})")
            time.sleep(0.01)
        self._attached = wire_protocol

    # -- subsystems ------------------------------------------------------------

    @property
    def dap(self) -> Dap:
        if self._dap is None:
            self.attach()
            self._dap = Dap(self._wire)
        return self._dap

    @property
    def memory(self) -> Memory:
        if self._memory is None:
            self.attach()
            self._memory = Memory(self._wire)
        return self._memory

    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = Target(self.memory)
        return self._target

    @property
    def registers(self) -> Registers:
        if self._registers is None:
            self._registers = Registers(self._wire, self.memory)
        return self._registers

    @property
    def sessions(self) -> Sessions:
        if self._sessions is None:
            if self.management is None:
                raise ProbeshareError(
                    "no management interface known: pass management= to Session.connect, "
                    "or start the server with a configuration that enables one"
                )
            assert self._management is not None
            self._sessions = Sessions(self._management, self.host, self.timeout)
        return self._sessions

    @property
    def events(self) -> Events:
        """The event stream; the subscription is in place once this returns."""
        if self._events is None:
            self._events = Events(self.host, self.port, self.timeout)
        return self._events

    # -- the end ---------------------------------------------------------------

    def close(self) -> None:
        """Closes the connections (the server releases what they held) and
        stops a spawned server: SIGTERM, up to 5 s, then SIGKILL."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._events is not None:
                self._events.close()
            self._wire.close()
        finally:
            if self._server is not None:
                self._server.stop()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.close()
