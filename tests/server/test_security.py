"""Network exposure (issue 7, point 1): key on every route, Host allow-list, same origin only,
bounded bodies and fields with errors in OpenAI's shape, strict CSP on every page."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from openscout.errors import ConfigError
from openscout.server.limits import Limits
from openscout.server.security import default_allowed_hosts, host_name

KEY = "s3cret-key"
PARAMS = {"model_id": "mock-a", "chat_id": "1", "battle_id": "b1", "side": "a"}


def every_route(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, path) the app serves: the OpenAPI schema lists all routes we declare
    (API, UI API, pages); the schema itself and the static mount are added."""
    out = [("GET", "/openapi.json")]
    for path, ops in app.openapi()["paths"].items():
        concrete = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS[m.group(1)], path)
        out += [(method.upper(), concrete) for method in ops]
    out += [("GET", route.path + "/app.js") for route in app.routes if isinstance(route, Mount)]
    return out


def test_every_route_but_health_needs_the_key(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(api_key=KEY)
    routes = every_route(c.app)
    paths = {p for _, p in routes}
    # the list really covers the API, the UI API, the pages and the static files
    assert {
        "/v1/models",
        "/v1/chat/completions",
        "/v1/completions",
        "/chat",
        "/arena",
        "/leaderboard",
        "/ui/api/chats",
        "/static/app.js",
        "/openapi.json",
    } <= paths
    checked = 0
    for method, path in [*routes, ("GET", "/no-such-page"), ("POST", "/v1/embeddings")]:
        r = c.request(method, path, json={} if method in ("POST", "PUT", "DELETE") else None)
        if path == "/health":
            assert r.status_code == 200
            continue
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    assert checked >= 20


def test_health_answers_the_methods_it_says_it_allows(make_client) -> None:  # type: ignore[no-untyped-def]
    """A PUT was told `allow: GET, HEAD, OPTIONS`, and a HEAD then got 405 (33rd probe)."""
    c = make_client(api_key=KEY)
    put = c.put("/health")
    assert put.status_code == 405
    for method in put.headers["allow"].split(", "):
        r = c.request(method, "/health")
        assert r.status_code in (200, 204), (method, r.status_code, r.headers.get("allow"))
        assert r.headers["x-content-type-options"] == "nosniff"
    assert c.head("/health").content == b""


def _login_cookie(c: TestClient) -> str:
    r = c.get(f"/chat?key={KEY}", follow_redirects=False)
    assert r.status_code == 303
    return str(r.headers["set-cookie"].split(";", 1)[0])  # openscout_key=VALUE


def test_a_login_cookie_dies_with_the_server_and_after_its_lifetime(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Browsers send a host's cookies to every port of it, so a web server on another port of
    127.0.0.1 read the cookie, which stood for the key for good, across restarts (sixteenth
    probe). It is now good for this process and COOKIE_TTL_S only."""
    from openscout.server import security

    first = make_client(api_key=KEY)
    cookie = _login_cookie(first)
    assert "Max-Age=" in first.get(f"/chat?key={KEY}", follow_redirects=False).headers["set-cookie"]
    first.cookies.clear()
    assert first.get("/v1/models", headers={"Cookie": cookie}).status_code == 200
    restarted = make_client(api_key=KEY)  # the same key, another server process
    assert restarted.get("/v1/models", headers={"Cookie": cookie}).status_code == 401
    later = time.time() + security.COOKIE_TTL_S + 60
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert first.get("/v1/models", headers={"Cookie": cookie}).status_code == 401


@pytest.mark.timeout(60)  # a hang guard: 100 KB took 26 s, this took minutes
def test_a_huge_cookie_header_is_read_in_linear_time(make_client) -> None:  # type: ignore[no-untyped-def]
    """Python's cookie parser (before 3.11.10) unquotes `a="\\0\\0..."` in quadratic time,
    before the key check and, on a keyless server, in the app (sixteenth probe)."""
    hostile = 'a="' + "\\0" * 150_000 + '"'
    for key in (KEY, None):
        c = make_client(api_key=key)
        r = c.get("/v1/models", headers={"Cookie": hostile})
        assert r.status_code == (401 if key else 200)
    c = make_client(api_key=KEY)
    cookie = _login_cookie(c)
    c.cookies.clear()
    r = c.get("/v1/models", headers={"Cookie": f"{hostile}; {cookie}; other=1"})
    assert r.status_code == 200


def test_a_login_cookie_outside_ascii_is_refused_not_a_bare_500(make_client) -> None:  # type: ignore[no-untyped-def]
    """`²` is a digit that int() refuses, and compare_digest refuses "é": both raised in the
    key check, before any route, and answered a 500 without our headers and a traceback in
    the log, to anyone (twenty-sixth probe)."""
    c = make_client(api_key=KEY)
    now = str(int(time.time()))
    for value in (b"\xb2", now.encode() + b".\xe9", b"\xd9\xa1\xd9\xa2.x"):
        r = c.get("/v1/models", headers={"Cookie": b"openscout_key=" + value})
        assert r.status_code == 401, value
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_failure_in_the_checks_answers_500_with_our_headers(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from openscout.server.security import SecurityMiddleware

    def broken(self, headers):  # type: ignore[no-untyped-def]
        raise ValueError("a check that failed")

    monkeypatch.setattr(SecurityMiddleware, "_authorized", broken)
    c = make_client(api_key=KEY)
    r = c.get("/v1/models")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    assert "content-security-policy" in r.headers and r.headers["x-frame-options"] == "DENY"


def test_wrong_key_is_refused_and_right_key_works(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(api_key=KEY)
    assert c.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/v1/models", headers={"Authorization": f"Basic {KEY}"}).status_code == 401
    r = c.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200
    err = c.get("/v1/models").json()["error"]
    assert err["type"] == "authentication_error" and err["code"] == "invalid_api_key"


def test_key_in_url_sets_a_cookie_and_drops_the_key(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(api_key=KEY)
    r = c.get(f"/chat?key={KEY}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/chat"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and KEY not in cookie
    assert c.get("/chat").status_code == 200  # the client kept the cookie
    c.cookies.clear()
    assert c.get("/chat").status_code == 401
    assert c.get("/chat?key=wrong", follow_redirects=False).status_code == 401


def test_unauthenticated_browser_gets_an_explanation(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(api_key=KEY)
    r = c.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 401 and "?key=" in r.text


def test_rebinding_host_is_refused(client: TestClient) -> None:
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil"):
        r = client.get("/v1/models", headers={"Host": host})
        assert r.status_code == 400, host
        assert r.json()["error"]["code"] == "invalid_host"
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST"):
        assert client.get("/v1/models", headers={"Host": host}).status_code == 200, host


def test_a_rebinding_origin_is_never_granted(client: TestClient) -> None:
    """The 400 to a rebinding Host granted that page's own origin in CORS (fifteenth probe)."""
    for host in ("evil.example", "evil.example:8765"):
        r = client.get("/v1/models", headers={"Host": host, "Origin": f"http://{host}"})
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    own = {"Host": "127.0.0.1:8765", "Origin": "http://127.0.0.1:8765"}
    r = client.get("/v1/models", headers=own)
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8765"


def test_host_checked_before_the_key(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(api_key=KEY)
    assert c.get("/health", headers={"Host": "evil.example"}).status_code == 400


def test_allowed_hosts_rules() -> None:
    assert default_allowed_hosts("0.0.0.0") is None  # only allowed with a key (see serve)
    hosts = default_allowed_hosts("192.168.1.5", ["Box.lan"])
    assert hosts is not None and {"192.168.1.5", "box.lan", "127.0.0.1"} <= hosts
    assert (
        host_name("[::1]:80") == "[::1]" and host_name("a.b:1") == "a.b" and host_name("x") == "x"
    )


@pytest.mark.parametrize("extra", ["*", "", " ", "box.lan:8765", "a b", "http://box.lan", "é.lan"])
def test_an_allowed_host_that_can_never_match_is_refused(extra: str) -> None:
    """These were accepted without a word and matched no request (twenty-seventh probe)."""
    with pytest.raises(ConfigError, match="can never match a Host header"):
        default_allowed_hosts("192.168.1.5", ["box.lan", extra])


@pytest.mark.parametrize(
    "host", ["localhost:1@evil.com", "127.0.0.1:8765:1", "localhost:", "evil.com#localhost", ""]
)
def test_a_host_header_that_is_not_a_host_and_port_is_refused(make_client, host) -> None:  # type: ignore[no-untyped-def]
    # 'localhost:1@evil.com' used to pass as 'localhost' (fifth probe, low)
    c = make_client()
    assert c.get("/v1/models", headers={"Host": host}).status_code == 400
    assert c.get("/v1/models", headers={"Host": "localhost:8765"}).status_code == 200


def test_extra_allowed_host(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(allow_hosts=["box.lan"])
    assert c.get("/v1/models", headers={"Host": "box.lan:8765"}).status_code == 200
    assert c.get("/v1/models", headers={"Host": "other.lan"}).status_code == 400


def test_cross_origin_requests_are_refused(client: TestClient) -> None:
    body = {"model": "mock-a", "messages": [{"role": "user", "content": "hello"}]}
    r = client.post("/v1/chat/completions", json=body, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    pre = client.options(
        "/v1/chat/completions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    own = client.post(
        "/v1/chat/completions", json=body, headers={"Origin": "http://127.0.0.1:8765"}
    )
    assert own.status_code == 200
    assert own.headers["access-control-allow-origin"] == "http://127.0.0.1:8765"


def test_body_size_limit(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(limits=Limits(max_body_bytes=2000))
    big = {"model": "mock-a", "messages": [{"role": "user", "content": "x" * 5000}]}
    r = c.post("/v1/chat/completions", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 500  # no Content-Length: the limit must still hold

    r = c.post(
        "/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


MSG = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_tokens": 10**9}, "max_tokens"),
        ({"max_tokens": -1}, "max_tokens"),
        # the field the client sent, not max_tokens (30th probe, low)
        ({"max_completion_tokens": 5000}, "max_completion_tokens"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"max_completion_tokens": 2**53}, "max_completion_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"n": 50}, "n"),
        ({"n": 0}, "n"),
        ({"temperature": 9}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": ["x" * 100]}, "stop"),
        ({"messages": MSG * 300}, "messages"),
        ({"messages": [{"role": "user", "content": "x" * 250_000}]}, "messages.0.content"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
        ({"messages": []}, "messages"),
        ({"messages": "not a list"}, "messages"),
        ({"seed": 2**70}, "seed"),
    ],
)
def test_bounded_fields_give_400_in_openai_shape(
    client: TestClient, body: dict, param: str
) -> None:  # type: ignore[type-arg]
    req = {"model": "mock-a", "messages": MSG, **body}
    r = client.post("/v1/chat/completions", json=req)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param


def test_completion_bounds(client: TestClient) -> None:
    for body, param in [
        ({"logprobs": 99, "echo": True, "max_tokens": 0}, "logprobs"),
        ({"prompt": ["a"] * 20}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": 10**6}, "max_tokens"),
    ]:
        r = client.post("/v1/completions", json={"model": "mock-a", "prompt": "hi", **body})
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["param"] == param


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert "error" in r.json()


PAGES = ["/", "/catalog", "/chat", "/compare", "/arena", "/leaderboard", "/models/mock-a"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_strict_csp_and_no_inline_script(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    csp = r.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    for tag in re.findall(r"<script\b[^>]*>", r.text):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert re.search(r"\son[a-z]+\s*=", r.text) is None  # no inline event handlers
    assert "http://cdn" not in r.text and "https://cdn" not in r.text


def test_docs_pages_that_need_a_cdn_are_off(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_serve_refuses_a_public_bind_without_a_key(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "OPENSCOUT_API_KEY"}
    r = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "without an API key" in r.stderr


def test_check_bind_allows_loopback_and_keyed_public() -> None:
    from openscout.cli.serve import check_bind
    from openscout.errors import ConfigError

    check_bind("127.0.0.1", None)
    check_bind("127.0.0.1", "k")  # loopback: any key the user likes
    check_bind("0.0.0.0", "a-long-random-key")
    with pytest.raises(ConfigError):
        check_bind("192.168.0.2", None)
    # a blank or short key guarded every interface in name only (sixteenth probe)
    for weak in ("k", "short key"):
        with pytest.raises(ConfigError, match="fewer than 12 characters"):
            check_bind("0.0.0.0", weak)
    # HTTP drops a header value's outer blanks: only ?key= could log in (30th probe, low)
    for blank in (" ", "      ", "short key  ", " spacey key 123 ", "trailing-space-key-1 "):
        for host in ("127.0.0.1", "0.0.0.0"):
            with pytest.raises(ConfigError, match="begins or ends with a blank"):
                check_bind(host, blank)
    # headers arrive as Latin-1: a non-ASCII key never matched a Bearer header (nineteenth probe)
    for unusable in ("clé-secrète-longue", "key-with-a-tab\there", "ключ-ключ-ключ"):
        for host in ("127.0.0.1", "0.0.0.0"):
            with pytest.raises(ConfigError, match="printable ASCII"):
                check_bind(host, unusable)


def test_serve_names_an_address_it_cannot_listen_on(cli_env: dict[str, str]) -> None:
    """A busy port or a name not of this machine was uvicorn's log line after the URL had
    been printed (tenth probe); '[::1]', as written in URLs, was refused outright."""
    import socket

    from openscout.cli.serve import bind_address

    assert bind_address(" [::1] ") == "::1" and bind_address("127.0.0.1") == "127.0.0.1"
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        for host, said in [
            ("127.0.0.1", "cannot listen on 127.0.0.1:"),
            ("no-such-host.invalid", "not an address"),
        ]:
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "openscout.cli.main",
                    "serve",
                    "--host",
                    host,
                    "--port",
                    str(port),
                ],
                env={**cli_env, "OPENSCOUT_API_KEY": "k" * 16},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 2, r.stderr
            assert said in r.stderr and "workbench" not in r.stdout and "uvicorn" not in r.stderr


@pytest.mark.parametrize("prompt", [[-1], [], [[]], [1.5], [True], [[1, -5]], {"a": 1}])
def test_a_malformed_prompt_names_prompt_and_its_forms(client: TestClient, prompt) -> None:  # type: ignore[no-untyped-def]
    """A token id of -1 was "prompt.constrained-str: Input should be a valid string", pydantic's
    name for the first form a prompt may take (31st probe, low)."""
    r = client.post("/v1/completions", json={"model": "mock-a", "prompt": prompt})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "prompt" and "token ids (whole numbers from 0)" in err["message"], err


def test_other_fields_of_several_forms_name_the_field(client: TestClient) -> None:
    for body, param in [
        ({"stop": 5}, "stop"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    ]:
        r = client.post("/v1/chat/completions", json={"model": "mock-a", "messages": MSG, **body})
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


def test_the_users_chats_and_results_are_not_kept_by_browsers(client) -> None:  # type: ignore[no-untyped-def]
    """Stored chats and their exports were served without Cache-Control: a browser could
    keep them on disk (41st probe, low). Static files keep their own caching."""
    cid = client.post("/ui/api/chats", json={"model": "mock-a", "title": "private"}).json()["id"]
    for path in (f"/ui/api/chats/{cid}", f"/ui/api/chats/{cid}/export?format=md", "/chat"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    assert (
        client.post("/v1/chat/completions", json={"model": "nope", "messages": []}).headers[
            "cache-control"
        ]
        == "no-store"
    )
