"""The cases of issue 17's attack on `openscout serve`, each kept from coming back."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from openscout.config import Settings
from openscout.engines.mock import MockEngine
from openscout.engines.openai_http import OpenAIEngine
from openscout.errors import EngineError
from openscout.loopback import is_loopback
from tests.server.conftest import BASE

from .conftest import mock_engines

JSON = {"content-type": "application/json"}
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


class Boom(MockEngine):
    def stream_completion(self, prompt: str, params: Any) -> Iterator[Any]:
        raise RuntimeError("/home/someone/secret/path exploded")


class OutOfMemory(MockEngine):
    def stream_completion(self, prompt: str, params: Any) -> Iterator[Any]:
        raise MemoryError


class TorchOutOfMemory(MockEngine):  # torch's allocator says it with a RuntimeError
    def stream_completion(self, prompt: str, params: Any) -> Iterator[Any]:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9")


@pytest.fixture
def boom_client(make_client: Callable[..., TestClient]) -> TestClient:
    engines = {
        **mock_engines(),
        "boom": Boom("boom", script={}),
        "oom": OutOfMemory("oom", script={}),
        "oom-torch": TorchOutOfMemory("oom-torch", script={}),
    }
    app = make_client(engines=engines).app
    return TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


def test_a_500_carries_the_security_headers_and_no_path(boom_client: TestClient) -> None:
    r = boom_client.post("/v1/completions", json={"model": "boom", "prompt": "x"})
    assert r.status_code == 500 and r.json()["error"]["message"] == "internal error"
    assert "secret" not in r.text
    for h in SECURITY_HEADERS:
        assert h in r.headers, h


@pytest.mark.parametrize("model", ["oom", "oom-torch"])
def test_running_out_of_memory_is_a_503_to_ask_again(boom_client: TestClient, model: str) -> None:
    """An upstream answer that decoded to 4x its bytes ran the server out of memory: a 500
    "internal error", as if a bug (sixteenth probe)."""
    r = boom_client.post("/v1/completions", json={"model": model, "prompt": "x"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "out_of_memory"
    assert r.headers["retry-after"] == "5"
    for h in SECURITY_HEADERS:
        assert h in r.headers, h


def test_health_names_no_path(make_client: Callable[..., TestClient], settings: Settings) -> None:
    settings.ensure()
    settings.models_file.write_text(
        "version: 1\nmodels:\n  - {id: lost, engine: llamacpp, path: /private/where/model.gguf}\n"
    )
    c = make_client()
    r = c.post("/v1/completions", json={"model": "lost", "prompt": "x"})
    assert r.status_code >= 400 and "/private" not in r.text
    health = c.get("/health").json()
    entry = next(m for m in health["models"] if m["id"] == "lost")
    assert entry["state"] == "error" and "/private" not in str(health)


def test_an_entry_its_kind_cannot_build_is_unavailable_not_a_500(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    """A hand-written `base_url` with port 'abc' was a 500 internal error (eleventh probe)."""
    settings.ensure()
    settings.models_file.write_text(
        "version: 1\nmodels:\n  - {id: odd, engine: openai, base_url: 'http://127.0.0.1:abc/v1'}\n"
    )
    r = make_client().post(
        "/v1/chat/completions",
        json={"model": "odd", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_unavailable", r.text


@pytest.mark.parametrize(
    "body",
    [
        {"max_tokens": "10"},
        {"max_tokens": True},
        {"max_tokens": 1.5},
        {"stream": "yes"},
        {"n": "1"},
        {"seed": 1.5},
    ],
)
def test_no_coercion(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/completions", json={"model": "mock-a", "prompt": "hello", **body})
    assert r.status_code == 400, r.text


def test_integral_numbers_are_integers(client: TestClient) -> None:
    # JSON Schema reads 2.0 as the integer 2, and so does the OpenAPI document
    r = client.post(
        "/v1/completions", json={"model": "mock-a", "prompt": "hello", "max_tokens": 2.0}
    )
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] <= 2


@pytest.mark.parametrize(
    "body",
    [
        {"model": "mock-a"},  # no prompt (an assertion inside llama.cpp, once)
        {"model": "mock-a", "prompt": ""},
        {"model": "mock-a", "prompt": []},
        {"model": "mock-a", "prompt": "a\ud800b"},
    ],
)
def test_bad_prompts_are_400(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/completions", content=json.dumps(body), headers=JSON)
    assert r.status_code == 400, r.text


def test_lone_surrogate_in_a_message_is_400(client: TestClient) -> None:
    msg = {"role": "user", "content": "hi \ud800"}
    body = json.dumps({"model": "mock-a", "messages": [msg]})  # "\\ud800": valid JSON
    r = client.post("/v1/chat/completions", content=body, headers=JSON)
    assert r.status_code == 400 and "surrogate" in r.text


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("//evil.example/", "/evil.example/"),
        ("/\\evil.example/", "/evil.example/"),
        ("/chats/\u00e9\u4e2d", "/chats/%C3%A9%E4%B8%AD"),
    ],
)
def test_key_login_stays_on_site(
    make_client: Callable[..., TestClient], path: str, location: str
) -> None:
    c = make_client(api_key="k3y")
    r = c.get(f"http://127.0.0.1:8765{path}?key=k3y", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == location


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.1.evil.com", False),
        ("127.evil.com", False),
        ("0.0.0.0", False),
    ],
)
def test_loopback_means_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _upstream(handler: Callable[[httpx.Request], httpx.Response]) -> OpenAIEngine:
    return OpenAIEngine(
        "u",
        "http://user:hunter2@upstream.example/v1?token=t0ps3cret",
        loglikelihood=False,
        transport=httpx.MockTransport(handler),
    )


def test_upstream_credentials_never_in_errors() -> None:
    engine = _upstream(lambda req: httpx.Response(500, text="nope"))
    with pytest.raises(EngineError) as e:
        list(engine.stream_completion("hi", _params()))
    assert "hunter2" not in str(e.value) and "t0ps3cret" not in str(e.value)
    assert "upstream.example" in str(e.value)


@pytest.mark.parametrize("cut", [0, 3], ids=["whole", "in part"])
def test_upstream_echoing_the_basic_credentials_it_got_never_shows_them(cut: int) -> None:
    """httpx sends a URL's `user:password@` as `Authorization: Basic base64(...)`; an upstream
    that echoed that header handed the password, encoded, to API clients (31st probe)."""
    sent: list[str] = []

    def echo(req: httpx.Request) -> httpx.Response:
        sent.append(req.headers["authorization"])
        return httpx.Response(500, json={"error": {"message": f"boom {sent[-1][6 + cut :]}"}})

    engine = _upstream(echo)
    with pytest.raises(EngineError) as e:
        list(engine.stream_completion("hi", _params()))
    token = sent[0].removeprefix("Basic ")
    assert base64.b64decode(token) == b"user:hunter2"  # what the echo would give away
    assert token[cut : cut + 8] not in str(e.value) and "boom ***" in str(e.value), str(e.value)


def test_a_percent_encoded_password_is_masked_as_sent() -> None:
    """A password with `@` is written `p%40ssw0rdX` in the URL and sent as `p@ssw0rdX`; an
    upstream echoing the pair it got handed the sent form to API clients, the log and the
    report: only the written form was masked (54th probe, high)."""

    def echo(req: httpx.Request) -> httpx.Response:
        pair = base64.b64decode(req.headers["authorization"].removeprefix("Basic ")).decode()
        return httpx.Response(500, json={"error": {"message": f"boom decoded={pair}"}})

    engine = OpenAIEngine(
        "u",
        "http://us%40er:p%40ssw0rdX@upstream.example/v1",
        loglikelihood=False,
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(EngineError) as e:
        list(engine.stream_completion("hi", _params()))
    said = str(e.value)
    assert "boom decoded=" in said and "ssw0rdX" not in said and "us@er" not in said, said
    from openscout.engines.key_mask import UpstreamSecrets

    secrets = UpstreamSecrets("http://bob:s3cr%23tPass77@upstream.example/v1", None)
    assert secrets.data("your password is s3cr#tPass77") == "your password is ***"
    queried = UpstreamSecrets("http://h.example/v1?token=s3cr%40tValue9", None)
    for echo in ("bad token s3cr%40tValue9", "bad token s3cr@tValue9"):
        assert queried.text(echo) == queried.data(echo) == "bad token ***"
    # written with characters a client encodes: echoed in that third form (55th probe)
    for written, sent in (("pässwort99", "p%C3%A4sswort99"), ("s3cr tValue9", "s3cr+tValue9")):
        echoed = UpstreamSecrets(f"http://h.example/v1?token={written}", None)
        assert echoed.text(f"bad token {sent}") == "bad token ***"
    # echoed upper-cased or in part, as the key is masked (57th probe, low)
    both = UpstreamSecrets("http://al:S3cretPassw0rd@h.example/v1?token=QUERYTOKEN123", None)
    for echo in ("S3CRETPASSW0RD", "S3cretPa", "querytoken123", "QUERYTOK"):
        assert both.data(f"bad {echo}!") == "bad ***!", echo


def test_upstream_redirect_is_an_error() -> None:
    engine = _upstream(lambda req: httpx.Response(302, headers={"location": "http://x/"}))
    with pytest.raises(EngineError, match="302"):
        list(engine.stream_completion("hi", _params()))


def test_upstream_endless_line_is_cut() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            yield b"data: "
            for _ in range(10_000):
                yield b"x" * 4096  # 40 MB without a newline

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    engine = _upstream(handler)
    with pytest.raises(EngineError, match="line over"):
        list(engine.stream_completion("hi", _params()))


def _params() -> Any:
    from openscout.engines.base import SamplingParams

    return SamplingParams(max_tokens=4)


def test_upstream_model_list_is_read_within_bounds() -> None:
    sent = [0]

    def handler(req: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            yield b'{"data": [' + b'{"id": "m"}, ' * 10
            while sent[0] < 200 * 2**20:  # an endless list; the reader must stop first
                sent[0] += 2**20
                yield b" " * 2**20

        return httpx.Response(200, headers={"content-type": "application/json"}, content=body())

    with pytest.raises(EngineError, match="body over"):
        _upstream(handler).list_remote_models()
    assert sent[0] <= 70 * 2**20


def test_upstream_model_list_of_the_wrong_shape_is_an_error() -> None:
    engine = _upstream(lambda req: httpx.Response(200, json=["not", "an", "object"]))
    with pytest.raises(EngineError):
        engine.list_remote_models()
    ok = _upstream(lambda req: httpx.Response(200, json={"data": [{"id": "a"}, {"x": 1}, "b"]}))
    assert ok.list_remote_models() == ["a"]


def test_upstream_long_line_in_one_piece_is_cut() -> None:
    from openscout.engines.http_bounds import MAX_LINE

    def handler(req: httpx.Request) -> httpx.Response:
        line = b"data: " + b"x" * (MAX_LINE + 1) + b"\n\n"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=[line])

    with pytest.raises(EngineError, match="line over"):
        list(_upstream(handler).stream_completion("hi", _params()))


def test_hub_model_card_is_read_only_as_far_as_kept() -> None:
    """A README of any size: openscout reads its first CARD_BYTES and stops."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    from openscout.catalog.hub import CARD_BYTES, CARD_CHARS, _card_text

    sent = [0]

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server API names it so
            self.send_response(200)
            self.send_header("Content-Type", "text/markdown")
            self.end_headers()
            try:
                while sent[0] < 500 * 2**20:
                    self.wfile.write(b"y" * 2**16)
                    sent[0] += 2**16
            except OSError:  # the reader went away: what we want
                pass

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        api = SimpleNamespace(endpoint=f"http://127.0.0.1:{srv.server_address[1]}")
        text = _card_text(api, "org/huge")
    finally:
        srv.shutdown()
        srv.server_close()
    assert text == "y" * CARD_CHARS
    assert sent[0] < 64 * 2**20 and CARD_BYTES < 2**20


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999", "Infinity"])
def test_catalog_page_with_a_non_finite_number_is_served(client: TestClient, value: str) -> None:
    """`/catalog?context=inf` answered 500: int(float('inf')) overflows. Non-finite numbers
    are no filter, as NaN and negatives already were."""
    for name in ("context", "min_params_b", "max_params_b"):
        r = client.get(f"/catalog?{name}={value}")
        assert r.status_code == 200, (name, value, r.status_code)


def test_a_cross_site_subresource_cannot_reach_the_server(client: TestClient) -> None:
    """An <img src="http://127.0.0.1:8765/tokenizer_info?model=..."> on another site sends no
    Origin; it made a keyless server load the model (second probe). Navigations stay allowed."""
    img = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image"}
    assert client.get("/v1/models", headers=img).status_code == 403
    assert client.get("/health", headers=img).status_code == 403
    link = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    assert client.get("/", headers=link).status_code == 200
    own = {"sec-fetch-site": "same-origin", "sec-fetch-mode": "cors"}
    assert client.get("/v1/models", headers=own).status_code == 200


def test_a_cross_site_iframe_or_link_cannot_reach_the_api(client: TestClient) -> None:
    """An <iframe src=".../tokenizer_info?model=..."> is a navigation the user never chose: it
    made a keyless server load a model (third probe). A link opens pages, not the API."""
    frame = {
        "sec-fetch-site": "cross-site",
        "sec-fetch-mode": "navigate",
        "sec-fetch-dest": "iframe",
    }
    assert client.get("/tokenizer_info", headers=frame).status_code == 403
    assert client.get("/", headers=frame).status_code == 403
    link = {
        "sec-fetch-site": "cross-site",
        "sec-fetch-mode": "navigate",
        "sec-fetch-dest": "document",
    }
    assert client.get("/", headers=link).status_code == 200
    for path in ("/tokenizer_info", "/v1/models", "/ui/api/arena/ratings"):
        assert client.get(path, headers=link).status_code == 403, path


def test_a_header_the_checks_read_is_taken_once_and_read_strictly(client: TestClient) -> None:
    """With two Origins the last won (evil.com's, then ours: 200 with our CORS grant); a
    Sec-Fetch-Site of `CROSS-SITE` or `cross-site, same-origin` passed as not cross-site
    (twentieth probe). Browsers send neither, but the checks must not depend on that."""
    ours = BASE
    two_origins = [("origin", "http://evil.com"), ("origin", ours)]
    r = client.get("/v1/models", headers=two_origins)
    assert r.status_code == 400 and r.json()["error"]["code"] == "duplicate_header"
    assert "access-control-allow-origin" not in r.headers
    two_sites = [("sec-fetch-site", "same-origin"), ("sec-fetch-site", "cross-site")]
    assert client.get("/v1/models", headers=two_sites).status_code == 400
    for odd in ("CROSS-SITE", "cross-site, same-origin", "x"):
        assert client.get("/v1/models", headers={"sec-fetch-site": odd}).status_code == 403, odd
    for fine in ("same-origin", "same-site", "none"):
        assert client.get("/v1/models", headers={"sec-fetch-site": fine}).status_code == 200
    assert client.get("/v1/models", headers={"origin": ours}).status_code == 200


@pytest.mark.parametrize("gpus", ["²", "①", "٣", "9" * 4301])  # the last: int() refuses it
def test_non_ascii_digits_are_no_gpu_count(client: TestClient, gpus: str) -> None:
    """str.isdigit() accepts '²', int() does not: the model page answered 500 (third probe)."""
    r = client.get(f"/catalog?gpus={gpus}")
    assert r.status_code == 200, r.text


REFUSING = (
    "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{% endfor %}<|im_start|>assistant\n"
)


def test_a_template_refusing_the_messages_is_a_400_and_the_model_stays_ready(
    make_client: Callable[..., TestClient], smollm2_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real templates refuse some messages (Gemma 2: no system role; Mistral and Llama 2: roles
    must alternate). That answered 500 "the model could not be loaded", on the user's input."""
    from openscout.engines import chat_template, llamacpp_tokens

    real = chat_template.render_chat
    monkeypatch.setattr(
        llamacpp_tokens, "render_chat", lambda t, m, b="", e="": real(REFUSING, m, b, e)
    )
    c = make_client(engines={"smol": smollm2_engine})
    system = {"role": "system", "content": "be brief"}
    user = {"role": "user", "content": "hi"}
    for stream in (False, True):
        body = {"model": "smol", "max_tokens": 2, "stream": stream, "messages": [system, user]}
        r = c.post("/v1/chat/completions", json=body)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "chat_template_error" and error["param"] == "messages"
        assert "System role not supported" in error["message"]
        assert r.headers["x-content-type-options"] == "nosniff"
    ok = c.post("/v1/chat/completions", json={"model": "smol", "max_tokens": 2, "messages": [user]})
    assert ok.status_code == 200, ok.text
    health = {m["id"]: m for m in c.get("/health").json()["models"]}
    assert health["smol"]["state"] == "ready" and health["smol"]["error"] is None


def test_a_models_yaml_damaged_while_serving_is_named_not_a_500(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    """A syntax error in models.yaml made every route, /health too, answer 500 "the model
    could not be loaded" (seventh probe, low)."""
    c = make_client(engines=None)
    assert c.get("/health").status_code == 200
    settings.ensure()
    settings.models_file.write_text("version: 1\nmodels:\n  - id: [unclosed\n")
    health = c.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "error" and health.json()["error"].startswith("models.yaml")
    assert str(settings.home) not in health.text  # no path to an unauthenticated client
    r = c.get("/v1/models")
    assert r.status_code == 503 and r.json()["error"]["code"] == "registry_unreadable", r.text
    assert "models.yaml" in r.json()["error"]["message"] and str(settings.home) not in r.text
