"""Our upstream key, masked wherever an upstream's words echo it.

Servers echo the key they were sent ("Incorrect API key provided: sk-..."), sometimes cut,
without its "sk-", or upper-cased (tenth probe). So the whole token around any 8 consecutive
characters of the key, in any case, becomes "***". The search is one pass: a pattern that
grew the token with `[\\w...]*` on both sides backtracked quadratically, and a 30 KB error
body of word characters held the server's event loop for minutes (eleventh probe).
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN_CHAR = re.compile(r"[\w.~+/=-]")
_TOKEN_REST = re.compile(r"[\w.~+/=-]*")
WINDOW = 8


class KeyMask:
    def __init__(self, key: str | None) -> None:
        self.key = key if key and len(key) >= 4 else None
        self._whole = re.compile(re.escape(self.key or ""), re.IGNORECASE)
        self._parts = (
            re.compile(
                "|".join(re.escape(key[i : i + WINDOW]) for i in range(len(key) - WINDOW + 1)),
                re.IGNORECASE,
            )
            if key and len(key) >= 12
            else None
        )

    def apply(self, text: str) -> str:
        if self.key is None:
            return text
        text = self._whole.sub("***", text)
        if self._parts is None:
            return text
        pieces: list[str] = []
        done = 0  # text before this is already copied or masked
        while (m := self._parts.search(text, done)) is not None:
            start = m.start()
            while start > done and _TOKEN_CHAR.match(text, start - 1):
                start -= 1  # never further back than the last mask: linear overall
            end = _TOKEN_REST.match(text, m.end()).end()  # type: ignore[union-attr]
            pieces += [text[done:start], "***"]
            done = end
        pieces.append(text[done:])
        return "".join(pieces)


MIN_SECRET_CHARS = 6  # a URL's password or query value masked in data


class UpstreamSecrets:
    """What of ours an upstream may echo: our key, the URL's Basic token, its password and
    query values, whole or in part. Its errors reach API clients, the log and the results
    database; its answers and forwarded bodies reach API clients."""

    def __init__(self, url: str, key: str | None) -> None:
        from urllib.parse import unquote, urlsplit

        from openscout.engines.http_bounds import basic_token, query_values

        self._url = url
        self._masks = (KeyMask(key), KeyMask(basic_token(url)))
        # in data only long ones: a token string may be a short word (and the user name);
        # the password as written and as sent (`p%40ss` goes out as `p@ss`: 54th probe)
        parts = urlsplit(url)
        password = [parts.password, unquote(parts.password)] if parts.password else []
        values = [v for v in (*password, *query_values(url)) if v and len(v) >= MIN_SECRET_CHARS]
        # whole or in part, in any case, as the key (an echo upper-cased or cut: 57th probe)
        self._masks += tuple(KeyMask(v) for v in dict.fromkeys(values))

    def text(self, text: str) -> str:
        """Words about the upstream: every credential of the URL out too (http_bounds.scrub)."""
        from openscout.engines.http_bounds import scrub

        return self.data(scrub(text, self._url))

    def data(self, text: str) -> str:
        """Data (an answer, a forwarded value) with our key, the Basic token, the URL's
        password and long query values taken out. An upstream answering "your key is
        <Authorization>" gave it to our clients (37th probe). A streamed answer is masked a
        chunk at a time, so a key sent a few characters a chunk is not caught: a guard
        against an echo, not against an upstream set on leaking the key it was given."""
        for mask in self._masks:
            text = mask.apply(text)
        return text

    def json(self, data: Any) -> Any:
        """A forwarded answer with every secret masked in every key and string (a success
        body echoing the credentials handed our upstream key to API clients: 37th probe).
        One pass over all the text first: the walk (millions of log-prob strings) runs only
        where something is found. Its nesting is bounded before this."""
        texts: list[str] = []

        def gather(v: Any) -> None:
            if isinstance(v, str):
                texts.append(v)
            elif isinstance(v, dict):
                texts.extend(v)
                for x in v.values():
                    gather(x)
            elif isinstance(v, list):
                for x in v:
                    gather(x)

        gather(data)
        joined = "\x00".join(texts)
        if self.data(joined) == joined:
            return data

        def walk(v: Any) -> Any:
            if isinstance(v, str):
                return self.data(v)
            if isinstance(v, dict):
                return {self.data(k): walk(x) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            return v

        return walk(data)
