"""Core registers through DCRSR/DCRDR (Armv7-M ARM, C1.6.3 and C1.6.4).

A read writes the register's number to DCRSR, waits for DHCSR.S_REGRDY and
reads DCRDR; a write puts the value in DCRDR first and sets DCRSR.REGWnR.
The core must be halted. The server keeps another client's transfer out of
the middle of ours (docs/protocol.md, "Sharing", rule 10).

`read_all` pipelines: for every register it sends the DCRSR write, a DHCSR
read and a DCRDR read at once, and only redoes (polling) from the first
register whose DHCSR did not show S_REGRDY.
"""

from __future__ import annotations

import time
from typing import Dict, List, Tuple

from .. import protocol
from .errors import ProbeshareError, Timeout
from .memory import Memory
from .target import DCRDR, DCRSR, DHCSR, S_REGRDY
from .wire import Wire

DCRSR_REGWNR = 1 << 16
REGRDY_TIMEOUT_S = 1.0

#: DCRSR.REGSEL of the registers by name (lower case; aliases included).
REGISTERS: Dict[str, int] = {
    **{f"r{n}": n for n in range(13)},
    "sp": 13, "r13": 13,
    "lr": 14, "r14": 14,
    "pc": 15, "r15": 15,
    "xpsr": 16,
    "msp": 17,
    "psp": 18,
    # CONTROL, FAULTMASK, BASEPRI, PRIMASK packed in one word (bits 31:24, 23:16, 15:8, 7:0).
    "control_faultmask_basepri_primask": 20,
}
#: What `read_all` reads, in this order.
CORE_REGISTERS: Tuple[str, ...] = tuple(f"r{n}" for n in range(13)) + (
    "sp", "lr", "pc", "xpsr", "msp", "psp",
)


def regsel(name: str) -> int:
    try:
        return REGISTERS[name.lower()]
    except KeyError:
        raise ProbeshareError(
            f"unknown core register {name!r} (known: {', '.join(sorted(REGISTERS))})"
        ) from None


class Registers:
    """`session.registers`: read and write core registers of a halted core."""

    def __init__(self, wire: Wire, memory: Memory) -> None:
        self._wire = wire
        self._memory = memory

    def read(self, name: str) -> int:
        self._memory.write32(DCRSR, regsel(name))
        self._wait_ready(name)
        return self._memory.read32(DCRDR)

    def write(self, name: str, value: int) -> None:
        number = regsel(name)
        self._memory.write32(DCRDR, value & 0xFFFFFFFF)
        self._memory.write32(DCRSR, number | DCRSR_REGWNR)
        self._wait_ready(name)

    def pc(self) -> int:
        return self.read("pc")

    def sp(self) -> int:
        return self.read("sp")

    def lr(self) -> int:
        return self.read("lr")

    def xpsr(self) -> int:
        return self.read("xpsr")

    def read_all(self) -> Dict[str, int]:
        """r0-r12, sp, lr, pc, xpsr, msp, psp in one pipelined exchange."""
        handle = self._memory.handle
        sent: List[Tuple[protocol.Pending, protocol.Pending]] = []
        for name in CORE_REGISTERS:
            self._wire.send("write_mem", handle, DCRSR, REGISTERS[name], 32, deferred=True)
            status = self._wire.send("read_mem", handle, DHCSR, 32)
            value = self._wire.send("read_mem", handle, DCRDR, 32)
            sent.append((status, value))
        values: Dict[str, int] = {}
        for index, (name, (status, value)) in enumerate(zip(CORE_REGISTERS, sent)):
            ready = int(self._wire.value(status)) & S_REGRDY
            word = int(self._wire.value(value))
            if not ready:
                # A transfer had not finished: the ones after it may have
                # been issued too early. Redo them one by one, polling.
                for rest in CORE_REGISTERS[index:]:
                    values[rest] = self.read(rest)
                break
            values[name] = word
        return values

    def _wait_ready(self, name: str) -> None:
        deadline = time.monotonic() + REGRDY_TIMEOUT_S
        while not self._memory.read32(DHCSR) & S_REGRDY:
            if time.monotonic() >= deadline:
                raise Timeout(f"register {name}: DHCSR.S_REGRDY not set within "
                              f"{REGRDY_TIMEOUT_S} s (is the core halted?)")
