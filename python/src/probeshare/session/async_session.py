"""asyncio variants: `AsyncSession` runs the sync `Session` in worker
threads (`asyncio.to_thread`), so a blocking request never stalls the event
loop.

    async with await AsyncSession.start(probe="sim") as s:
        await s.target.halt()
        pc = await s.registers.pc()

Every method of a subsystem becomes a coroutine function of the same name
and arguments; `sync` is the wrapped `Session` (for `events`, whose
callbacks run on their own thread anyway, and the server process).
Requests from several tasks may overlap: the wire client is thread-safe
and answers each in order.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from types import TracebackType
from typing import Any, Awaitable, Callable, List, Optional, Type, Union

from .session import Session


class AsyncSubsystem:
    """A subsystem whose methods are awaited."""

    def __init__(self, subsystem: Any) -> None:
        self._subsystem = subsystem

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._subsystem, name)
        if not callable(method):
            raise AttributeError(f"{name} is not a method")

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call


class AsyncSession:
    """`Session` for asyncio."""

    def __init__(self, sync: Session) -> None:
        self.sync = sync

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 5555, timeout: float = 10.0,
                      management: Optional[str] = None) -> "AsyncSession":
        return cls(await asyncio.to_thread(Session.connect, host, port, timeout, management))

    @classmethod
    async def start(cls, probe: Optional[str] = None, *, config: Union[str, Path, None] = None,
                    port: int = 0, binary: Union[str, Path, None] = None,
                    timeout: float = 10.0,
                    extra_args: Optional[List[str]] = None) -> "AsyncSession":
        sync = await asyncio.to_thread(
            functools.partial(Session.start, probe, config=config, port=port, binary=binary,
                              timeout=timeout, extra_args=extra_args)
        )
        return cls(sync)

    async def _subsystem(self, name: str) -> AsyncSubsystem:
        # Making one may touch the probe (attach), so it runs in a thread.
        return AsyncSubsystem(await asyncio.to_thread(getattr, self.sync, name))

    async def dap(self) -> AsyncSubsystem:
        return await self._subsystem("dap")

    async def memory(self) -> AsyncSubsystem:
        return await self._subsystem("memory")

    async def target(self) -> AsyncSubsystem:
        return await self._subsystem("target")

    async def registers(self) -> AsyncSubsystem:
        return await self._subsystem("registers")

    async def sessions(self) -> AsyncSubsystem:
        return await self._subsystem("sessions")

    async def command(self, request: str, *args: Any) -> Any:
        return await asyncio.to_thread(self.sync.command, request, *args)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, kind: Optional[Type[BaseException]],
                        error: Optional[BaseException],
                        traceback: Optional[TracebackType]) -> None:
        await self.close()
