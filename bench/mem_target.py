"""An in-memory Cortex-M4 debug target for the side-by-side benchmark's pyOCD probe.

Pure Python, no I/O: a SW-DP, one AHB-AP and a bus with 128 KiB of RAM at
0x20000000, a ROM table listing the SCS, and the few SCS registers pyOCD's
discovery and halt-on-connect read. It exists so that pyOCD's own probe server
serves a probe with no USB behind it, just like `probeshare serve --probe sim`,
and the benchmark compares the servers, not the probes.

It models only what pyOCD needs to attach to a generic `cortex_m` target and
move memory; everything else in the system region reads back what was written.
"""

import struct

from pyocd.core import exceptions

RAM_BASE = 0x20000000
RAM_SIZE = 128 * 1024
CODE_SIZE = 64 * 1024
SYSTEM_BASE = 0xE0000000
SYSTEM_END = 0xE0100000

DPIDR = 0x2BA01477  # SW-DP, DPv1, Arm
AHB_AP_IDR = 0x24770011  # pyOCD knows this IDR as an AHB-AP with a 4 KiB TAR wrap
ROM_TABLE = 0xE00FF000
SCS = 0xE000E000
CPUID_CORTEX_M4_R0P1 = 0x410FC241

DHCSR = 0xE000EDF0
DCRSR = 0xE000EDF4
DCRDR = 0xE000EDF8
AIRCR = 0xE000ED0C
DBGKEY = 0xA05F0000
S_REGRDY = 1 << 16
S_HALT = 1 << 17
C_DEBUGEN = 1 << 0
C_HALT = 1 << 1

CTRL_STAT_STICKYERR = 1 << 5
ABORT_STKERRCLR = 1 << 2
POWER_UP_REQUESTS = (1 << 30) | (1 << 28)

CSW_SIZE_MASK = 0x7
CSW_ADDRINC_SINGLE = 0x10
CSW_ADDRINC_MASK = 0x30
CSW_DEVICEEN = 1 << 6
TAR_WRAP = 0x1000

# Component and peripheral ID registers (offsets 0xFD0..0xFFC of a 4 KiB
# component), one byte per word: PIDR4..7, PIDR0..3, CIDR0..3.
ROM_TABLE_IDS = (0x04, 0, 0, 0, 0xC4, 0xB4, 0x0B, 0x00, 0x0D, 0x10, 0x05, 0xB1)
SCS_M4_IDS = (0x04, 0, 0, 0, 0x0C, 0xB0, 0x0B, 0x00, 0x0D, 0xE0, 0x05, 0xB1)


def _fault(address):
    return exceptions.TransferFaultError("bus fault at 0x%08x" % address)


class Bus:
    """The AHB memory map: code memory, RAM, and the system region's registers."""

    def __init__(self):
        self.code = bytearray(CODE_SIZE)
        self.ram = bytearray(RAM_SIZE)
        self.system = {}  # word address -> value, for registers that just hold what was written
        self.core_registers = [0] * 128
        self.dhcsr_control = 0
        self._seed_system_region()

    def _seed_system_region(self):
        words = self.system
        # ROM table: one entry, present, 32-bit format, pointing at the SCS; then the end marker.
        words[ROM_TABLE] = ((SCS - ROM_TABLE) & 0xFFFFF000) | 0x3
        words[ROM_TABLE + 4] = 0
        words[ROM_TABLE + 0xFCC] = 1  # MEMTYPE: system memory on this bus
        for base, ids in ((ROM_TABLE, ROM_TABLE_IDS), (SCS, SCS_M4_IDS)):
            for index, value in enumerate(ids):
                words[base + 0xFD0 + 4 * index] = value
        words[0xE000ED00] = CPUID_CORTEX_M4_R0P1

    def region(self, address, length):
        """The backing buffer and offset of `length` bytes at `address`, if RAM or code."""
        if RAM_BASE <= address and address + length <= RAM_BASE + RAM_SIZE:
            return self.ram, address - RAM_BASE
        if 0 <= address and address + length <= CODE_SIZE:
            return self.code, address
        return None, 0

    def read_words(self, address, count):
        """`count` words from `address` (4-aligned, not crossing a region)."""
        buffer, offset = self.region(address, 4 * count)
        if buffer is not None:
            return list(struct.unpack_from("<%dI" % count, buffer, offset))
        return [self.read32(address + 4 * index) for index in range(count)]

    def write_words(self, address, values):
        buffer, offset = self.region(address, 4 * len(values))
        if buffer is not None:
            struct.pack_into("<%dI" % len(values), buffer, offset, *values)
            return
        for index, value in enumerate(values):
            self.write32(address + 4 * index, value)

    def read32(self, address):
        buffer, offset = self.region(address, 4)
        if buffer is not None:
            return int.from_bytes(buffer[offset:offset + 4], "little")
        if not SYSTEM_BASE <= address < SYSTEM_END:
            raise _fault(address)
        if address == DHCSR:
            halted = S_HALT if (self.dhcsr_control & (C_DEBUGEN | C_HALT)) == (C_DEBUGEN | C_HALT) else 0
            return self.dhcsr_control | S_REGRDY | halted
        if address == AIRCR:
            return 0xFA050000 | (self.system.get(address, 0) & 0x700)
        return self.system.get(address & ~3, 0)

    def write32(self, address, value):
        buffer, offset = self.region(address, 4)
        if buffer is not None:
            buffer[offset:offset + 4] = value.to_bytes(4, "little")
            return
        if not SYSTEM_BASE <= address < SYSTEM_END:
            raise _fault(address)
        if address == DHCSR:
            if value & 0xFFFF0000 == DBGKEY:
                self.dhcsr_control = value & 0xF
        elif address == DCRSR:
            selector = value & 0x7F
            if value & (1 << 16):
                self.core_registers[selector] = self.system.get(DCRDR, 0)
            else:
                self.system[DCRDR] = self.core_registers[selector]
        elif address == AIRCR:
            if value & 0xFFFF0000 == 0x05FA0000:
                self.system[address] = value & 0x700
        else:
            self.system[address & ~3] = value & 0xFFFFFFFF

    def read(self, address, size_bits):
        """One access of 8, 16 or 32 bits, the value right-aligned."""
        if size_bits == 32:
            return self.read32(address)
        buffer, offset = self.region(address, size_bits // 8)
        if buffer is not None:
            return int.from_bytes(buffer[offset:offset + size_bits // 8], "little")
        word = self.read32(address & ~3)
        return (word >> (8 * (address & 3))) & ((1 << size_bits) - 1)

    def write(self, address, value, size_bits):
        if size_bits == 32:
            self.write32(address, value)
            return
        buffer, offset = self.region(address, size_bits // 8)
        if buffer is not None:
            buffer[offset:offset + size_bits // 8] = value.to_bytes(size_bits // 8, "little")
            return
        shift = 8 * (address & 3)
        mask = ((1 << size_bits) - 1) << shift
        word = self.read32(address & ~3)
        self.write32(address & ~3, (word & ~mask) | ((value << shift) & mask))


class DebugPort:
    """A SW-DP with one AHB-AP at APSEL 0; other APSELs read IDR 0 (absent)."""

    def __init__(self, bus):
        self.bus = bus
        self.ctrl_stat = 0
        self.sticky_error = False
        self.select = 0
        self.csw = 0x23000002 | CSW_DEVICEEN
        self.tar = 0
        self.last_ap_read = 0

    def read_dp(self, address):
        register = address & 0xC
        if register == 0x0:
            return DPIDR
        if register == 0x4:
            acks = (self.ctrl_stat & POWER_UP_REQUESTS) << 1
            return self.ctrl_stat | acks | (CTRL_STAT_STICKYERR if self.sticky_error else 0)
        if register == 0xC:
            return self.last_ap_read
        return 0

    def write_dp(self, address, value):
        register = address & 0xC
        if register == 0x0:
            if value & ABORT_STKERRCLR:
                self.sticky_error = False
        elif register == 0x4:
            self.ctrl_stat = value & 0x5000FF0F
        elif register == 0x8:
            self.select = value

    def _check_sticky(self):
        if self.sticky_error:
            raise exceptions.TransferFaultError("sticky error set")

    def _size_bits(self):
        return 8 << (self.csw & CSW_SIZE_MASK) if (self.csw & CSW_SIZE_MASK) <= 2 else 32

    def _advance_tar(self, size_bits):
        if self.csw & CSW_ADDRINC_MASK:
            step = size_bits // 8
            self.tar = (self.tar & ~(TAR_WRAP - 1)) | ((self.tar + step) & (TAR_WRAP - 1))

    def _bus_access(self, address, write_value=None):
        try:
            size_bits = self._size_bits()
            lane = 8 * (address & 3) if size_bits < 32 else 0
            if write_value is None:
                return self.bus.read(address, size_bits) << lane
            self.bus.write(address, (write_value >> lane) & ((1 << size_bits) - 1), size_bits)
            return None
        except exceptions.TransferFaultError:
            self.sticky_error = True
            raise

    def read_ap(self, address):
        self._check_sticky()
        if address >> 24 != 0:
            return 0
        register = address & 0xFC
        if register == 0x00:
            value = self.csw
        elif register == 0x04:
            value = self.tar
        elif register == 0x0C:
            value = self._bus_access(self.tar)
            self._advance_tar(self._size_bits())
        elif 0x10 <= register <= 0x1C:
            value = self._bus_access((self.tar & ~0xF) | (register & 0xC))
        elif register == 0xF8:
            value = ROM_TABLE | 0x3
        elif register == 0xFC:
            value = AHB_AP_IDR
        else:
            value = 0
        self.last_ap_read = value
        return value

    def write_ap(self, address, value):
        self._check_sticky()
        if address >> 24 != 0:
            return
        register = address & 0xFC
        if register == 0x00:
            self.csw = (value & ~(CSW_DEVICEEN | 0x80)) | CSW_DEVICEEN
        elif register == 0x04:
            self.tar = value & 0xFFFFFFFF
        elif register == 0x0C:
            self._bus_access(self.tar, value)
            self._advance_tar(self._size_bits())
        elif 0x10 <= register <= 0x1C:
            self._bus_access((self.tar & ~0xF) | (register & 0xC), value)

    def _is_word_stream(self, address, count):
        """Whether `count` DRW accesses are plain 32-bit auto-incremented words within one wrap."""
        return (address >> 24 == 0 and address & 0xFC == 0x0C and not self.sticky_error
                and self.csw & (CSW_SIZE_MASK | CSW_ADDRINC_MASK) == (2 | CSW_ADDRINC_SINGLE)
                and (self.tar & (TAR_WRAP - 1)) + 4 * count <= TAR_WRAP and self.tar & 3 == 0)

    def read_ap_multiple(self, address, count):
        # The fast path moves a whole page at once, as a probe's firmware would; it
        # is only taken where it gives exactly what `count` single reads would.
        if count > 0 and self._is_word_stream(address, count):
            buffer, _ = self.bus.region(self.tar, 4 * count)
            if buffer is not None:
                values = self.bus.read_words(self.tar, count)
                self.tar = (self.tar & ~(TAR_WRAP - 1)) | ((self.tar + 4 * count) & (TAR_WRAP - 1))
                self.last_ap_read = values[-1]
                return values
        return [self.read_ap(address) for _ in range(count)]

    def write_ap_multiple(self, address, values):
        if values and self._is_word_stream(address, len(values)):
            buffer, _ = self.bus.region(self.tar, 4 * len(values))
            if buffer is not None:
                self.bus.write_words(self.tar, list(values))
                self.tar = (self.tar & ~(TAR_WRAP - 1)) | ((self.tar + 4 * len(values)) & (TAR_WRAP - 1))
                return
        for value in values:
            self.write_ap(address, value)
