"""Reading an upstream server's answer within bounds, and showing its URL without secrets.

An OpenAI-compatible server is outside our control: a line of server-sent events or a body
may be as long as it likes (one 1 GB SSE line took a process from 0.6 to 4.5 GB). We read
in pieces and stop at `MAX_LINE` bytes a line and `MAX_BODY` bytes an answer. What we read
is parsed by `load_json`: a bounded number of values (16 MiB of `{},` made 5.6 M
objects and 450 MB), and text that can be stored (a lone surrogate `\ud800` is valid JSON
but no UTF-8: it became U+FFFD instead of a crash at the first database write).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

import httpx

from openscout.engines.cancel import check_stop
from openscout.errors import EngineResponseError

MAX_LINE = 4 * 2**20
MAX_BODY = 64 * 2**20
# values (objects, lists, and the items between commas) in one answer: a chat answer with the
# top 20 log-probs of 4096 tokens holds about 600,000; a stream event a handful. Strings and
# numbers count too: 13 M strings "ab" in 62 MiB took the server to 1.1 GB (eighth probe).
MAX_VALUES = 1_000_000
EVENT_MAX_VALUES = 20_000
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class TooManyValues(ValueError):
    pass


def load_json(raw: bytes | str, max_values: int = MAX_VALUES) -> Any:
    """JSON from an upstream: at most about `max_values` values (objects, lists and commas
    counted on the raw text before parsing; those inside strings count too: stricter, never
    looser), and every lone surrogate replaced by U+FFFD. ValueError (or RecursionError) when
    not JSON."""
    data_bytes = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    found = data_bytes.count(b"{") + data_bytes.count(b"[") + data_bytes.count(b",")
    if found > max_values:
        raise TooManyValues(f"{found:,} values, objects and lists (at most {max_values:,})")
    data = json.loads(data_bytes)
    return _without_lone_surrogates(data) if _SURROGATE_ESCAPE.search(data_bytes) else data


def _without_lone_surrogates(data: Any) -> Any:
    """json.loads pairs valid surrogate escapes into one character; what remains is lone."""
    if isinstance(data, str):
        return _LONE_SURROGATE.sub("\ufffd", data)
    todo = [data]
    while todo:  # no recursion: the depth is the upstream's choice
        item = todo.pop()
        pairs = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
        for key, value in pairs:
            if isinstance(value, str):
                item[key] = _LONE_SURROGATE.sub("\ufffd", value)
            elif isinstance(value, dict | list):
                todo.append(value)
        if isinstance(item, dict) and any(_LONE_SURROGATE.search(k) for k in item):
            fixed = {_LONE_SURROGATE.sub("\ufffd", k): v for k, v in item.items()}
            item.clear()
            item.update(fixed)
    return data


def public_url(url: str) -> str:
    """The URL as it may be shown: `user:password@` and the query (tokens live there) removed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def split_query(url: str) -> tuple[str, list[tuple[str, str]]]:
    """The URL without its query (and fragment, and trailing '/'), and the query's pairs."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")
    return base, parse_qsl(parts.query, keep_blank_values=True)


def basic_token(url: str) -> str | None:
    """What httpx sends as `Authorization: Basic ...` for the URL's `user:password@`: an
    upstream that echoes the header it got handed the password, encoded, to API clients
    (31st probe)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return base64.b64encode(pair.encode()).decode()


def url_logins(url: str) -> list[str]:
    """The URL's password and user, as written and as sent (percent-decoded: httpx sends
    `p@ss` for `p%40ss`, and an upstream echoing it handed the password to API clients,
    masked only as written: 54th probe), the password first."""
    parts = urlsplit(url)
    written = [x for x in (parts.password, parts.username) if x]
    return list(dict.fromkeys(written + [unquote(x) for x in written]))


def query_values(url: str) -> list[str]:
    """The URL's query values, as sent (percent-encoded as written) and decoded: an upstream
    echoing the request's path with its query gave `s3cr%40t` unmasked (54th probe)."""
    query = urlsplit(url).query
    decoded = [v for _, v in parse_qsl(query, keep_blank_values=True)]
    written = [pair.partition("=")[2] for pair in query.split("&")]
    # and encoded as a client sends them: `pässwort` goes out as `p%C3%A4sswort`, a space as
    # `%20` or `+` (55th probe)
    sent = [f(v) for v in decoded for f in (quote, quote_plus)]
    return list(dict.fromkeys(v for v in decoded + written + sent if v))


def scrub(text: str, url: str) -> str:
    """`text` (an exception's words, say) with the URL's credentials taken out: the user,
    the password (also as the Basic token they make), the query and each of its values (a
    token may sit in any of them)."""
    parts = urlsplit(url)
    values = [v for v in query_values(url) if len(v) >= 4]
    for secret in (basic_token(url), *url_logins(url), parts.query, *values):
        if secret:
            text = text.replace(secret, "***")
    return text


def _too_big(what: str, limit: int) -> EngineResponseError:
    return EngineResponseError(
        f"the server sent {what} over {limit} bytes", cause="oversized answer"
    )


def read_body(resp: httpx.Response, limit: int = MAX_BODY, deadline: float | None = None) -> bytes:
    """The whole body, at most `limit` bytes; with `deadline` (time.monotonic()), all of it by
    then: a body trickled a byte at a time never ends otherwise. A caller that has gone away
    (engines/cancel.py) stops the read at the next piece."""
    parts: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        check_stop()
        size += len(chunk)
        if size > limit:
            raise _too_big("a body", limit)
        if deadline is not None and time.monotonic() > deadline:
            raise EngineResponseError(
                "the server did not finish its answer in time", transient=True, cause="timeout"
            )
        parts.append(chunk)
    return b"".join(parts)


def nested_deeper_than(data: Any, limit: int) -> bool:
    """Whether JSON data nests lists and objects more than `limit` deep (checked without
    recursion, so any depth json.loads returned is safe to ask about)."""
    if not isinstance(data, dict | list):
        return False
    level: list[tuple[Any, int]] = [(data, 1)]
    while level:  # only containers are kept: a list of 3 M strings costs no tuple each
        item, depth = level.pop()
        if depth > limit:
            return True
        values = item.values() if isinstance(item, dict) else item
        level.extend((v, depth + 1) for v in values if isinstance(v, dict | list))
    return False


def read_head(resp: Any, limit: int, deadline: float | None = None) -> bytes:
    """At most the first `limit` bytes of a body, and with `deadline` (time.monotonic()) what
    came by then; the rest is never read. For text of which a prefix is all we keep (a model
    card: one trickled a byte every 2 s held `catalog show` for ever, sixteenth probe).
    `resp`: an httpx-like streamed response."""
    parts: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        parts.append(chunk[: limit - size])
        size += len(parts[-1])
        if size >= limit or (deadline is not None and time.monotonic() > deadline):
            break
    return b"".join(parts)


def iter_lines(
    resp: httpx.Response,
    max_line: int = MAX_LINE,
    max_total: int = MAX_BODY,
    line_timeout_s: float | None = None,
) -> Iterator[str]:
    """Lines of a streamed body (\\n, \\r\\n or \\r), each at most `max_line` bytes. With
    `line_timeout_s`, a server that keeps sending bytes but no whole line for that long is an
    error: the per-read timeout alone never fires on a trickle of one byte a second."""
    pending: list[bytes] = []  # pieces of the line not yet ended, joined only when one ends
    size = total = 0
    last_line = time.monotonic()
    for chunk in resp.iter_bytes():
        total += len(chunk)
        if total > max_total:
            raise _too_big("a stream", max_total)
        if b"\n" in chunk or b"\r" in chunk:
            last_line = time.monotonic()
        elif line_timeout_s is not None and time.monotonic() - last_line > line_timeout_s:
            raise EngineResponseError(
                f"the server sent no whole line for {line_timeout_s:g} s",
                transient=True,
                cause="stalled stream",
            )
        if b"\n" not in chunk and b"\r" not in chunk:  # 4 MB sent 1 KiB at a time: no re-split
            pending.append(chunk)
            size += len(chunk)
            if size > max_line:
                raise _too_big("a line", max_line)
            continue
        data = b"".join([*pending, chunk])
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        rest = lines.pop()
        pending, size = ([rest] if rest else []), len(rest)
        if size > max_line:
            raise _too_big("a line", max_line)
        for line in lines:  # a whole long line can arrive in one chunk
            if len(line) > max_line:
                raise _too_big("a line", max_line)
            yield line.decode("utf-8", "replace")
    if pending:
        yield b"".join(pending).decode("utf-8", "replace")
