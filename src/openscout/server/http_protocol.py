"""uvicorn's HTTP/1.1 protocol with an end for what a client may leave undone.

- A request's head (request line and headers): uvicorn waits for ever for one that never
  ends, on a new connection and on a kept-alive one alike (its keep-alive timer stops at the
  first byte). Each such connection holds a file descriptor, and once the process has none
  left it accepts nothing: any client that can connect, without a key, could stop the server.
  Here a head must be whole within HEAD_TIMEOUT_S of the connection or of the previous answer.
- A body nobody reads (the answer came first: 401 without the key, a GET that carries one):
  the connection ends with the answer.
- Reading the answer: a client that stops reading keeps what is not yet sent in memory (31st
  probe: 4 MB per client for an 8 MB chat). Once the send buffer is full, the client must take
  some of it within STALL_TIMEOUT_S, else the connection is dropped with what it holds.

The body's own deadline is the security middleware's (`Limits.body_timeout_s`), and how many
large answers are sent at once its answer budget's (`answer_budget.py`).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT_S = 15.0
STALL_TIMEOUT_S = 30.0


class DeadlineProtocol(H11Protocol):
    head_timeout_s = HEAD_TIMEOUT_S
    stall_timeout_s = STALL_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(self.stall_timeout_s, self._stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stall_timer = _cancelled(self._stall_timer)

    def _stalled(self) -> None:
        self._stall_timer = None
        self.transport.abort()  # not close(): that would wait to send what is buffered

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # no whole head yet (or the next one)
            if self._head_timer is None:
                self._arm()
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.SEND_BODY:
            # answered without its body read (401 before the key check, a GET that carries
            # one): a client trickling the rest kept the connection for ever, without a key
            # (32nd probe), so the connection ends with the answer
            self.transport.close()
        elif self.conn.their_state is h11.IDLE:
            self._arm()  # the next head has the same time, however it trickles in

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._stall_timer = _cancelled(self._stall_timer)
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_late)

    def _disarm(self) -> None:
        self._head_timer = _cancelled(self._head_timer)

    def _head_late(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def _cancelled(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


def raise_open_file_limit() -> int:
    """The soft limit on open files raised to the hard one (often 1,024 against 524,288), so
    that connections, each a file, run out much later; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            return wanted
        except (ValueError, OSError):  # a limit the kernel will not take: keep what we have
            pass
    return soft
