"""Our upstream key, masked wherever an upstream's words echo it.

Servers echo the key they were sent ("Incorrect API key provided: sk-..."), sometimes cut,
without its "sk-", or upper-cased (tenth probe). So the whole token around any 8 consecutive
characters of the key, in any case, becomes "***". The search is one pass: a pattern that
grew the token with `[\\w...]*` on both sides backtracked quadratically, and a 30 KB error
body of word characters held the server's event loop for minutes (eleventh probe).
"""

from __future__ import annotations

import re

_TOKEN_CHAR = re.compile(r"[\w.~+/=-]")
_TOKEN_REST = re.compile(r"[\w.~+/=-]*")
WINDOW = 8


class KeyMask:
    def __init__(self, key: str | None) -> None:
        self.key = key if key and len(key) >= 4 else None
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
        text = text.replace(self.key, "***")
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
