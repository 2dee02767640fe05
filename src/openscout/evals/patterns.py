"""Regular expressions from suites and task files, matched with a time limit.

A pattern like `^(a|aa)+$` backtracks for ever on the right text, and Python's `re` cannot be
interrupted: `openscout eval` hung on one such assertion (independent probe, issue 17). The
`regex` module matches the same syntax with a timeout; a pattern that runs out of time is a
PatternTimeoutError naming the pattern, which fails that item instead of the whole run.
A pattern that does not compile (`(x`, or thousands of nested groups, which recurse past
Python's stack) is a PatternError the same way, and `check` refuses both at load.
"""

from __future__ import annotations

import re

# Python's own parser of `re` syntax, to measure a pattern without compiling it
from re import _constants as re_constants  # type: ignore[attr-defined]
from re import _parser as re_parser  # type: ignore[attr-defined]
from typing import Any

import regex

from openscout.errors import PatternError, PatternTimeoutError

TIMEOUT_S = 1.0  # far above any sane pattern on a model's answer
# positions a pattern may unroll to: `(?:x{65535}){65535}` took GBs just to compile (third
# probe), and the time limit covers matching only
MAX_SIZE = 100_000


def check_size(pattern: str) -> None:
    """Refuse a pattern whose counted repetitions multiply past MAX_SIZE (PatternTimeoutError,
    like a pattern that runs too long: the item fails naming it)."""
    size = _size(pattern)
    if size > MAX_SIZE:
        raise PatternTimeoutError(
            f"the pattern {_shown(pattern)!r} repeats to {size:,} positions"
            f" (at most {MAX_SIZE:,} are compiled)",
            hint="use a smaller count, or + and * instead of nested {n} counts",
        )


def _size(pattern: str) -> int:
    """Positions the pattern unrolls to, from Python's own parse of it; for `regex`-only
    syntax Python cannot parse, the product of all counts (an upper bound)."""
    # `regex` in verbose mode reads `x{6 5535}` as x{65535}; `re` as text: measure it as counted
    measured = re.sub(r"\{[\d\s,]+\}", lambda m: "".join(m.group().split()), pattern)
    try:
        return _parsed_size(re_parser.parse(measured))
    except (re.error, RecursionError, OverflowError, ValueError):
        total = 1
        for lo, hi in re.findall(r"\{(\d*),?(\d*)\}", measured):
            total *= max(int(lo or 1), int(hi or 1))
            if total > MAX_SIZE:
                break
        return total


def _parsed_size(parsed: Any) -> int:
    total = 0
    for op, av in parsed:
        if op in _REPEATS:
            lo, hi, body = av
            count = lo if hi == re_constants.MAXREPEAT else hi
            total += max(count, 1) * _parsed_size(body)
        else:  # a group, lookaround, atomic group, branch or conditional: what it holds
            total += 1 + _nested_size(av)
        if total > MAX_SIZE:
            return total
    return total


def _nested_size(av: Any) -> int:
    """The size of every sub-pattern an opcode's argument holds (the fourth probe hid
    `(?:x{65535}){65535}` inside a lookahead, which was counted as one position)."""
    if isinstance(av, re_parser.SubPattern):
        return _parsed_size(av)
    if isinstance(av, tuple | list):
        return sum(_nested_size(x) for x in av)
    return 0


def _shown(pattern: str) -> str:
    return pattern if len(pattern) <= 60 else pattern[:57] + "..."


# what `regex` raises on a pattern it cannot compile: its own error, or Python's stack
# running out on thousands of nested groups (fifteenth probe)
_NOT_COMPILED = (regex.error, RecursionError, OverflowError, ValueError)


def _bad(pattern: str, e: BaseException) -> PatternError:
    why = "it nests too deeply" if isinstance(e, RecursionError) else str(e)
    return PatternError(f"bad regular expression {_shown(pattern)!r}: {why}")


def check(pattern: str) -> None:
    """Refuse, at load, a pattern that repeats too far or does not compile as it will be
    matched (with `regex`)."""
    check_size(pattern)
    try:
        regex.compile(pattern)
    except _NOT_COMPILED as e:
        raise _bad(pattern, e) from e


def _timed(call: Any, pattern: str, *args: Any) -> Any:
    check_size(pattern)
    try:
        return call(pattern, *args, timeout=TIMEOUT_S)
    except TimeoutError as e:
        raise PatternTimeoutError(
            f"the pattern {_shown(pattern)!r} ran past {TIMEOUT_S:g} s (catastrophic backtracking?)",
            hint="rewrite it without nested repetition, e.g. (a|aa)+",
        ) from e
    except _NOT_COMPILED as e:  # a stored item from before `check`, or a task read unchecked
        raise _bad(pattern, e) from e


def search(pattern: str, text: str) -> bool:
    return _timed(regex.search, pattern, text) is not None


def findall(pattern: str, text: str) -> list[Any]:
    return list(_timed(regex.findall, pattern, text))


_REPEATS = (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT, re_constants.POSSESSIVE_REPEAT)


def sub(pattern: str, repl: str, text: str) -> str:
    return str(_timed(regex.sub, pattern, repl, text))
