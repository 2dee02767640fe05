"""Request bodies that never finish: each held up to 1 MiB for ever, with no bound on how many
(30th probe, medium; 500 connections added 528 MB to serve). Now a body must arrive within
`body_timeout_s` (408, connection closed) and at most `max_bodies_reading` are read at once
(503 with Retry-After). Tested on a real uvicorn server with raw sockets."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from openscout.server.app import create_app
from openscout.server.limits import Limits
from tests.server.conftest import mock_engines
from tests.server.live import live_server

BODY = json.dumps({"model": "mock-a", "messages": [{"role": "user", "content": "hi"}]})


def _request(declared: int, body: bytes, close: bool = True) -> bytes:
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + ("Connection: close\r\n" if close else "")
        + f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    return head.encode() + body


@contextlib.contextmanager
def _slow_senders(url: str, n: int) -> Iterator[list[socket.socket]]:
    """n connections that declare 100,000 bytes of body, send 10 and then nothing."""
    parts = urlsplit(url)
    socks = [socket.create_connection((parts.hostname, parts.port), timeout=20) for _ in range(n)]
    try:
        for s in socks:
            s.sendall(_request(100_000, b"x" * 10))
        yield socks
    finally:
        for s in socks:
            s.close()


def _answer(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    got = b""
    while chunk := s.recv(65536):
        got += chunk
    return got


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def test_slow_bodies_are_bounded_in_time_and_in_number(settings) -> None:  # type: ignore[no-untyped-def]
    limits = Limits(body_timeout_s=3.0, max_bodies_reading=3)
    app = create_app(settings, engines=mock_engines(), limits=limits)
    with live_server(app) as url, _slow_senders(url, 3) as held:
        parts = urlsplit(url)
        started = time.monotonic()
        busy = b""
        while time.monotonic() - started < 2.5:  # until the server reads all three bodies
            with socket.create_connection((parts.hostname, parts.port), timeout=20) as s:
                s.sendall(_request(len(BODY), BODY.encode()))
                busy = _answer(s)
            if _status(busy) == 503:
                break
            time.sleep(0.05)
        assert _status(busy) == 503, busy[:300]
        assert b"retry-after: 2" in busy.lower() and b"queue_full" in busy
        with socket.create_connection((parts.hostname, parts.port), timeout=2) as s:
            s.sendall(_request(100_000, b"x" * 10, close=False))
            again = _answer(s)  # a timeout here: the connection was kept open for its body
        assert _status(again) == 503 and b"connection: close" in again.lower(), again[:300]
        for s in held:  # each gets 408 within its deadline, and its connection is closed
            raw = _answer(s)
            assert _status(raw) == 408 and b"body_timeout" in raw, raw[:300]
        with socket.create_connection((parts.hostname, parts.port), timeout=20) as s:
            s.sendall(_request(len(BODY), BODY.encode()))
            freed = _answer(s)
        assert _status(freed) == 200, freed[:300]  # the slots were given back
