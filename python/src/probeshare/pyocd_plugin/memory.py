"""`PipelinedMemoryInterface`: a memory handle as pyOCD's MEM-AP uses it.

pyOCD hands every memory access of an AP to the interface the probe returns
for it (its "accelerated memory interface"). Writes go without waiting,
``now=False`` reads return a callback, block reads wait. Byte data may come
as `bytes` or `bytearray` (commander's `loadmem`, RAM loading, RTT and
semihosting writes pass those), so it is sent as a list of integers:
pyOCD's own remote client hands such data to `json` as given, which
refuses it before anything is sent.

Byte blocks of at least `WORDS_FROM` bytes travel as words: the bytes before
the first word boundary and after the last as a byte block each, the middle
as a word block, all pipelined (one round trip for a read, none for a
write). The server moves the middle with word transfers either way (it
splits byte blocks the same way); as words it is a quarter of the numbers to
encode, send and decode. This is how pyOCD's own `MemoryInterface` splits
byte blocks, too.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable, List, Sequence, Tuple, Union

from pyocd.core.memory_interface import MemoryInterface

if TYPE_CHECKING:
    from .probe import ProbeshareProbe


#: Byte blocks this long or longer travel as words.
WORDS_FROM = 64


def _as_list(data: Sequence[int]) -> List[int]:
    return data if isinstance(data, list) else list(data)


def _split(addr: int, size: int) -> Tuple[int, int, int]:
    """Byte counts of the head (to the first word boundary), the whole-word
    middle, and the tail of `size` bytes at `addr`."""
    head = min(-addr % 4, size)
    middle = (size - head) & ~3
    return head, middle, size - head - middle


class PipelinedMemoryInterface(MemoryInterface):  # type: ignore[misc]
    """The memory of one MEM-AP, through the handle the server gave."""

    def __init__(self, probe: "ProbeshareProbe", handle: int) -> None:
        self._probe = probe
        self._handle = handle

    @property
    def handle(self) -> int:
        return self._handle

    def write_memory(self, addr: int, data: int, transfer_size: int = 32, **attrs: Any) -> None:
        assert transfer_size in (8, 16, 32)
        self._probe._send("write_mem", self._handle, addr, data, transfer_size)

    def read_memory(
        self, addr: int, transfer_size: int = 32, now: bool = True, **attrs: Any
    ) -> Union[int, Callable[[], int]]:
        assert transfer_size in (8, 16, 32)
        result: Union[int, Callable[[], int]] = self._probe._read_later(
            "read_mem", self._handle, addr, transfer_size, now=now
        )
        return result

    def write_memory_block32(self, addr: int, data: Sequence[int], **attrs: Any) -> None:
        self._probe._send("write_block32", self._handle, addr, _as_list(data))

    def read_memory_block32(self, addr: int, size: int, **attrs: Any) -> List[int]:
        words: List[int] = self._probe._call("read_block32", self._handle, addr, size)
        return words

    def write_memory_block8(self, addr: int, data: Sequence[int], **attrs: Any) -> None:
        if len(data) < WORDS_FROM:
            self._probe._send("write_block8", self._handle, addr, _as_list(data))
            return
        raw = bytes(data)
        head, middle, tail = _split(addr, len(raw))
        words = list(struct.unpack_from(f"<{middle // 4}I", raw, head))
        with self._probe._lock:
            if head:
                self._probe._send("write_block8", self._handle, addr, list(raw[:head]))
            self._probe._send("write_block32", self._handle, addr + head, words)
            if tail:
                self._probe._send(
                    "write_block8", self._handle, addr + head + middle, list(raw[head + middle :])
                )

    def read_memory_block8(self, addr: int, size: int, **attrs: Any) -> List[int]:
        if size < WORDS_FROM:
            data: List[int] = self._probe._call("read_block8", self._handle, addr, size)
            return data
        head, middle, tail = _split(addr, size)
        probe = self._probe
        with probe._lock:
            parts = []
            if head:
                parts.append(probe._read_later("read_block8", self._handle, addr, head, now=False))
            words = probe._read_later(
                "read_block32", self._handle, addr + head, middle // 4, now=False
            )
            if tail:
                tail_read = probe._read_later(
                    "read_block8", self._handle, addr + head + middle, tail, now=False
                )
        result: List[int] = []
        for part in parts:
            result += part()
        result += struct.pack(f"<{middle // 4}I", *words())
        if tail:
            result += tail_read()
        return result
