"""A streamed request's engine runs under its cancel event (cancel.check_stop), so an engine
busy before its first token, as llama.cpp is with a long prompt, hears a hang-up at once:
the stop check was read only between generated tokens, and a client gone during a 5,000-token
prefill held the model 117 s (41st probe). The engines' own chunking is tested on SmolLM2 in
tests/engines/test_prefill_stop.py."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx

from openscout.engines.cancel import check_stop
from openscout.engines.mock import MockEngine
from openscout.server.app import create_app
from tests.server.live import live_server


class LongPrefill(MockEngine):
    """Ten seconds of 'prompt' before the first token, read in 50 ms chunks."""

    stopped_after: float | None = None

    def _stream(self, prompt: str, params: Any) -> Iterator[Any]:
        t0 = time.perf_counter()
        try:
            for _ in range(200):
                check_stop()
                time.sleep(0.05)
        except BaseException:
            self.stopped_after = time.perf_counter() - t0
            raise
        yield from super()._stream(prompt, params)


def test_a_hang_up_during_the_prefill_frees_the_model(settings) -> None:  # type: ignore[no-untyped-def]
    engine = LongPrefill("long", default="ok", max_parallel=1)
    app = create_app(settings, engines={"long": engine})
    body = {"model": "long", "messages": [{"role": "user", "content": "go"}], "stream": True}
    with live_server(app) as url:
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(url + "/v1/chat/completions", json=body, timeout=0.5)
        t0 = time.perf_counter()
        while engine.stopped_after is None and time.perf_counter() - t0 < 15:
            time.sleep(0.05)
    assert engine.stopped_after is not None and engine.stopped_after < 3
