"""A Python session library for probeshare (docs/python.md).

    from probeshare.session import Session

    with Session.start(probe="sim") as s:
        s.target.halt()
        print(hex(s.registers.pc()))

`Session` is synchronous; `AsyncSession` is its asyncio variant. Status
codes of the protocol become the exceptions in `errors`.
"""

from .async_session import AsyncSession, AsyncSubsystem
from .errors import (
    ConnectionClosed,
    GeneralError,
    ProbeDisconnected,
    ProbeError,
    ProbeshareError,
    ServerStartError,
    StatusError,
    Timeout,
    TransferError,
    TransferFault,
    TransferTimeout,
)
from .events import Event, Events
from .reservations import Reservation, Sessions, SessionsError
from .session import Session
from .target import TargetState

__all__ = [
    "AsyncSession", "AsyncSubsystem", "ConnectionClosed", "Event", "Events", "GeneralError",
    "ProbeDisconnected", "ProbeError", "ProbeshareError", "Reservation", "ServerStartError",
    "Session", "Sessions", "SessionsError", "StatusError", "TargetState", "Timeout",
    "TransferError", "TransferFault", "TransferTimeout",
]
