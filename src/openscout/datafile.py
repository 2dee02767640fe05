"""The one way openscout reads a user's JSON, JSON lines and CSV data files (tune examples,
lm-eval documents, leaderboard exports): bounded, and every fault a DataFileError naming the
file and the line. The JSON and CSV twin of yamlfile.py.

- the file's size is checked before it is read (`MAX_BYTES`, or the caller's bound);
- bytes that are not UTF-8 are named by line (a leading BOM is dropped);
- JSON nesting deeper than `MAX_DEPTH` is refused before `json.loads` runs: it recurses once
  per level and fails at Python's recursion limit (about 1000) with a RecursionError, and
  what it returns just under that limit breaks whatever walks it next;
- a lone surrogate (`"\\ud800"`, valid JSON escape but not Unicode) is refused: kept, it
  crashes later, far from the file, when the text is encoded (a digest, the store, a
  tokenizer). We refuse rather than replace it with U+FFFD: data files are the user's own,
  and silently changing an example or a document would change what is trained or scored;
- CSV fields are held to csv's own limit (131072 characters; openscout never raises it) and
  csv's errors name the line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

from openscout.errors import DataFileError

MAX_BYTES = 64 * 2**20
MAX_DEPTH = 200  # as yamlfile: far beyond any real data, far below the recursion limit

# a JSON string (to skip: brackets inside it do not nest), or a bracket
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_TOKEN = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_NOT_BRACKET = re.compile(_STRING + r'|[^\[\]{}"]+', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# cheap test whether the text may hold a surrogate escape at all
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def check_size(path: Path, max_bytes: int = MAX_BYTES) -> None:
    """Refuse a file over `max_bytes` before anything reads it."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    if size > max_bytes:
        raise DataFileError(
            f"the file is {size} bytes; openscout reads data files up to {max_bytes}",
            path=str(path),
            hint="split it into smaller files",
        )


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, its size checked before it is read."""
    check_size(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    if len(data) > max_bytes:  # it grew while we looked
        raise DataFileError(f"the file is over {max_bytes} bytes", path=str(path))
    return data


def decode(data: bytes, path: str, hint: str | None = None, line: int | None = None) -> str:
    """UTF-8 text (a leading BOM dropped); bytes that are not UTF-8 named by line. `line`: the
    line `data` is, when it is one line of a file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        at = line if line is not None else data[: e.start].count(b"\n") + 1
        raise DataFileError(f"not UTF-8 text ({e.reason})", path=path, line=at, hint=hint) from e
    return text.removeprefix("\ufeff")


def read_text(path: Path, max_bytes: int = MAX_BYTES, hint: str | None = None) -> str:
    return decode(read_bytes(path, max_bytes), str(path), hint)


def _too_deep_at(text: str, limit: int) -> int | None:
    """Where JSON text first nests deeper than `limit` (found without recursing), or None."""
    if text.count("[") + text.count("{") <= limit:
        return None  # it cannot nest that deep: the usual case, decided at C speed
    # the depth after each bracket, strings and the rest dropped: C-speed iterators throughout
    brackets = _NOT_BRACKET.sub("", text)
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= limit:
        return None
    depth = 0  # too deep: find where, a token at a time (only such files come this far)
    for m in _TOKEN.finditer(text):
        c = text[m.start()]
        if c in "[{":
            depth += 1
            if depth > limit:
                return m.start()
        elif c in "]}":
            depth -= 1
    return None


def _lone_surrogate(text: str) -> re.Match[str] | None:
    """The first `\\uD800`-`\\uDFFF` escape of valid JSON text that is not half of a pair."""
    if not _MAYBE_SURROGATE.search(text):
        return None
    high: re.Match[str] | None = None  # a high half waiting for its low half
    # in valid JSON every backslash starts an escape, so walking escapes in order is exact
    for m in _ESCAPE.finditer(text):
        code = int(m.group(1), 16) if m.group(1) else 0
        low = 0xDC00 <= code <= 0xDFFF
        if high is not None:
            if low and m.start() == high.end():
                high = None
                continue
            return high
        if 0xD800 <= code <= 0xDBFF:
            high = m
        elif low:
            return m
    return high


def parse_json(text: str, path: str, line: int | None = None, hint: str | None = None) -> Any:
    """One JSON document within the bounds. `line`: the line it is in a JSON lines file;
    without it, errors name the line within `text`."""

    def where(offset: int) -> int:
        return line if line is not None else text.count("\n", 0, offset) + 1

    deep = _too_deep_at(text, MAX_DEPTH)
    if deep is not None:
        raise DataFileError(
            f"the JSON nests deeper than {MAX_DEPTH} levels", path=path, line=where(deep), hint=hint
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFileError(
            f"not JSON: {e.msg} (column {e.colno})",
            path=path,
            line=line if line is not None else e.lineno,
            hint=hint,
        ) from None
    except RecursionError:  # below MAX_DEPTH, yet the stack was already deep: same answer
        raise DataFileError(
            f"the JSON nests deeper than {MAX_DEPTH} levels", path=path, line=line, hint=hint
        ) from None
    lone = _lone_surrogate(text)
    if lone is not None:
        raise DataFileError(
            f"a lone surrogate {lone.group()} is not text (a pair such as \\ud83d\\ude00 is)",
            path=path,
            line=where(lone.start()),
            hint=hint,
        )
    return value


def jsonl_values(
    data: str | bytes, path: str, hint: str | None = None
) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of JSON lines. Bytes are decoded a line at
    a time (a large file is never all in memory as text). Split on "\\n" only: a U+2028
    inside a JSON string is text, not a line break."""
    lines = data.split(b"\n") if isinstance(data, bytes) else data.split("\n")
    for n, raw in enumerate(lines, start=1):
        line = decode(raw, path, hint, line=n) if isinstance(raw, bytes) else raw
        if line.strip():
            yield n, parse_json(line, path, line=n, hint=hint)


def csv_rows(text: str, path: str, hint: str | None = None) -> list[dict[str, Any]]:
    """The rows of CSV text with a header line, as csv.DictReader gives them; a field over
    csv.field_size_limit() or a broken quote is a DataFileError naming the line."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as e:
        message = str(e)
        if "field larger than field limit" in message:
            message = f"a field is longer than {csv.field_size_limit()} characters"
        raise DataFileError(
            f"malformed CSV: {message}", path=path, line=reader.reader.line_num, hint=hint
        ) from e
