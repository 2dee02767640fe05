"""How long a write waits for a lock another connection holds, and how many wait at once.

A command waits up to 30 s (another openscout command finishes its write meanwhile). The
server cannot: each waiting request holds one of the worker threads every database route and
page shares, and 40 requests waiting out a backup's or the sqlite3 shell's 30 s lock held all
of them, so `/catalog` took 29 s (41st probe). Its requests (`for_requests`) wait a moment
for the server's own short writes, then at most `waiters` of them wait on for the rest of
`seconds`; the others give up at once with SQLite's "database is locked" (a 503 with
Retry-After).
"""

from __future__ import annotations

import contextvars
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openscout.errors import is_database_busy

COMMAND_WAIT_S = 30.0
# our own writes are one short commit each: a quarter second outlasts a queue of them
MOMENT_S = 0.25


@dataclass(frozen=True)
class LockWait:
    seconds: float
    waiters: int
    _slots: threading.BoundedSemaphore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_slots", threading.BoundedSemaphore(self.waiters))

    def wait_out(self, run: Callable[[], Any], busy: sqlite3.OperationalError) -> Any:
        """`run` again until the lock is free or `seconds` pass; `busy` at once when enough
        others wait already."""
        if not self._slots.acquire(blocking=False):
            raise busy
        try:
            deadline = time.monotonic() + self.seconds
            while True:
                try:
                    return run()  # each try waits MOMENT_S inside SQLite
                except sqlite3.OperationalError as e:
                    if not is_database_busy(e) or time.monotonic() >= deadline:
                        raise
        finally:
            self._slots.release()


_current: contextvars.ContextVar[LockWait | None] = contextvars.ContextVar(
    "openscout_lock_wait", default=None
)


# a write nothing depends on (the generation log): one try of SQLite's moment, then give up.
# Written from the model's own thread, which holds the model's slot while it waits: a lock
# held by another program made every answer 30 s late (42nd probe)
BEST_EFFORT = LockWait(0.0, 1024)


def for_requests(wait: LockWait) -> contextvars.Token[LockWait | None]:
    """Connections opened in this context (a request, and the worker threads it runs code
    in: they copy its context) wait as `wait` says."""
    return _current.set(wait)


def done(token: contextvars.Token[LockWait | None]) -> None:
    _current.reset(token)


def current() -> LockWait | None:
    return _current.get()


class WaitingConnection(sqlite3.Connection):
    """A connection whose statements, refused for a lock outside any transaction of its own
    (so nothing of it is lost by trying again), wait as its `LockWait` says."""

    lock_wait: LockWait | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as e:
            wait = self.lock_wait
            if wait is None or self.in_transaction or not is_database_busy(e):
                raise
            return wait.wait_out(lambda: sqlite3.Connection.execute(self, sql, parameters), e)


def timeout_s(wait: LockWait | None) -> float:
    """SQLite's own busy timeout for a connection waiting as `wait` says."""
    return COMMAND_WAIT_S if wait is None else MOMENT_S
