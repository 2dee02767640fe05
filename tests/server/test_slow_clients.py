"""Clients that are slow or never finish, each of which held server memory or sockets without
bound, tested on a real uvicorn server with raw sockets:
- bodies that never end (30th probe, medium; 500 connections added 528 MB): a body must arrive
  within `body_timeout_s` (408, connection closed), at most `max_bodies_reading` read at once;
- heads that never end, on new and kept-alive connections (own pass): closed after 15 s;
- clients that do not read large answers (31st probe, high): a shared answer budget, 503 beyond;
- bodies sent with a request that is answered without reading them (32nd probe, high): the
  connection ends with the answer."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from openscout.engines.mock import MockEngine
from openscout.server.app import create_app
from openscout.server.http_protocol import DeadlineProtocol
from openscout.server.limits import Limits
from tests.evals.helpers import add_mock
from tests.reliability.helpers import serve
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


def _one_response(s: socket.socket) -> bytes:
    """One whole response with a Content-Length, on a connection kept open."""
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(65536)
    head, _, body = got.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.lower().split(b"\r\n") if h.startswith(b"content-length"))[15:]
    )
    while len(body) < length:
        body += s.recv(65536)
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


class _QuickHeads(DeadlineProtocol):
    head_timeout_s = 1.0


def test_a_head_that_never_ends_is_closed_on_new_and_kept_alive_connections(settings) -> None:  # type: ignore[no-untyped-def]
    """uvicorn waited for ever for a request head that never ended: each such connection held
    a file descriptor, and without a key any client could open enough to leave the server
    none (our own red-team pass, beside the 30th probe). Heads now have a deadline; answers
    that take longer than it are not cut."""
    engines = {"slow": MockEngine("slow", default="a b c d e f", delay_s=0.4)}
    app = create_app(settings, engines=engines)
    with live_server(app, http=_QuickHeads) as url:
        parts = urlsplit(url)
        address = (parts.hostname, parts.port)
        with socket.create_connection(address, timeout=20) as fresh:
            fresh.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
            assert _answer(fresh) == b""  # closed, without an answer
        with socket.create_connection(address, timeout=20) as kept:
            kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert _status(_one_response(kept)) == 200
            kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the next, unended
            assert _answer(kept) == b""  # uvicorn's keep-alive timer stopped at its first byte
        body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}]}
        with socket.create_connection(address, timeout=20) as slow:
            text = json.dumps(body).encode()
            head = (
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(text)}\r\n\r\n"
            ).encode()
            for part in (head[:20], head[20:]):  # a head in two parts, within the deadline
                slow.sendall(part)
                time.sleep(0.4)
            slow.sendall(text)
            answer = _answer(slow)  # about 2.4 s of answer: longer than the deadline
        assert _status(answer) == 200 and b"a b c d e f" in answer, answer[-300:]


def test_serve_raises_its_open_file_limit(cli_env: dict[str, str], settings) -> None:  # type: ignore[no-untyped-def]
    """With the common soft limit of 1,024 files, 1,100 unended heads left `serve` unable to
    accept /health (timed out); it now runs with the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard limit here is {hard}: nothing to raise")
    add_mock(settings, "mock")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # serve inherits it
    try:
        with serve(cli_env) as (_url, proc):
            limits = Path(f"/proc/{proc.pid}/limits").read_text()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    row = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert int(row.split()[3]) > 1024, row


def test_requests_without_the_key_take_no_body_slot(settings) -> None:  # type: ignore[no-untyped-def]
    """`/health` needs no key, and its POST bodies were read like any other: 64 slow ones,
    without the key, took every body slot, and each keyed POST got 503 (31st probe, high).
    A body is read only for a request that passed the key check; /health answers GET."""
    key = "k" * 16
    limits = Limits(body_timeout_s=30.0, max_bodies_reading=2)
    app = create_app(settings, engines=mock_engines(), limits=limits, api_key=key)
    with live_server(app) as url:
        parts = urlsplit(url)
        address = (parts.hostname, parts.port)
        held = [socket.create_connection(address, timeout=20) for _ in range(4)]
        try:
            for s in held:  # as the probe sent them: a body announced, one byte of it sent
                s.sendall(
                    b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nx"
                )
            answers = [_answer(s) for s in held]  # at once, not after the body deadline
            assert all(_status(a) == 405 for a in answers), answers[0][:300]
            with socket.create_connection(address, timeout=20) as s:
                auth = f"Authorization: Bearer {key}\r\n".encode()
                s.sendall(_request(len(BODY), BODY.encode()).replace(b"\r\n", b"\r\n" + auth, 1))
                assert _status(_answer(s)) == 200
        finally:
            for s in held:
                s.close()


class _QuickStall(DeadlineProtocol):
    stall_timeout_s = 5.0


def _reader_that_waits(address: tuple[str, int], path: str) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # takes little, then nothing
    s.settimeout(20)
    s.connect(address)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    return s


def _taken(s: socket.socket) -> bytes:
    got = b""
    try:
        while chunk := s.recv(2**20):
            got += chunk
    except ConnectionResetError:
        pass  # dropped: what came before is what it got
    return got


def test_clients_that_do_not_read_large_answers_are_bounded(settings) -> None:  # type: ignore[no-untyped-def]
    """Each client that asked for an 8 MB chat and did not read held about 4 MB of the
    server's memory, without bound (31st probe, medium). Large answers now share a budget
    (503 beyond it), and a client that stops reading is dropped, giving its share back."""
    from openscout import chats

    chat = chats.create_chat(settings, "mock-a")
    for _ in range(40):
        chats.add_message(settings, chat.id, "user", "a" * 200_000)
    path = f"/ui/api/chats/{chat.id}"
    limits = Limits(max_answer_bytes=10 * 2**20)  # room for one such answer
    app = create_app(settings, engines=mock_engines(), limits=limits)
    with live_server(app, http=_QuickStall) as url:
        parts = urlsplit(url)
        address = (parts.hostname, parts.port)
        stalled = _reader_that_waits(address, path)
        # its answer has begun, and holds the budget, once its first bytes are here (polling
        # instead let a loaded machine drop it before the next client asked: CI)
        assert stalled.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
        with _reader_that_waits(address, path) as s:
            busy = _taken(s)
        assert _status(busy) == 503 and b"retry-after: 2" in busy.lower(), busy[:300]
        with stalled:
            time.sleep(8)  # past the stall deadline
            partial = _taken(stalled)
        with socket.create_connection(address, timeout=20) as s:
            s.sendall(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
            )
            whole = _taken(s)
        assert _status(whole) == 200 and len(whole) > 8_000_000  # the budget was given back
        assert len(partial) < len(whole)  # the one that did not read was dropped


def _closed_while_trickling(s: socket.socket, seconds: int = 8) -> bool:
    """Send a byte a second (each one stops uvicorn's keep-alive timer); True once the server
    has closed the connection."""
    s.settimeout(1)
    for _ in range(seconds):
        try:
            s.sendall(b"x")
            if s.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset: closed
            return True
    return False


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("POST", "/v1/chat/completions", False),
        ("GET", "/v1/models", True),
        ("GET", "/health", False),
    ],
    ids=["401 before the body", "GET with a body", "public GET with a body"],
)
def test_a_body_nobody_reads_ends_the_connection_with_the_answer(
    settings, method: str, path: str, key: bool
) -> None:  # type: ignore[no-untyped-def]
    """A request answered before its body was read (401 without the key, a GET carrying a
    body) kept its connection for as long as the client trickled the rest: without a key, a
    flood of them left serve unable to answer (32nd probe, high)."""
    secret = "k" * 16
    app = create_app(settings, engines=mock_engines(), api_key=secret)
    with live_server(app, http=DeadlineProtocol) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
            auth = f"Authorization: Bearer {secret}\r\n" if key else ""
            s.sendall(
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                "Content-Length: 1000000\r\n\r\nx".encode()
            )
            answer = s.recv(65536)
            assert _status(answer) in (200, 401), answer[:300]
            assert _closed_while_trickling(s)  # it stayed open as long as bytes came
