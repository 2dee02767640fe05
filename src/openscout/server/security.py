"""One ASGI middleware in front of every route: Host allow-list, bearer key, same-origin only,
body size limit, and security headers (a strict CSP) on every response.

It is plain ASGI, not BaseHTTPMiddleware, so streaming responses pass through untouched and the
app still sees a client disconnect. Order of checks: Host (400), key (401), Origin (403),
body size (413).

Browsers cannot send a bearer header on page navigation, so the key is also accepted as
`?key=` on a GET (answered with a redirect that drops it from the URL and sets an HttpOnly,
SameSite=Strict cookie), the way Jupyter hands out its token. The cookie is good for this
process and COOKIE_TTL_S only: browsers send it to every port of the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from openscout.engines.bundled import only_if_assembled
from openscout.errors import ConfigError
from openscout.loopback import LOOPBACK_NAMES
from openscout.server.answer_budget import AnswerBudget
from openscout.server.errors import error_body, unexpected
from openscout.server.limits import Limits

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("openscout.server")

COOKIE = "openscout_key"
COOKIE_TTL_S = 12 * 3600  # a working day; the `?key=` address logs in again
PUBLIC_PATHS = frozenset({"/health"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def default_allowed_hosts(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """Loopback names plus the bind address and any extras; None (any Host) only for a
    wildcard bind without extras, which `serve` allows only with an API key."""
    extra = [h.strip().lower() for h in extra]
    for h in extra:
        if not h or host_name(h) != h:  # '*', 'a b', 'box:8765' were accepted and never matched
            raise ConfigError(
                f"--allow-host {h!r} can never match a Host header",
                hint="give a name or an address without port or scheme, e.g. box.lan, "
                "192.168.1.5 or [fe80::1]",
            )
    if bind_host in WILDCARD_BINDS and not extra:
        return None
    hosts = set(LOOPBACK_NAMES) | set(extra)
    if bind_host not in WILDCARD_BINDS:
        hosts.add(bind_host.lower())
    return frozenset(hosts)


# a name or IPv4 address, or an IPv6 address in brackets; then an optional port
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:[0-9]{1,5})?")


def host_name(host_header: str) -> str:
    """'example.com:8765' -> 'example.com'; '[::1]:8765' -> '[::1]'; '' for a value that is
    not a host and port ('localhost:1@evil.com'), which no allow-list holds."""
    found = _HOST.fullmatch(host_header.strip().lower())
    return found.group(1) if found else ""


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        allowed_hosts: frozenset[str] | None,
        limits: Limits,
        csp: str = CSP,
    ) -> None:
        self.app = app
        self.api_key = api_key or None
        self.allowed_hosts = allowed_hosts
        self.limits = limits
        self.max_body_bytes = limits.max_body_bytes
        self._bodies_reading = 0  # one event loop: no lock needed
        self.answers = AnswerBudget(limits.max_answer_bytes, limits.retry_after_s)
        self.csp = csp
        self._session_secret = secrets.token_bytes(32)  # login cookies end with this process

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":  # we serve no websockets
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Checks and app together; a failure in either that nothing handled answers 500 (503
        out of memory) from here, with our headers: Starlette's own 500 is sent outside this
        middleware, bare, and a check that failed (a login cookie `²`: twenty-sixth probe)
        answered it before any route ran."""
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._checked(scope, receive, tracking)
        except Exception as e:
            # the machine's limits (memory: an upstream answer that decoded to 4x its bytes,
            # sixteenth probe; disk: 33rd) are 503s worth asking again, the rest 500
            status, message, code, headers = unexpected(e)
            log.error("%s on %s", code, scope.get("path", "?"), exc_info=status == 500)
            if not started:
                extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                await _json(self._with_headers(send, False), status, message, code, extra)

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        twice = _repeated(scope.get("headers", []))
        if twice:  # the last of two Origins won: ours after evil.com's passed (twentieth probe)
            await _json(send, 400, f"the {twice} header may appear once", "duplicate_header")
            return
        if "cookie" in headers:
            # ours is read here, in linear time; the app never sees the header: Python's
            # cookie parser (before 3.11.10) unquotes in quadratic time, and a 100 KB
            # `a="\0\0..."` held the event loop 26 s before the key check (sixteenth probe)
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"cookie"]
        host_header = headers.get("host", "")
        own_origin = f"{scope.get('scheme', 'http')}://{host_header}"
        host_allowed = self.allowed_hosts is None or host_name(host_header) in self.allowed_hosts
        # an origin is granted only once its Host passed: the rebinding 400 granted the
        # rebinding page's own origin (fifteenth probe)
        granted = host_allowed and headers.get("origin") == own_origin and own_origin
        send = self._with_headers(send, granted)

        if not host_allowed:
            await _json(
                send,
                400,
                "invalid Host header (DNS rebinding protection); "
                "use http://127.0.0.1 or add the name with --allow-host",
                "invalid_host",
            )
            return
        path = scope.get("path", "")
        if path in PUBLIC_PATHS and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            # answered before any body is read: without a key, a POST /health held one of
            # the body slots every keyed request needs (31st probe)
            allow = [(b"allow", b"GET, HEAD, OPTIONS"), _CLOSE]
            await _json(send, 405, f"{path} answers GET only", "method_not_allowed", allow)
            return
        if self.api_key and path not in PUBLIC_PATHS:
            if scope["method"] == "GET" and await self._query_login(scope, send):
                return
            if not self._authorized(headers):
                await self._unauthorized(send, headers)
                return
        origin = headers.get("origin")
        if origin and origin != own_origin:
            await _json(send, 403, "cross-origin requests are not allowed", "forbidden_origin")
            return
        if _cross_site_subresource(headers, scope["path"]):
            # An <img>, <script> or <iframe> on another site sends no Origin, but the browser
            # says where it comes from: without this a page could make the server load every
            # model (second and third probes). Following a link to a page stays allowed.
            await _json(send, 403, "cross-site requests are not allowed", "forbidden_origin")
            return
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
                        (b"access-control-allow-headers", b"authorization, content-type"),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            body = await self._read_body(headers, receive, send)
            if body is None:
                return
            receive = _replay(body, receive)
        # a link from any site may open a page: a GET shows the files there, never makes one
        reading = scope["method"] in ("GET", "HEAD")
        with only_if_assembled() if reading else contextlib.nullcontext():
            async with self.answers.bounded(send) as send_counted:
                await self.app(scope, receive, send_counted)

    # -- authentication --------------------------------------------------------------------

    def _key_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(
            str(candidate).encode("utf-8"), str(self.api_key).encode("utf-8")
        )

    def _cookie_value(self, issued: int) -> str:
        """`ISSUED.MAC`: a digest of the key under this process's own secret and the time the
        cookie was issued, never the key. Browsers send a host's cookies to every port of it,
        so any web server on the same host may read this one (sixteenth probe): it dies with
        this process and after COOKIE_TTL_S, instead of standing for the key for good."""
        secret = self._session_secret + str(self.api_key).encode()
        mac = hmac.new(secret, f"openscout-cookie:{issued}".encode(), hashlib.sha256).hexdigest()
        return f"{issued}.{mac}"

    def _cookie_ok(self, value: str) -> bool:
        if not value.isascii():  # "²" is a digit int() refuses; compare_digest refuses "é"
            return False
        issued, _, _ = value.partition(".")
        if not (issued.isdigit() and len(issued) <= 12):
            return False
        if not 0 <= time.time() - int(issued) <= COOKIE_TTL_S:
            return False
        return hmac.compare_digest(value, self._cookie_value(int(issued)))

    def _authorized(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and self._key_ok(auth[7:].strip()):
            return True
        value = _cookie(headers.get("cookie", ""), COOKIE)
        return value is not None and self._cookie_ok(value)

    async def _query_login(self, scope: Scope, send: Send) -> bool:
        """GET ...?key=K with the right key: set the cookie, redirect to the URL without it."""
        query = scope.get("query_string", b"").decode("latin-1")
        pairs = parse_qsl(query, keep_blank_values=True)
        key = next((v for k, v in pairs if k == "key"), None)
        if key is None or not self._key_ok(key):
            return False
        rest = urlencode([(k, v) for k, v in pairs if k != "key"])
        # our own path only: "//evil.example/" or "/\\evil.example" would leave the site,
        # and the header must be ASCII whatever the path holds
        path = "/" + str(scope.get("path", "/")).lstrip("/\\")
        location = quote(path, safe="/:@!$&'()*+,;=-._~") + (f"?{rest}" if rest else "")
        value = self._cookie_value(int(time.time()))
        cookie = f"{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_TTL_S}"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True

    async def _unauthorized(self, send: Send, headers: dict[str, str]) -> None:
        extra = [(b"www-authenticate", b'Bearer realm="openscout"')]
        if "text/html" in headers.get("accept", ""):
            page = (
                b"<!doctype html><meta charset=utf-8><title>openscout: key needed</title>"
                b"<h1>This openscout server needs its API key</h1>"
                b"<p>Open the address that <code>openscout serve</code> printed (it ends in "
                b"<code>?key=...</code>), or send <code>Authorization: Bearer KEY</code>.</p>"
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"), *extra],
                }
            )
            await send({"type": "http.response.body", "body": page})
            return
        await _json(
            send,
            401,
            "missing or wrong API key: send Authorization: Bearer KEY",
            "invalid_api_key",
            extra,
        )

    # -- body and headers ------------------------------------------------------------------

    async def _read_body(
        self, headers: dict[str, str], receive: Receive, send: Send
    ) -> bytes | None:
        too_big = f"the request body is larger than {self.max_body_bytes} bytes"
        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            await _json(send, 400, "bad Content-Length", "invalid_request")
            return None
        if declared > self.max_body_bytes:
            await _json(send, 413, too_big, "body_too_large", [_CLOSE])
            return None
        if self._bodies_reading >= self.limits.max_bodies_reading:
            # closed after the answer, so the body it would still send is not buffered
            extra = [(b"retry-after", str(self.limits.retry_after_s).encode()), _CLOSE]
            await _json(send, 503, "the server is busy; retry shortly", "queue_full", extra)
            return None
        self._bodies_reading += 1
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                return await self._body_parts(receive, send, too_big)
        except TimeoutError:
            took = f"the request body did not arrive within {self.limits.body_timeout_s:g} s"
            await _json(send, 408, took, "body_timeout", [_CLOSE])
            return None
        finally:
            self._bodies_reading -= 1

    async def _body_parts(self, receive: Receive, send: Send, too_big: str) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _json(send, 413, too_big, "body_too_large", [_CLOSE])
                return None
            parts.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(parts)

    def _with_headers(self, send: Send, cors_origin: str | bool) -> Send:
        extra = [
            (b"content-security-policy", self.csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if cors_origin:
            extra += [
                (b"access-control-allow-origin", str(cors_origin).encode("latin-1")),
                (b"vary", b"Origin"),
            ]

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = list(message.get("headers", []))
                # a route may tighten or (for styles only) adjust the policy: keep its own
                own_csp = any(k.lower() == b"content-security-policy" for k, _ in headers)
                message["headers"] = headers + [
                    h for h in extra if not (own_csp and h[0] == b"content-security-policy")
                ]
                # chats, answers and results are the user's: no browser or proxy keeps them
                # (41st probe, low); a route that may be kept (static files) says so itself
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        return wrapped


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def wrapped() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls: wait for the disconnect as usual

    return wrapped


def _cookie(header: str, name: str) -> str | None:
    """The value of cookie `name` in a Cookie header (`a=1; b=2`), found with string methods
    in one pass. Ours is plain token characters: a quoted value is not ours."""
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


async def _json(
    send: Send, status: int, message: str, code: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(error_body(status, message, code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_CLOSE = (b"connection", b"close")

# what a link from another site may open: the workbench's pages, never the API behind them
_API_PATHS = ("/v1/", "/ui/api/", "/tokenize", "/detokenize", "/tokenizer_info", "/openapi")


_ONCE = ("host", "origin", "authorization", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest")
_NOT_CROSS_SITE = (None, "same-origin", "same-site", "none")


def _repeated(raw: list[tuple[bytes, bytes]]) -> str | None:
    """The first header the checks read that a request sends twice."""
    names = [k.lower() for k, _ in raw]
    return next((n for n in _ONCE if names.count(n.encode()) > 1), None)


def _cross_site_subresource(headers: dict[str, str], path: str) -> bool:
    """A browser request from another site that is not the user following a link to a page
    in the top window (an iframe is a navigation too, but no user chose it). A value that is
    none of the spec's counts as cross-site (`CROSS-SITE` passed; twentieth probe)."""
    site = headers.get("sec-fetch-site")
    if site in _NOT_CROSS_SITE:
        return False
    link = headers.get("sec-fetch-mode") == "navigate" and headers.get("sec-fetch-dest") in (
        None,
        "document",
    )
    return not link or path.startswith(_API_PATHS)
