"""Sessions of the server (a reservation of the probe with ports of its
own, docs/sessions.md) and the session commands on a session port
(docs/protocol.md, "Session ports").

`session.sessions.open(probe, holder)` opens one through the management
interface (`probeshare.management`) and returns a `Reservation`: its
`grant` (ports, expiry), its session commands (`connect`, `disconnect`,
`erase`, `stop`, on a connection to the session port opened on first use),
`renew()`, `close()`, and `client()`, a `Session` on the session port.
"""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..management import Management, ManagementError, SessionGrant
from .errors import ConnectionClosed, ProbeshareError, status_error

if TYPE_CHECKING:
    from .session import Session


class SessionsError(ProbeshareError):
    """The management interface refused (its HTTP status in `status`, 0 if unreachable)."""

    def __init__(self, error: ManagementError) -> None:
        super().__init__(str(error))
        self.status = error.status
        self.answer = error.answer


class Reservation:
    """One open session: its grant, its commands, its end."""

    def __init__(self, management: Management, grant: SessionGrant, host: str,
                 timeout: float) -> None:
        self._management = management
        self.grant = grant
        self._host = host
        self._timeout = timeout
        self._socket: Optional[socket.socket] = None
        self._reader: Any = None

    @property
    def port(self) -> int:
        return self.grant.port

    def command(self, name: str, **args: Any) -> Dict[str, Any]:
        """Sends session command `name`; returns its answer or raises its status."""
        if self._socket is None:
            try:
                self._socket = socket.create_connection((self._host, self.port), self._timeout)
            except OSError as error:
                raise ConnectionClosed(f"cannot reach session port {self.port}: {error}") from None
            self._socket.settimeout(None)
            self._reader = self._socket.makefile("rb")
        line: Dict[str, Any] = {"name": name}
        if args:
            line["args"] = args
        try:
            self._socket.sendall(json.dumps(line).encode() + b"\n")
            text = self._reader.readline()
        except OSError as error:
            raise ConnectionClosed(f"session command {name}: {error}") from None
        if not text:
            raise ConnectionClosed(f"session command {name}: the server closed the connection")
        try:
            answer: Dict[str, Any] = dict(json.loads(text))
        except (ValueError, TypeError):
            raise ConnectionClosed(f"session command {name}: not an answer: {text[:200]!r}") from None
        status = int(answer.get("status", 1))
        if status != 0:
            raise status_error(name, status, str(answer.get("error", "")))
        return answer

    def connect(self, protocol: str = "SWD") -> int:
        """Opens the probe and the wire for this session; returns DPIDR."""
        return int(self.command("connect", protocol=protocol)["dpidr"])

    def disconnect(self) -> None:
        self.command("disconnect")

    def erase(self) -> str:
        """Mass erase; returns the method the server used."""
        return str(self.command("erase")["method"])

    def stop(self) -> None:
        """Ends the session through its own port."""
        self.command("stop")

    def renew(self, ttl_secs: Optional[int] = None) -> SessionGrant:
        try:
            self.grant = self._management.renew_session(self.grant.probe, self.grant.session,
                                                        ttl_secs)
        except ManagementError as error:
            raise SessionsError(error) from None
        return self.grant

    def client(self) -> "Session":
        """A `Session` on the session's port (the probe's only way in meanwhile)."""
        from .session import Session

        return Session.connect(self._host, self.port, self._timeout)

    def close(self) -> None:
        """Ends the session (DELETE) unless it already ended; closes the command connection."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        try:
            self._management.close_session(self.grant.probe, self.grant.session)
        except ManagementError as error:
            if error.status != 404:
                raise SessionsError(error) from None

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Sessions:
    """`session.sessions`: the server's sessions, through its management interface."""

    def __init__(self, management: str, host: str, timeout: float) -> None:
        self.management = Management(management, timeout)
        self._host = host
        self._timeout = timeout

    def open(self, probe: str, holder: str, ttl_secs: int = 600,
             preempt: bool = False) -> Reservation:
        try:
            grant = self.management.open_session(probe, holder, ttl_secs, preempt)
        except ManagementError as error:
            raise SessionsError(error) from None
        return Reservation(self.management, grant, self._host, self._timeout)

    def list(self, probe: str) -> List[SessionGrant]:
        try:
            return self.management.sessions(probe)
        except ManagementError as error:
            raise SessionsError(error) from None
