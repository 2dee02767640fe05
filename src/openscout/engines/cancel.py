"""Stopping an engine call whose caller has gone away.

The server runs some engine calls whole in a worker thread (token-id completions, logprobs,
tokenizer routes). `asyncio.to_thread` copies the caller's context into that thread, so the
server sets an Event here before the call and sets the Event when its client hangs up; the
engine's token loop reads it between tokens and stops with ClientGoneError instead of spending
up to max_tokens decodes on an answer nobody will read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from openscout.errors import ClientGoneError

_STOP: ContextVar[threading.Event | None] = ContextVar("openscout_stop", default=None)


@contextmanager
def stoppable(stop: threading.Event) -> Iterator[None]:
    """Engine calls made inside (and in threads started by asyncio.to_thread) obey `stop`."""
    token = _STOP.set(stop)
    try:
        yield
    finally:
        _STOP.reset(token)


def current_stop() -> threading.Event | None:
    """The Event of the engine call being made here, for a thread that serves it elsewhere."""
    return _STOP.get()


def check_stop() -> None:
    """Raise ClientGoneError when the caller of this engine call has gone away."""
    stop = _STOP.get()
    if stop is not None and stop.is_set():
        raise ClientGoneError("the request was cancelled: its client went away")
