"""How many bytes of large answers the server sends at once.

A saved chat or its export may be 8 MB. A client that asks for it and does not read kept what
was not yet sent in the server's memory, and 250 of them took 1 GB (31st probe). So an answer
of LARGE bytes or more is sent only while the large answers being sent add up to at most the
budget (`Limits.max_answer_bytes`); beyond it the client gets 503 with Retry-After. It is sent
in SLICE pieces, each waiting until the client has taken the last, so what is held for it is
bounded by the protocol's buffer, and one that stops reading is dropped after the protocol's
stall deadline (`http_protocol.py`), which gives its bytes back to the budget.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from openscout.server.errors import error_body

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

LARGE = 256 * 2**10
SLICE = 64 * 2**10


class AnswerBudget:
    def __init__(self, limit: int, retry_after_s: int) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.sending = 0  # one event loop: no lock needed

    @asynccontextmanager
    async def bounded(self, send: Send) -> AsyncIterator[Send]:
        """`send` for one request, its large answer counted while the request runs."""
        held = 0
        refused = False

        async def bounded_send(message: Message) -> None:
            nonlocal held, refused
            if refused:
                return  # the 503 went instead: the app's own answer is dropped
            if message["type"] == "http.response.start":
                size = _content_length(message)
                if size >= LARGE:
                    if self.sending and self.sending + size > self.limit:
                        refused = True
                        await self._busy(send)
                        return
                    held = size
                    self.sending += size
            elif message["type"] == "http.response.body" and held:
                await _in_slices(send, message)
                return
            await send(message)

        try:
            yield bounded_send
        finally:
            self.sending -= held

    async def _busy(self, send: Send) -> None:
        body = json.dumps(
            error_body(503, "the server is busy sending large answers; retry shortly", "queue_full")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(message: Message) -> int:
    for key, value in message.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0  # a stream: its pieces are bounded where they are made


async def _in_slices(send: Send, message: Message) -> None:
    """The body in SLICE pieces: the server's send waits for the client before each one."""
    body = bytes(message.get("body", b""))
    more = bool(message.get("more_body", False))
    for start in range(0, max(len(body), 1), SLICE):
        last = start + SLICE >= len(body)
        piece = {"type": "http.response.body", "body": body[start : start + SLICE]}
        await send({**piece, "more_body": more or not last})
