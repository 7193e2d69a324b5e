"""Typed exceptions: one class per status code of the protocol.

docs/protocol.md, "Status codes", lists exactly six failure statuses; an
answer with one of them raises the matching subclass of `StatusError`,
carrying the request, the status and the server's message. Everything the
library itself refuses (a server that would not start, a timeout, a
missing management address) is a `ProbeshareError` too, so one ``except``
catches all of it.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from .. import protocol


class ProbeshareError(Exception):
    """Base of every error this library raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StatusError(ProbeshareError):
    """A request or session command answered with a non-zero status."""

    #: The status code this class stands for (0 for an unknown one).
    STATUS = 0

    def __init__(self, request: str, status: int, message: str) -> None:
        super().__init__(message)
        self.request = request
        self.status = status

    def __str__(self) -> str:
        return f"{self.request}: status {self.status}: {self.message}"


class GeneralError(StatusError):
    """Status 1: bad request, wrong arguments, invalid handle, ..."""

    STATUS = protocol.STATUS_GENERAL_ERROR


class ProbeDisconnected(StatusError):
    """Status 2: the probe is gone (unplugged, preempted, server retiring)."""

    STATUS = protocol.STATUS_PROBE_DISCONNECTED


class ProbeError(StatusError):
    """Status 3: the probe refused or failed (and: probe reserved by a session)."""

    STATUS = protocol.STATUS_PROBE_ERROR


class TransferError(StatusError):
    """Status 10: an SWD/JTAG protocol error (NO_ACK, parity)."""

    STATUS = protocol.STATUS_TRANSFER_ERROR


class TransferTimeout(StatusError):
    """Status 11: the target kept answering WAIT."""

    STATUS = protocol.STATUS_TRANSFER_TIMEOUT


class TransferFault(StatusError):
    """Status 12: the target answered FAULT (a bus error, say)."""

    STATUS = protocol.STATUS_TRANSFER_FAULT


class ServerStartError(ProbeshareError):
    """`Session.start` could not bring a server up; the message carries the
    end of its output."""


class Timeout(ProbeshareError):
    """Something the library waits for did not happen in time."""


BY_STATUS: Dict[int, Type[StatusError]] = {
    cls.STATUS: cls
    for cls in (
        GeneralError,
        ProbeDisconnected,
        ProbeError,
        TransferError,
        TransferTimeout,
        TransferFault,
    )
}


def status_error(request: str, status: int, message: str) -> StatusError:
    """The exception for `status` (the protocol's `ErrorFactory`)."""
    cls: Optional[Type[StatusError]] = BY_STATUS.get(status)
    return (cls or StatusError)(request, status, message)


class ConnectionClosed(ProbeshareError):
    """The server closed the connection (or sent what is not the protocol)."""
