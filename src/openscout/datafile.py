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
  csv's errors name the line;
- the number of values is bounded, so memory is (bytes alone are not: 60 MiB of `{},` made
  1.8 GB of dicts, a CSV header of 10,000 columns over 100,000 one-cell rows tens of GB):
  `MAX_VALUES` JSON values in one JSON document or in a whole JSON lines file, counted on
  the text before it is parsed; `MAX_VALUES` CSV cells in a file and `MAX_COLUMNS` columns;
- a number json cannot read (more than 4300 digits: int() refuses it with a ValueError) is
  named like any other fault.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

from openscout.errors import DataFileError

MAX_BYTES = 64 * 2**20
MAX_DEPTH = 200  # as yamlfile: far beyond any real data, far below the recursion limit
# JSON values in one document or one JSON lines file, and cells in one CSV file. Real files
# hold a tenth of it: the Open LLM Leaderboard's results (about 4,500 rows of some 40 columns)
# are about 200,000 values in any form; a tune set of 50,000 chat examples about 350,000
# (7 a line, text not counted); lm-eval documents (MMLU: 14,000 of about 8) fewer. At the
# bound the parsed values take a few hundred MB at most (2,000,000 empty dicts: 130 MB).
MAX_VALUES = 2_000_000
# columns of a CSV file: the leaderboard's export has about 40
MAX_COLUMNS = 1000

# a JSON string (to skip: brackets inside it do not nest), or a bracket
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_TOKEN = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_NOT_BRACKET = re.compile(_STRING + r'|[^\[\]{}"]+', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# cheap test whether the text may hold a surrogate escape at all
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_STRING_ONLY = re.compile(_STRING, re.DOTALL)
_DIGITS = re.compile(r"\d+")
_CSV_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


NOT_REGULAR = "not a regular file (a device, a pipe or a folder): give the path of a file"


def _refused_size(path: Path, size: int, max_bytes: int, kind: str) -> DataFileError:
    return DataFileError(
        f"the file is {size} bytes; openscout reads {kind} up to {max_bytes}",
        path=str(path),
        hint="split it into smaller files",
    )


def check_size(path: Path, max_bytes: int = MAX_BYTES, kind: str = "data files") -> None:
    """Refuse a file over `max_bytes`, or one that is not a regular file, before anything
    reads it: /dev/zero and a pipe have no size to check (fifteenth probe)."""
    try:
        st = path.stat()
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    if not stat.S_ISREG(st.st_mode):
        raise DataFileError(NOT_REGULAR, path=str(path))
    if st.st_size > max_bytes:
        raise _refused_size(path, st.st_size, max_bytes, kind)


def read_bytes(
    path: Path, max_bytes: int = MAX_BYTES, kind: str = "data files", head: bool = False
) -> bytes:
    """The file's bytes: a regular file (checked on the file opened, so a swap after the check
    cannot slip a device in), its size checked before it is read, never more than read.
    `head`: the first `max_bytes` of a file of any size."""
    try:
        # non-blocking: opening a pipe for reading would wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DataFileError(NOT_REGULAR, path=str(path))
        if st.st_size > max_bytes and not head:
            raise _refused_size(path, st.st_size, max_bytes, kind)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes if head else max_bytes + 1)
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    finally:
        os.close(fd)
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


def _lone_surrogate(text: str) -> tuple[int, str] | None:
    """(where, what) of the first `\\uD800`-`\\uDFFF` escape of valid JSON text that is not
    half of a pair. Escaped backslashes are blanked first (read from the left, `\\\\` is one,
    as the JSON reader reads it), so every backslash left starts a real escape; then pairs are
    blanked, and the first surrogate escape left is the answer. Every step keeps positions
    and runs in C: walking each escape in Python took 14 s for 15 M of them (tenth probe)."""
    if not _MAYBE_SURROGATE.search(text):
        return None
    unpaired = _SURROGATE_PAIR.sub("." * 12, text.replace("\\\\", ".."))
    m = _SURROGATE_ESCAPE.search(unpaired)
    return None if m is None else (m.start(), m.group())


def _raw_count(text: str | bytes) -> int:
    """Objects, lists and commas in JSON text: at least the number of values less one (every
    value after the first in an array or object follows a comma), strings included, so an
    upper bound of what `_count` finds. At C speed."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[") + text.count(b",")
    return text.count("{") + text.count("[") + text.count(",")


def _count(text: str) -> int:
    """As `_raw_count`, the strings left out (a comma in a text is no value): asked only when
    the raw count is over a bound, so that a tune set of prose full of commas still fits."""
    return _raw_count(_STRING_ONLY.sub("", text)) if '"' in text else _raw_count(text)


def _too_many(limit: int, path: str, line: int | None, what: str) -> DataFileError:
    return DataFileError(
        f"{what} more than {limit:,} values (objects, lists and the items in them); "
        "openscout reads data files up to that",
        path=path,
        line=line,
        hint="split it into smaller files",
    )


def _unreadable_number(
    e: ValueError | OverflowError, path: str, text: str, line: int | None, hint: str | None
) -> DataFileError:
    """A ValueError json.loads raised that is no JSONDecodeError: a number int() refuses."""
    digits = sys.get_int_max_str_digits()
    # runs of digits, each looked at once: `\d{4301,}` retried every start of a long run, so
    # 200 runs of 4300 digits took 38 s (ninth probe)
    m = (
        next((r for r in _DIGITS.finditer(text) if len(r.group()) > digits), None)
        if digits
        else None
    )
    if m is not None:
        at = line if line is not None else text.count("\n", 0, m.start()) + 1
        message = f"a number of more than {digits} digits"
    else:
        at, message = line, f"not JSON: {str(e)[:200]}"
    return DataFileError(message, path=path, line=at, hint=hint)


def parse_json(
    text: str,
    path: str,
    line: int | None = None,
    hint: str | None = None,
) -> Any:
    """One JSON document within the bounds. `line`: the line it is in a JSON lines file;
    without it, errors name the line within `text`."""

    def where(offset: int) -> int:
        return line if line is not None else text.count("\n", 0, offset) + 1

    if _raw_count(text) + 1 > MAX_VALUES and _count(text) + 1 > MAX_VALUES:
        raise _too_many(MAX_VALUES, path, line, "the JSON holds")
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
    except (ValueError, OverflowError) as e:  # a number of more than 4300 digits
        raise _unreadable_number(e, path, text, line, hint) from None
    lone = _lone_surrogate(text)
    if lone is not None:
        raise DataFileError(
            f"a lone surrogate {lone[1]} is not text (a pair such as \\ud83d\\ude00 is)",
            path=path,
            line=where(lone[0]),
            hint=hint,
        )
    return value


def _lines(data: str | bytes) -> Iterator[str | bytes]:
    """The lines of `data` split on "\\n" only, one at a time: never all of them at once."""
    nl: Any = "\n" if isinstance(data, str) else b"\n"
    start = 0
    while (end := data.find(nl, start)) >= 0:
        yield data[start:end]
        start = end + 1
    yield data[start:]


def jsonl_values(
    data: str | bytes, path: str, hint: str | None = None
) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of JSON lines. Bytes are decoded a line at
    a time (a large file is never all in memory as text). Split on "\\n" only: a U+2028
    inside a JSON string is text, not a line break. The whole file holds at most `MAX_VALUES`
    values, each line counting one at least (blank ones too: each costs a turn)."""
    budget = MAX_VALUES
    nl = "\n" if isinstance(data, str) else b"\n"
    # the usual case, decided at C speed: within the bound however the strings count
    counted = _raw_count(data) + data.count(nl) + 1 > budget  # type: ignore[arg-type]
    used = 0
    for n, raw in enumerate(_lines(data), start=1):
        line = decode(raw, path, hint, line=n) if isinstance(raw, bytes) else raw
        if counted:
            used += 1 + (_count(line) if line.strip() else 0)
            if used > budget:
                raise _too_many(budget, path, n, "the file holds")
        if line.strip():
            yield n, parse_json(line, path, line=n, hint=hint)


def csv_rows(text: str, path: str, hint: str | None = None) -> list[dict[str, Any]]:
    """The rows of CSV text with a header line, as csv.DictReader gives them (extra cells
    under the key None, missing ones None, blank rows skipped); a field over
    csv.field_size_limit(), a broken or unclosed quote, a column named twice, more than
    `MAX_COLUMNS` columns or more than `MAX_VALUES` cells in the file is a DataFileError
    naming the line."""
    # lines as io.StringIO(text, newline="") gives them, without its copy (4 bytes a character)
    stream: Iterator[str] = (m.group() for m in _CSV_LINE.finditer(text))
    fed = 0  # commas and lines given to csv for the row it is reading: at least its cells
    if text.count(",") + text.count("\n") + 1 > MAX_VALUES:
        # csv makes a whole row before we see it: a row of 60 MiB of commas would be 60 M
        # cells, so what it is given for one row is counted as it goes (commas in quotes
        # too: stricter, never looser)
        lines = stream

        def feed() -> Iterator[str]:
            nonlocal fed
            for piece in lines:
                fed += piece.count(",") + 1
                if fed > MAX_VALUES:
                    raise _too_many_cells(path, reader.line_num + 1)
                yield piece

        stream = feed()
    reader = csv.reader(stream, strict=True)  # a quote left open is an error, not a value
    try:
        header = next(reader, None)
        if header is None:
            return []
        twice = sorted({h for h in header if h and header.count(h) > 1})
        if twice:  # DictReader kept one of the two cells, silently
            raise DataFileError(
                f"the column {twice[0][:80]!r} appears twice in the header",
                path=path,
                line=reader.line_num,
                hint=hint,
            )
        if len(header) > MAX_COLUMNS:
            raise DataFileError(
                f"{len(header):,} columns; openscout reads CSV files of up to {MAX_COLUMNS:,}",
                path=path,
                line=reader.line_num,
                hint=hint,
            )
        width = len(header)
        cells, fed = width, 0
        rows: list[dict[str, Any]] = []
        for fields in reader:
            fed = 0
            if not fields:
                continue
            cells += len(fields)
            if cells > MAX_VALUES or len(fields) > MAX_COLUMNS:
                if cells > MAX_VALUES:
                    raise _too_many_cells(path, reader.line_num)
                raise DataFileError(
                    f"a row of {len(fields):,} cells; openscout reads CSV files of up to "
                    f"{MAX_COLUMNS:,} columns",
                    path=path,
                    line=reader.line_num,
                    hint=hint,
                )
            row: dict[str, Any] = dict(zip(header, fields, strict=False))
            if len(fields) > width:
                row[None] = fields[width:]  # type: ignore[index]
            elif len(fields) < width:
                for key in header[len(fields) :]:
                    row[key] = None
            rows.append(row)
        return rows
    except csv.Error as e:
        message = str(e)
        if "field larger than field limit" in message:
            message = f"a field is longer than {csv.field_size_limit()} characters"
        raise DataFileError(
            f"malformed CSV: {message}", path=path, line=reader.line_num, hint=hint
        ) from e


def _too_many_cells(path: str, line: int) -> DataFileError:
    return DataFileError(
        f"more than {MAX_VALUES:,} cells; openscout reads CSV files up to that",
        path=path,
        line=line,
        hint="split it into smaller files",
    )
