"""The protocol's failures as pyOCD's exceptions."""

from __future__ import annotations

from typing import Dict

from pyocd.core import exceptions

from .. import protocol

#: Status codes as pyOCD's exceptions, as its remote client maps them.
_STATUS_EXCEPTIONS: Dict[int, type] = {
    protocol.STATUS_GENERAL_ERROR: exceptions.Error,
    protocol.STATUS_PROBE_DISCONNECTED: exceptions.ProbeDisconnected,
    protocol.STATUS_PROBE_ERROR: exceptions.ProbeError,
    protocol.STATUS_TRANSFER_ERROR: exceptions.TransferError,
    protocol.STATUS_TRANSFER_TIMEOUT: exceptions.TransferTimeoutError,
    protocol.STATUS_TRANSFER_FAULT: exceptions.TransferFaultError,
}


def pyocd_error(request: str, status: int, message: str) -> BaseException:
    """The pyOCD exception for a failed request, worded as pyOCD's client words it."""
    kind = _STATUS_EXCEPTIONS.get(status, exceptions.ProbeError)
    error: BaseException = kind(
        f"error received from server for command {request} (status code {status}): {message}"
    )
    return error
