"""The OpenAI-compatible engine against a real third-party server (llama-cpp-python's) on
127.0.0.1, plus error handling against real local HTTP servers that misbehave."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from openscout.config import Settings
from openscout.engines.base import SamplingParams, collect
from openscout.engines.openai_http import OpenAIEngine, error_message
from openscout.errors import EngineResponseError, EngineUnavailableError
from tests.conftest import free_port
from tests.engines.contract import check_engine_contract


@pytest.fixture(scope="module")
def llama_server(smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    # a file, not a pipe: llama.cpp's load log would fill a pipe nobody reads and block it
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_path),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"llama_cpp.server exited: {log.read()[-2000:]}")
        try:
            if httpx.get(base + "/models", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 60 s")
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.mark.real_model
def test_streaming_against_real_server(llama_server: str) -> None:
    engine = OpenAIEngine("smollm2", llama_server, model="smollm2")
    check_engine_contract(engine)
    check_engine_contract(engine, chat=False)
    assert engine.list_remote_models() == ["smollm2"]


@pytest.mark.real_model
def test_non_streaming_matches_streaming(llama_server: str) -> None:
    p = SamplingParams(max_tokens=12)
    msgs = [{"role": "user", "content": "What is 2+2?"}]
    streamed = collect(OpenAIEngine("s", llama_server, model="smollm2").stream_chat(msgs, p))
    whole = collect(
        OpenAIEngine("s", llama_server, model="smollm2", stream=False).stream_chat(msgs, p)
    )
    assert streamed[0] == whole[0] and whole[0]
    assert whole[1].completion_tokens == streamed[1].completion_tokens


@pytest.mark.real_model
def test_same_greedy_text_as_local_engine(llama_server: str, smollm2_engine) -> None:
    """Same weights, greedy: the answers start alike. (They may drift later: that server
    applies its own default repeat penalty of 1.1, which the OpenAI API cannot turn off.)"""
    p = SamplingParams(max_tokens=16)
    prompt = "The capital of France is"
    remote = collect(OpenAIEngine("s", llama_server, model="smollm2").stream_completion(prompt, p))[
        0
    ]
    local = collect(smollm2_engine.stream_completion(prompt, p))[0]
    assert remote.split()[:1] == local.split()[:1] and remote.strip()


def test_refused_connection_is_clear() -> None:
    engine = OpenAIEngine("x", f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(EngineUnavailableError, match="cannot connect"):
        collect(engine.stream_completion("hi", SamplingParams()))


class _Misbehaving(BaseHTTPRequestHandler):
    body = b""
    status = 500

    def do_POST(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def bad_server() -> Iterator[tuple[str, type[_Misbehaving]]]:
    handler = type("H", (_Misbehaving,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (
            500,
            {"error": {"message": "CUDA out of memory", "type": "server_error"}},
            "CUDA out of memory",
        ),
        (
            400,
            {"object": "error", "message": "max_tokens too large", "code": 400},
            "max_tokens too large",
        ),
        (404, {"error": "model 'x' not found"}, "model 'x' not found"),
    ],
)
def test_error_shapes_are_mapped(bad_server, status: int, body: dict, expected: str) -> None:
    url, handler = bad_server
    handler.status, handler.body = status, json.dumps(body).encode()
    engine = OpenAIEngine("x", url)
    with pytest.raises(EngineResponseError, match=expected) as info:
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert info.value.status == status


def test_error_message_tolerates_plain_text() -> None:
    assert error_message(b"Bad Gateway", 502) == "Bad Gateway"
    assert error_message(b"", 502) == "HTTP 502"


# -- issue 21: the real llama_cpp.server at default settings ------------------------------


@pytest.mark.real_model
def test_remote_eval_loses_nothing_and_matches_one_at_a_time(
    llama_server: str, settings: Settings
) -> None:
    """The server cuts a running stream when another request arrives: at the default
    parallelism every item still gets a whole answer, the same as with --parallel 1. Its
    prompt log-probs are shifted by one token: the probe finds it, and multiple choice is
    scored by the letter the model writes."""
    from openscout.evals import run_eval
    from openscout.models import ModelSpec, add_model

    add_model(
        settings,
        ModelSpec(id="remote-smol", engine="openai", base_url=llama_server, model="smollm2"),
    )
    adaptive = run_eval(settings, "quick", ["remote-smol"], limit=4, use_cache=False)
    serial = run_eval(
        settings, "quick", ["remote-smol"], limit=4, use_cache=False, resume=False, parallel=1
    )
    a, s = adaptive.results["remote-smol"], serial.results["remote-smol"]
    assert a.retries >= 1 and set(a.retry_causes) <= {"no finish event", "stream cut"}, (
        "the server cut no stream: this test proves nothing"
    )
    assert a.concurrency is not None and a.concurrency["cap"] == 8 and a.concurrency["cuts"] >= 1
    for res in (a, s):
        assert res.errors == 0 and res.n == 4
        assert all(r["output"] for r in res.items), "an empty answer without an error"
        assert res.scoring["multiple_choice"] == "generate"
        assert res.scoring["loglikelihood_basis"].startswith("probe: shifted by one token")
    assert [r["output"] for r in a.items] == [r["output"] for r in s.items]
    assert a.score == s.score
    assert s.concurrency is not None and s.concurrency["cap"] == 1 and s.retries == 0


@pytest.mark.real_model
def test_a_server_with_right_logprobs_scores_multiple_choice_like_local(
    settings: Settings,
) -> None:
    """`openscout serve` returns prompt log-probs as OpenAI defines them: the probe trusts
    it, and multiple choice through it is scored by log-likelihood with the local picks."""
    from openscout.evals import run_eval
    from openscout.models import ModelSpec, add_model
    from openscout.server.app import create_app
    from tests.server.live import live_server

    with live_server(create_app(settings)) as url:
        add_model(
            settings,
            ModelSpec(
                id="served", engine="openai", base_url=url + "/v1", model="smollm2-135m-instruct"
            ),
        )
        run = run_eval(settings, "mc", ["served", "smollm2-135m-instruct"], limit=3)
    served, local = run.results["served"], run.results["smollm2-135m-instruct"]
    assert served.scoring["multiple_choice"] == "loglikelihood"
    assert served.scoring["loglikelihood_basis"].startswith("probe: aligned")
    assert run.notes == [] and served.errors == 0
    for r, q in zip(served.items, local.items, strict=True):
        assert r["detail"]["pick"] == q["detail"]["pick"]
        for x, y in zip(r["detail"]["logprobs"], q["detail"]["logprobs"], strict=True):
            assert abs(x - y) < 0.3
