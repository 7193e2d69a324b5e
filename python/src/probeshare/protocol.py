"""The wire client: pyOCD's remote probe protocol, pipelined.

The protocol (docs/protocol.md of the probeshare repository) is one JSON
object per line each way, answered in request order. A stock client waits
for every answer; `Connection` sends each request at once and keeps it in
flight until its answer is wanted:

- `send` writes a request and returns its `Pending` without waiting.
- `value` collects answers in order up to the one wanted and returns its
  result (or raises its error).
- A request sent with ``deferred=True`` (a write, whose answer nobody asks
  for) that fails has its error raised at the *next collection point of the
  thread that sent it*: the next `value` or `settle` in that thread. This is
  when pyOCD's own CMSIS-DAP driver raises the error of a queued write.
- At most `max_in_flight` requests (and about `max_in_flight_bytes` of
  request text) are unanswered at once; beyond that `send` first collects
  the oldest answers.

The connection is safe to share between threads: sending and collecting
each have a lock, and a thread collecting stores the answers of other
threads' requests for them. Which requests may interleave with which is the
caller's business (the pyOCD plugin holds its session lock around them).

Nothing here imports pyOCD, so other clients (a session library, test
tools) can use it.
"""

from __future__ import annotations

import collections
import json
import logging
import socket
import threading
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

LOG = logging.getLogger(__name__)

# The protocol's status codes (docs/protocol.md, "Status codes").
STATUS_OK = 0
STATUS_GENERAL_ERROR = 1
STATUS_PROBE_DISCONNECTED = 2
STATUS_PROBE_ERROR = 3
STATUS_TRANSFER_ERROR = 10
STATUS_TRANSFER_TIMEOUT = 11
STATUS_TRANSFER_FAULT = 12

PROTOCOL_VERSION = 1

#: The extension request a probeshare server understands and pyOCD's server
#: answers with "unknown request type" (docs/protocol.md, "Extensions").
FEATURES_REQUEST = "probeshare_features"
#: The feature that declares bytes-safe use of memory handles.
FEATURE_MEMORY_HANDLES = "memory_handles"

DEFAULT_MAX_IN_FLIGHT = 256
DEFAULT_MAX_IN_FLIGHT_BYTES = 1 << 20


class ServerError(Exception):
    """A request answered with a non-zero status."""

    def __init__(self, request: str, status: int, message: str) -> None:
        super().__init__(
            f"error received from server for command {request} (status code {status}): {message}"
        )
        self.request = request
        self.status = status
        self.message = message


class ConnectionLost(Exception):
    """The server closed the connection or sent something that is not the protocol."""


#: Makes the exception raised for a failed request: (request, status, message).
ErrorFactory = Callable[[str, int, str], BaseException]


class Pending:
    """One request in flight, then its answer."""

    __slots__ = ("id", "request", "deferred", "thread", "done", "result", "error", "size")

    def __init__(self, request_id: int, request: str, deferred: bool, size: int) -> None:
        self.id = request_id
        self.request = request
        self.deferred = deferred
        self.thread = threading.get_ident()
        self.done = False
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.size = size


class Connection:
    """One TCP connection to a probe server, with pipelined requests."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        make_error: ErrorFactory = ServerError,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_in_flight_bytes: int = DEFAULT_MAX_IN_FLIGHT_BYTES,
        connect_timeout: float = 10.0,
    ) -> None:
        self._make_error = make_error
        self._max_in_flight = max(1, max_in_flight)
        self._max_in_flight_bytes = max_in_flight_bytes
        self._socket = socket.create_connection((host, port), connect_timeout)
        # Answers are awaited for as long as the server takes: a lock may be
        # held by another client for minutes. A dead peer is found by TCP.
        self._socket.settimeout(None)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._reader = self._socket.makefile("rb", buffering=1 << 16)
        self._send_lock = threading.Lock()
        self._receive_lock = threading.Lock()
        self._in_flight: Deque[Pending] = collections.deque()
        self._in_flight_bytes = 0
        self._next_id = 0
        self._unraised: Dict[int, List[BaseException]] = {}
        self._lost: Optional[ConnectionLost] = None
        self._closed = False
        #: Requests sent, answers collected, and dependent round trips: waits
        #: for an answer to a request sent after the previous such wait
        #: began (a wait for one already in flight then costs no new trip).
        #: For tests and benchmarks.
        self.sent = 0
        self.collections = 0
        self.round_trips = 0
        self._trip_mark = 0

    # -- sending -------------------------------------------------------------

    def send(self, request: str, *args: Any, deferred: bool = False) -> Pending:
        """Sends `request` without waiting for its answer."""
        with self._send_lock:
            self._check_usable()
            rid = self._next_id
            self._next_id += 1
            message: Dict[str, Any] = {"id": rid, "request": request}
            if args:
                message["arguments"] = args
            line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
            while self._in_flight and (
                len(self._in_flight) >= self._max_in_flight
                or self._in_flight_bytes + len(line) > self._max_in_flight_bytes
            ):
                self._collect_until(self._in_flight[0])
            pending = Pending(rid, request, deferred, len(line))
            self._in_flight.append(pending)
            self._in_flight_bytes += len(line)
            self.sent += 1
            try:
                self._socket.sendall(line)
            except OSError as e:
                raise self._lose(f"cannot send {request}: {e}") from e
            return pending

    def call(self, request: str, *args: Any) -> Any:
        """Sends `request` and returns its result."""
        return self.value(self.send(request, *args))

    # -- collecting ----------------------------------------------------------

    def value(self, pending: Pending) -> Any:
        """Collects answers up to `pending` and returns its result.

        Raises the first unraised error of a deferred request this thread
        sent before, else `pending`'s own error.
        """
        self._collect_until(pending)
        self._raise_unraised()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def settle(self, upto: Optional[Pending] = None) -> None:
        """Collects every answer in flight (or up to `upto`); raises this
        thread's first unraised deferred error."""
        if upto is None:
            with self._send_lock:
                upto = self._in_flight[-1] if self._in_flight else None
        if upto is not None:
            self._collect_until(upto)
        self._raise_unraised()

    def settle_unraised(self) -> None:
        """Raises this thread's first unraised deferred error, waiting for nothing."""
        self._raise_unraised()

    def discard_unraised(self) -> None:
        """Forgets this thread's deferred errors (its session is ending)."""
        self._unraised.pop(threading.get_ident(), None)

    def set_timeout(self, seconds: Optional[float]) -> None:
        """How long a wait for an answer may take (None: as long as it takes)."""
        self._socket.settimeout(seconds)

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._in_flight)

    def _raise_unraised(self) -> None:
        errors = self._unraised.pop(threading.get_ident(), None)
        if errors:
            raise errors[0]

    def close_after(self, pending: Pending) -> None:
        """Collects answers up to `pending` (a session's last request, which
        nobody waits for: not counted as a round trip), then closes."""
        try:
            self._collect_until(pending, counted=False)
        except (ConnectionLost, OSError):
            pass
        finally:
            self.close()

    def _collect_until(self, pending: Pending, counted: bool = True) -> None:
        if pending.done:
            return
        with self._receive_lock:
            if counted and not pending.done and pending.id >= self._trip_mark:
                self.round_trips += 1
                self._trip_mark = self._next_id
                LOG.debug("round trip %d: waiting for %s (id %d, %d in flight)",
                          self.round_trips, pending.request, pending.id, len(self._in_flight))
            while not pending.done:
                self._receive_one()

    def _receive_one(self) -> None:
        """Reads one answer and files it with the oldest request in flight."""
        if self._lost is not None:
            raise self._lost
        try:
            line = self._reader.readline()
        except OSError as e:
            raise self._lose(f"cannot read an answer: {e}") from e
        if not line:
            raise self._lose("the server closed the connection")
        try:
            answer = json.loads(line)
            rid, status = answer["id"], answer["status"]
        except (ValueError, KeyError, TypeError) as e:
            raise self._lose(f"malformed answer {line[:200]!r}") from e
        # The deque is only popped here, under the receive lock; appends
        # happen under the send lock and never touch the left end.
        if not self._in_flight:
            raise self._lose(f"an answer with id {rid} to no request")
        pending = self._in_flight[0]
        if rid != pending.id:
            raise self._lose(f"an answer with id {rid} where {pending.id} was due")
        self._in_flight.popleft()
        self._in_flight_bytes -= pending.size
        self.collections += 1
        if status != STATUS_OK:
            message = str(answer.get("error", "(missing error message key)"))
            pending.error = self._make_error(pending.request, int(status), message)
            if pending.deferred:
                self._unraised.setdefault(pending.thread, []).append(pending.error)
        else:
            pending.result = answer.get("result")
        pending.done = True

    def lines(self) -> Iterator[bytes]:
        """The lines that follow once the connection is no longer a request
        stream (after `subscribe`, docs/protocol.md "Events"): collect the
        `subscribe` answer first. Ends when the server closes."""
        while True:
            with self._receive_lock:
                try:
                    line = self._reader.readline()
                except (OSError, ValueError) as e:
                    raise self._lose(f"cannot read: {e}") from e
            if not line:
                return
            yield line

    # -- life ----------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._closed:
            raise ConnectionLost("the connection is closed")

    def _lose(self, why: str) -> ConnectionLost:
        if self._lost is None:
            self._lost = ConnectionLost(why)
        return self._lost

    def close(self) -> None:
        """Closes the socket; requests still in flight are abandoned."""
        if self._closed:
            return
        self._closed = True
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._reader.close()
        self._socket.close()


def parse_address(text: str, default_port: int = 5555) -> Tuple[str, int]:
    """``HOST:PORT``, ``HOST`` or ``[IPv6]:PORT`` as (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in {text!r}")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"invalid port in {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"invalid port in {text!r}")
    return host, port
