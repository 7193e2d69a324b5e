"""Target memory through a memory handle (docs/protocol.md, "Memory handles").

The session declares the ``memory_handles`` feature, so the server hands
out a handle for the MEM-AP (APSEL 0 unless told otherwise) and does the
TAR/CSW/DRW work itself: one request per access or block. Writes are sent
without waiting (their errors come with the next read, or `flush()`), and
large blocks go out as several requests in flight at once.
"""

from __future__ import annotations

from typing import List

from .errors import GeneralError
from .wire import Wire

#: Elements per request of a block: well under the server's default block
#: limit (1 Mi elements), small enough to keep several in flight.
CHUNK_ELEMENTS = 16384


class Memory:
    """`session.memory`: reads and writes of target memory."""

    def __init__(self, wire: Wire, apsel: int = 0) -> None:
        self._wire = wire
        handle = wire.call("get_memory_interface_for_ap", 1, apsel)
        if handle is None:
            raise GeneralError(
                "get_memory_interface_for_ap", 1,
                f"the server gave no memory handle for AP {apsel} (not a MEM-AP?)",
            )
        self.handle = int(handle)

    def _read(self, addr: int, size: int) -> int:
        return int(self._wire.call("read_mem", self.handle, addr, size))

    def _write(self, addr: int, value: int, size: int) -> None:
        self._wire.send("write_mem", self.handle, addr, value, size, deferred=True)

    def read8(self, addr: int) -> int:
        return self._read(addr, 8)

    def read16(self, addr: int) -> int:
        return self._read(addr, 16)

    def read32(self, addr: int) -> int:
        return self._read(addr, 32)

    def write8(self, addr: int, value: int) -> None:
        self._write(addr, value, 8)

    def write16(self, addr: int, value: int) -> None:
        self._write(addr, value, 16)

    def write32(self, addr: int, value: int) -> None:
        self._write(addr, value, 32)

    def read_block32(self, addr: int, count: int) -> List[int]:
        """`count` words from the 4-aligned `addr`."""
        return self._read_chunks("read_block32", addr, count, 4)

    def write_block32(self, addr: int, words: List[int]) -> None:
        for start in range(0, len(words), CHUNK_ELEMENTS):
            chunk = list(words[start : start + CHUNK_ELEMENTS])
            self._wire.send("write_block32", self.handle, addr + 4 * start, chunk, deferred=True)

    def read_bytes(self, addr: int, length: int) -> bytes:
        """`length` bytes from any address (the server splits unaligned ends)."""
        return bytes(self._read_chunks("read_block8", addr, length, 1))

    def write_bytes(self, addr: int, data: bytes) -> None:
        for start in range(0, len(data), CHUNK_ELEMENTS):
            chunk = list(data[start : start + CHUNK_ELEMENTS])
            self._wire.send("write_block8", self.handle, addr + start, chunk, deferred=True)

    def flush(self) -> None:
        """Waits for every write sent; raises the first one's error."""
        self._wire.settle()

    def _read_chunks(self, request: str, addr: int, count: int, unit: int) -> List[int]:
        pending = [
            self._wire.send(request, self.handle, addr + unit * start,
                            min(CHUNK_ELEMENTS, count - start))
            for start in range(0, count, CHUNK_ELEMENTS)
        ]
        values: List[int] = []
        for one in pending:
            values.extend(int(v) for v in self._wire.value(one))
        return values


