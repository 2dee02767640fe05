"""Regular expressions from suites and task files, matched with a time limit.

A pattern like `^(a|aa)+$` backtracks for ever on the right text, and Python's `re` cannot be
interrupted: `openscout eval` hung on one such assertion (independent probe, issue 17). The
`regex` module matches the same syntax with a timeout; a pattern that runs out of time is a
PatternTimeoutError naming the pattern, which fails that item instead of the whole run.
"""

from __future__ import annotations

from typing import Any

import regex

from openscout.errors import PatternTimeoutError

TIMEOUT_S = 1.0  # far above any sane pattern on a model's answer


def _timed(call: Any, pattern: str, *args: Any) -> Any:
    try:
        return call(pattern, *args, timeout=TIMEOUT_S)
    except TimeoutError as e:
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        raise PatternTimeoutError(
            f"the pattern {shown!r} ran past {TIMEOUT_S:g} s (catastrophic backtracking?)",
            hint="rewrite it without nested repetition, e.g. (a|aa)+",
        ) from e


def search(pattern: str, text: str) -> bool:
    return _timed(regex.search, pattern, text) is not None


def findall(pattern: str, text: str) -> list[Any]:
    return list(_timed(regex.findall, pattern, text))


def sub(pattern: str, repl: str, text: str) -> str:
    return str(_timed(regex.sub, pattern, repl, text))
