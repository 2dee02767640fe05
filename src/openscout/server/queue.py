"""A fair, bounded request queue per model.

Each model serves `slots` requests at once (the engine's max_parallel: 1 for llama.cpp).
Waiting requests are grouped by client (API key digest or address) and served round-robin, so
one client sending many requests cannot starve another. The queue is bounded: beyond
`max_waiting` for one model a request is refused at once with 429, and beyond the server-wide
total with 503, both with Retry-After, instead of piling up memory.
Everything here runs on the event loop; `release_threadsafe` is for worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque

from openscout.errors import QueueFullError


class WaitCounter:
    """Requests waiting across all models, bounded by `limit` (503 beyond it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0


class FairQueue:
    def __init__(self, name: str, slots: int, max_waiting: int, total: WaitCounter) -> None:
        self.name = name
        self.slots = max(1, slots)
        self.max_waiting = max_waiting
        self.total = total
        self.active = 0
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def n_waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    async def acquire(self, client: str) -> None:
        """Wait for a slot. Raises QueueFullError at once when the queue is full."""
        self._loop = asyncio.get_running_loop()
        if self.active < self.slots and not self._waiting:
            self.active += 1
            return
        if self.n_waiting >= self.max_waiting:
            raise QueueFullError(
                429, f"too many requests are waiting for {self.name}; retry shortly"
            )
        if self.total.waiting >= self.total.limit:
            raise QueueFullError(503, "the server is busy; retry shortly")
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiting.setdefault(client, deque()).append(fut)
        self.total.waiting += 1
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was granted just as the waiter went away
            else:
                self._forget(client, fut)
            raise

    def _forget(self, client: str, fut: asyncio.Future[None]) -> None:
        q = self._waiting.get(client)
        if q is not None and fut in q:
            q.remove(fut)
            self.total.waiting -= 1
            if not q:
                del self._waiting[client]

    def release(self) -> None:
        """Free a slot and hand it to the next client in round-robin order."""
        self.active -= 1
        while self._waiting and self.active < self.slots:
            client, q = next(iter(self._waiting.items()))
            fut = q.popleft()
            self.total.waiting -= 1
            del self._waiting[client]
            if q:  # this client has more waiting: to the back of the line
                self._waiting[client] = q
            if not fut.done():
                self.active += 1
                fut.set_result(None)

    def release_threadsafe(self) -> None:
        if self._loop is None:
            self.release()
            return
        # a closed loop means the server is gone and nobody is waiting
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.release)
