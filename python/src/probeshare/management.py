"""Sessions through a probeshare server's management interface (HTTP/JSON).

A session reserves one probe: while it is open, only connections on the
session's own ports (`SessionGrant.port`, `SessionGrant.dap_port`) may touch
the probe; everyone else is refused with the holder's name. Sessions expire
unless renewed. Standard library only, so any client can use it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

#: The environment variable that may hold the management interface's bearer
#: token (the same one `probeshare session` reads).
TOKEN_VARIABLE = "PROBESHARE_TOKEN"


class ManagementError(Exception):
    """The management interface refused a request or could not be reached.
    `status` is the HTTP status (0 when no answer came); `answer` the JSON
    body it sent, if any."""

    def __init__(self, message: str, status: int = 0, answer: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.status = status
        self.answer = answer or {}


@dataclass(frozen=True)
class SessionGrant:
    """An open session as the management interface describes it."""

    session: int
    probe: str
    holder: str
    port: int
    dap_port: Optional[int]
    expires: str
    ttl_secs: int

    @classmethod
    def from_json(cls, answer: Dict[str, Any]) -> "SessionGrant":
        dap_port = answer.get("dap_port")
        return cls(
            session=int(answer["session"]),
            probe=str(answer["probe"]),
            holder=str(answer["holder"]),
            port=int(answer["port"]),
            dap_port=None if dap_port is None else int(dap_port),
            expires=str(answer["expires"]),
            ttl_secs=int(answer["ttl_secs"]),
        )


class Management:
    """The management interface at `address` (``HOST:PORT``)."""

    def __init__(
        self, address: str, timeout: float = 10.0, token: Optional[str] = None
    ) -> None:
        self.address = address
        self.timeout = timeout
        # A server with `[management] token` refuses changes without it;
        # the environment carries it so that secrets stay out of files
        # such as labgrid's exporter configuration.
        self.token = token if token is not None else os.environ.get(TOKEN_VARIABLE) or None

    def open_session(
        self, probe: str, holder: str, ttl_secs: int, preempt: bool = False
    ) -> SessionGrant:
        """Opens a session on `probe` (its id in ``GET /probes``)."""
        body = {"holder": holder, "ttl_secs": ttl_secs, "preempt": preempt}
        return SessionGrant.from_json(self._call("POST", self._sessions(probe), body))

    def renew_session(
        self, probe: str, session: int, ttl_secs: Optional[int] = None
    ) -> SessionGrant:
        """Makes `session` expire `ttl_secs` (default: its own time to live) from now."""
        body = {} if ttl_secs is None else {"ttl_secs": ttl_secs}
        path = f"{self._sessions(probe)}/{session}/renew"
        return SessionGrant.from_json(self._call("POST", path, body))

    def close_session(self, probe: str, session: int) -> None:
        """Ends `session`; its ports close once their clients leave."""
        self._call("DELETE", f"{self._sessions(probe)}/{session}")

    def sessions(self, probe: str) -> List[SessionGrant]:
        """The open sessions of `probe` (at most one)."""
        answer = self._call("GET", self._sessions(probe))
        return [SessionGrant.from_json(entry) for entry in answer]

    @staticmethod
    def _sessions(probe: str) -> str:
        # The server matches ids verbatim; only what would end the path
        # segment is encoded.
        return f"/probes/{urllib.parse.quote(probe, safe=':@!$&()*+,;=-._~')}/sessions"

    def _headers(self, has_body: bool) -> Dict[str, str]:
        headers = {"Content-Type": "application/json"} if has_body else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://{self.address}{path}",
            data=data,
            method=method,
            headers=self._headers(data is not None),
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            answer = _json_or_empty(error.read())
            message = answer.get("error", error.reason)
            raise ManagementError(
                f"{method} {path} at {self.address}: {error.code} {message}", error.code, answer
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ManagementError(
                f"cannot reach the management interface at {self.address}: {reason}"
            ) from None


def _json_or_empty(body: bytes) -> Dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
