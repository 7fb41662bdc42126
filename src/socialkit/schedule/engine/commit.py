"""Group commit: many concurrent callers, one store transaction per batch.

While one batch is being written, new items queue up; they go together in the next
write. A lone item is written at once, so latency stays low when the engine is quiet,
and throughput grows with load because the per-transaction cost is shared.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["GroupCommitter"]

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommitter(Generic[In, Out]):
    """Batches :meth:`submit` calls into calls of ``flush(items) -> results``.

    ``flush`` returns one result per item, in order. If it raises, every item of that
    batch gets the exception.
    """

    def __init__(self, flush: Callable[[list[In]], Awaitable[list[Out]]]) -> None:
        self._flush = flush
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        """Queue ``item`` and wait until the batch holding it is committed."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._flush([item for item, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def drain(self) -> None:
        """Wait until everything submitted so far is committed."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
