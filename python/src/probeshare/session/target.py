"""Run control of an ARMv7-M/ARMv8-M core through its debug registers.

Facts from the Armv7-M Architecture Reference Manual (C1.6): DHCSR
(0xE000EDF0) takes writes only with the key 0xA05F in its upper half;
C_DEBUGEN, C_HALT, C_STEP and C_MASKINTS control the core, S_REGRDY,
S_HALT, S_SLEEP, S_LOCKUP report it, S_RESET_ST and S_RETIRE_ST clear on
read. DEMCR.VC_CORERESET halts the core as it leaves reset; AIRCR with the
key 0x05FA and SYSRESETREQ resets the system.
"""

from __future__ import annotations

import enum
import time
from typing import Callable

from .errors import Timeout
from .memory import Memory

DHCSR = 0xE000EDF0
DCRSR = 0xE000EDF4
DCRDR = 0xE000EDF8
DEMCR = 0xE000EDFC
AIRCR = 0xE000ED0C

DHCSR_KEY = 0xA05F << 16
C_DEBUGEN = 1 << 0
C_HALT = 1 << 1
C_STEP = 1 << 2
C_MASKINTS = 1 << 3
S_REGRDY = 1 << 16
S_HALT = 1 << 17
S_SLEEP = 1 << 18
S_LOCKUP = 1 << 19
S_RESET_ST = 1 << 25

DEMCR_VC_CORERESET = 1 << 0
AIRCR_KEY = 0x05FA << 16
AIRCR_SYSRESETREQ = 1 << 2

#: How long a halt, step or reset may take to show in DHCSR.
SETTLE_TIMEOUT_S = 5.0


class TargetState(enum.Enum):
    """The core's run state as DHCSR shows it."""

    RUNNING = "running"
    HALTED = "halted"
    SLEEPING = "sleeping"
    LOCKED_UP = "locked_up"
    RESET = "reset"


def state_of(dhcsr: int) -> TargetState:
    """The state a DHCSR value shows (S_RESET_ST aside: see `Target.state`)."""
    if dhcsr & S_LOCKUP:
        return TargetState.LOCKED_UP
    if dhcsr & S_HALT:
        return TargetState.HALTED
    if dhcsr & S_SLEEP:
        return TargetState.SLEEPING
    return TargetState.RUNNING


class Target:
    """`session.target`: halt, resume, step, reset, state."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def dhcsr(self) -> int:
        return self._memory.read32(DHCSR)

    def state(self) -> TargetState:
        """RESET when the core is held in reset: S_RESET_ST (which clears on
        read, and so says only that a reset happened since the last read)
        still set in a second read; else what S_LOCKUP, S_HALT, S_SLEEP say."""
        value = self.dhcsr()
        if value & S_RESET_ST:
            value = self.dhcsr()
            if value & S_RESET_ST:
                return TargetState.RESET
        return state_of(value)

    def is_halted(self) -> bool:
        return bool(self.dhcsr() & S_HALT)

    def halt(self) -> None:
        """Halts the core and waits until DHCSR says so."""
        self._memory.write32(DHCSR, DHCSR_KEY | C_DEBUGEN | C_HALT)
        self._wait_for("halt", lambda v: bool(v & S_HALT))

    def resume(self) -> None:
        """Lets the core run (debug stays enabled)."""
        self._memory.write32(DHCSR, DHCSR_KEY | C_DEBUGEN)
        self._memory.flush()

    def step(self) -> None:
        """Executes one instruction with interrupts masked; the core must be halted."""
        self._memory.write32(DHCSR, DHCSR_KEY | C_DEBUGEN | C_HALT | C_MASKINTS)
        self._memory.write32(DHCSR, DHCSR_KEY | C_DEBUGEN | C_STEP | C_MASKINTS)
        self._wait_for("step", lambda v: bool(v & S_HALT))
        self._memory.write32(DHCSR, DHCSR_KEY | C_DEBUGEN | C_HALT)
        self._memory.flush()

    def reset(self, halt: bool = False) -> None:
        """System reset through AIRCR.SYSRESETREQ, waiting until DHCSR shows
        it (S_RESET_ST). With `halt` the core stops at its reset vector
        (DEMCR.VC_CORERESET, cleared after); without, it runs."""
        demcr = self._memory.read32(DEMCR)
        self._memory.write32(DHCSR, DHCSR_KEY | C_DEBUGEN)
        if halt:
            self._memory.write32(DEMCR, demcr | DEMCR_VC_CORERESET)
        elif demcr & DEMCR_VC_CORERESET:
            self._memory.write32(DEMCR, demcr & ~DEMCR_VC_CORERESET)
        self._memory.write32(AIRCR, AIRCR_KEY | AIRCR_SYSRESETREQ)
        seen_reset = False

        def done(value: int) -> bool:
            nonlocal seen_reset
            seen_reset = seen_reset or bool(value & S_RESET_ST)
            return seen_reset and (not halt or bool(value & S_HALT))

        self._wait_for("reset halt" if halt else "reset", done)
        if halt:
            self._memory.write32(DEMCR, demcr & ~DEMCR_VC_CORERESET)
        self._memory.flush()

    def _wait_for(self, what: str, done: Callable[[int], bool]) -> int:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            value = self.dhcsr()
            if done(value):
                return value
            if time.monotonic() >= deadline:
                raise Timeout(f"{what}: DHCSR still 0x{value:08x} after {SETTLE_TIMEOUT_S} s")
            time.sleep(0.001)
