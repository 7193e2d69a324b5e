"""`PipelinedMemoryInterface`: a memory handle as pyOCD's MEM-AP uses it.

pyOCD hands every memory access of an AP to the interface the probe returns
for it (its "accelerated memory interface"). Writes go without waiting,
``now=False`` reads return a callback, block reads wait. Byte data may come
as `bytes` or `bytearray` (commander's `loadmem`, RAM loading, RTT and
semihosting writes pass those), so it is sent as a list of integers:
pyOCD's own remote client hands such data to `json` as given, which
refuses it before anything is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Sequence, Union

from pyocd.core.memory_interface import MemoryInterface

if TYPE_CHECKING:
    from .probe import ProbeshareProbe


def _as_list(data: Sequence[int]) -> List[int]:
    return data if isinstance(data, list) else list(data)


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
        self._probe._send("write_block8", self._handle, addr, _as_list(data))

    def read_memory_block8(self, addr: int, size: int, **attrs: Any) -> List[int]:
        data: List[int] = self._probe._call("read_block8", self._handle, addr, size)
        return data
