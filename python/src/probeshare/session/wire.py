"""The session's connection: `probeshare.protocol.Connection` with this
library's exceptions.

Status codes become the typed exceptions of `errors`; a lost connection
becomes `ConnectionClosed`. Requests are pipelined as the wire client
allows: `send` does not wait, `value` collects.
"""

from __future__ import annotations

from typing import Any, Iterator, List

from .. import protocol
from .errors import ConnectionClosed, status_error

#: The timeout for hello and the feature declaration: answered by the
#: server without the probe, so they come at once from a live server.
HELLO_TIMEOUT_S = 10.0


class Wire:
    """One connection to a probe port, after `hello`."""

    def __init__(self, host: str, port: int, timeout: float, features: List[str]) -> None:
        try:
            self.connection = protocol.Connection(
                host, port, make_error=status_error, connect_timeout=timeout
            )
        except OSError as error:
            raise ConnectionClosed(f"cannot connect to {host}:{port}: {error}") from None
        self.host = host
        self.port = port
        self.connection.set_timeout(HELLO_TIMEOUT_S)
        try:
            self.call("hello", protocol.PROTOCOL_VERSION)
            self.features: List[str] = (
                list(self.call(protocol.FEATURES_REQUEST, features)) if features else []
            )
        except BaseException:
            self.connection.close()
            raise
        # Probe work may wait behind another client's lock for as long as
        # that client holds it.
        self.connection.set_timeout(None)

    def send(self, request: str, *args: Any, deferred: bool = False) -> protocol.Pending:
        try:
            return self.connection.send(request, *args, deferred=deferred)
        except protocol.ConnectionLost as lost:
            raise ConnectionClosed(str(lost)) from None

    def value(self, pending: protocol.Pending) -> Any:
        try:
            return self.connection.value(pending)
        except protocol.ConnectionLost as lost:
            raise ConnectionClosed(str(lost)) from None

    def call(self, request: str, *args: Any) -> Any:
        return self.value(self.send(request, *args))

    def settle(self) -> None:
        """Waits for every answer in flight; raises a deferred write's error."""
        try:
            self.connection.settle()
        except protocol.ConnectionLost as lost:
            raise ConnectionClosed(str(lost)) from None

    def lines(self) -> Iterator[bytes]:
        """The lines the server sends once the connection is an event stream."""
        try:
            yield from self.connection.lines()
        except protocol.ConnectionLost as lost:
            raise ConnectionClosed(str(lost)) from None

    def close(self) -> None:
        self.connection.close()
