"""Forwarded requests (a remote model's token ids, logprobs, tokenizer routes) stay within
bounds whatever the upstream does (independent probe: six trickling forwards froze every model
of the server; a deeply nested answer gave 500; a 60 MiB one stalled the event loop)."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from openscout.engines.openai_http import FORWARD_MAX_BODY, OpenAIEngine
from openscout.engines.spec import ModelSpec
from openscout.models import add_model
from openscout.server.app import create_app
from tests.server.conftest import BASE
from tests.server.live import live_server


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Answers 200 and then one byte of its body every 0.3 s."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(100000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.3)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trickling_upstream() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def test_stalled_forwards_never_hold_the_other_models(settings, trickling_upstream: str) -> None:  # type: ignore[no-untyped-def]
    remote = OpenAIEngine(
        "remote", trickling_upstream, loglikelihood=False, max_parallel=64, timeout_s=20
    )
    # the other model is registered, not injected: serving it asks the pool for its engine,
    # which takes a worker thread
    add_model(settings, ModelSpec(id="other", engine="mock"))
    app = create_app(settings, engines={"remote": remote})
    with live_server(app) as url:

        def hang_up() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(
                    url + "/v1/completions",
                    json={"model": "remote", "prompt": [1, 2, 3], "max_tokens": 1},
                    timeout=1.0,
                )

        callers = [threading.Thread(target=hang_up) for _ in range(40)]
        for t in callers:
            t.start()
        for t in callers:
            t.join()
        # 40 forwards stuck on a trickle: asyncio's shared threads (at most 32) would be gone
        other = httpx.post(
            url + "/v1/chat/completions",
            json={"model": "other", "messages": [{"role": "user", "content": "hi"}]},
            timeout=15,
        )
        assert other.status_code == 200, other.text


def test_a_trickled_answer_ends_at_the_engine_timeout(settings, trickling_upstream: str) -> None:  # type: ignore[no-untyped-def]
    remote = OpenAIEngine("remote", trickling_upstream, loglikelihood=False, timeout_s=2)
    with TestClient(create_app(settings, engines={"remote": remote}), base_url=BASE) as c:
        r = c.post("/tokenize", json={"model": "remote", "prompt": "hi"})
    assert r.status_code == 502 and "in time" in r.json()["error"]["message"], r.text


def _answering(body: bytes) -> OpenAIEngine:
    return OpenAIEngine(
        "remote",
        "http://upstream.example/v1",
        loglikelihood=False,
        transport=httpx.MockTransport(
            lambda request: httpx.Response(200, content=body, headers={"content-type": "x"})
        ),
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"choices": ' + b"[" * 400 + b"]" * 400 + b"}",  # deeper than any API shape
        b'{"choices": [{"text": "x", "logprobs": NaN}]}',  # a number JSON cannot carry
        b'{"choices": ["' + b"x" * (FORWARD_MAX_BODY + 10) + b'"]}',  # over the forward bound
        b'{"choices": [' + b"{}," * 5_590_000 + b"{}]}",  # 16 MiB of objects (seventh probe)
        b'{"choices": [' + b'{"text": "x"},' * 40_000 + b'{"text": "x"}]}',  # more than asked
    ],
    ids=["deep", "nan", "big", "many objects", "many choices"],
)
def test_a_malformed_forwarded_answer_is_a_502(settings, body: bytes) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, engines={"remote": _answering(body)})
    with TestClient(app, base_url=BASE) as c:
        for path, ask in [
            ("/v1/completions", {"prompt": [1, 2], "max_tokens": 1}),
            ("/tokenize", {"prompt": "hi"}),
        ]:
            r = c.post(path, json={"model": "remote", **ask})
            assert r.status_code == 502, r.text
