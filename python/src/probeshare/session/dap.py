"""DP and AP register access (ADIv5).

AP addresses carry the AP selection as the protocol wants it (APv1: APSEL
in bits 31:24, bank and register in bits 7:0), so `read_ap(0xFC)` is AP 0's
IDR and `read_ap(ap_address(1, 0xFC))` AP 1's. Writes are deferred: their
errors come with the next read or `flush()`.
"""

from __future__ import annotations

from typing import List

from .wire import Wire

DP_DPIDR = 0x0
DP_CTRL_STAT = 0x4
DP_SELECT = 0x8
DP_RDBUFF = 0xC
AP_CSW = 0x00
AP_TAR = 0x04
AP_DRW = 0x0C
AP_IDR = 0xFC


def ap_address(apsel: int, register: int) -> int:
    """An APv1 AP register address as the protocol carries it."""
    return (apsel << 24) | register


class Dap:
    """`session.dap`: raw DP and AP register reads and writes."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire

    def read_dp(self, addr: int) -> int:
        return int(self._wire.call("read_dp", addr))

    def write_dp(self, addr: int, value: int) -> None:
        self._wire.send("write_dp", addr, value, deferred=True)

    def read_ap(self, addr: int) -> int:
        return int(self._wire.call("read_ap", addr))

    def write_ap(self, addr: int, value: int) -> None:
        self._wire.send("write_ap", addr, value, deferred=True)

    def read_ap_multiple(self, addr: int, count: int) -> List[int]:
        return [int(v) for v in self._wire.call("read_ap_multiple", addr, count)]

    def write_ap_multiple(self, addr: int, values: List[int]) -> None:
        self._wire.send("write_ap_multiple", addr, list(values), deferred=True)

    def dpidr(self) -> int:
        return self.read_dp(DP_DPIDR)

    def flush(self) -> None:
        """Waits for every queued write; raises the first one's error."""
        self._wire.call("flush")
        self._wire.settle()
