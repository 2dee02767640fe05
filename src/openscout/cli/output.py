"""Printing helpers shared by the CLI modules: JSON for scripts, Rich for people.

Text from outside (model output, catalog and suite strings, model ids, stored runs, error
messages quoting any of them) reaches the terminal only through `inert` (its control
characters made visible, so no escape sequence can set the title, write the clipboard with
OSC 52 or move the cursor) and as Rich `Text` (`plain`), or markup-escaped (`esc`) where it
sits inside a markup string, so that `[bold]` in a model's answer stays those characters.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from openscout.units import human_bytes  # noqa: F401  (re-exported for the CLI modules)

# no emoji codes: text from models, the Hub and catalogs reaches markup strings through
# esc(), which escapes `[...]` only, and `:thumbs_up:` there became an emoji (23rd probe)
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

# C0 controls but tab and newline (ESC starts CSI/OSC/DCS sequences, BEL ends OSC), DEL, C1
# (0x9b is an 8-bit CSI, 0x9d an OSC) and the bidirectional controls that reorder what a
# line seems to say (Trojan Source)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# json.dumps already writes C0 as \u00XX; these it would write raw
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    n = ord(m.group())
    if n == 0x0D:  # a carriage return can only overwrite what the line showed
        return ""
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def inert(value: object) -> str:
    """`value` as text a terminal shows and never obeys: control characters as `\\x1b` etc."""
    return _UNSAFE.sub(_visible, str(value))


class InertFormatter(logging.Formatter):
    """Log lines as a terminal shows them and never obeys: an upstream's error text or a
    template's message in a log line can hold escape sequences (third probe: the server's
    log set the window title and wrote the clipboard)."""

    def format(self, record: logging.LogRecord) -> str:
        return inert(super().format(record))


def log_inert_to_stderr(level: int = logging.WARNING) -> None:
    """Every logger (uvicorn's too, when started with log_config=None) to stderr, inert."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(InertFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # configured before, maybe
        own = logging.getLogger(name)
        own.handlers[:] = []
        own.propagate = True


def plain(value: object, style: str = "") -> Text:
    """Untrusted text as a Rich `Text`: no markup, emoji codes or highlighting read from it."""
    return Text(inert(value), style=style)


def esc(value: object) -> str:
    """Untrusted text to put inside a markup string: inert, and `[...]` escaped."""
    return escape(inert(value))


def print_json(data: Any) -> None:
    # strict JSON: a model's 400-digit answer became `Infinity`, which jq and JSON.parse
    # refuse along with the whole document (33rd probe); such numbers are written as null
    out = json.dumps(_finite(data), indent=2, default=str, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", out) + "\n")


def _finite(value: Any) -> Any:
    """The value with every float that JSON cannot carry (infinities, NaN) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_error(message: str, hint: str | None = None) -> None:
    # messages quote user and model input: never markup
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", inert(message)), highlight=False, soft_wrap=True
    )
    if hint:
        err_console.print(
            Text.assemble(("hint:", "yellow"), " ", inert(hint)), highlight=False, soft_wrap=True
        )


def fmt(v: Any, digits: int = 2, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def progress_bar(transient: bool = False) -> Any:
    """The one Rich progress bar style of the CLI (on stderr, so --json stdout stays clean)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    )


# -- tables that never cut what the reader needs -------------------------------------------

MIN_WRAP = 10  # a column allowed to wrap still needs this many cells to be readable


def _cell_text(cell: Any) -> Text:
    if isinstance(cell, Text):
        return cell
    return Text.from_markup(cell) if isinstance(cell, str) else Text(str(cell))


def _widths(col: Any) -> tuple[int, int]:
    """(natural width, longest word) of a column: its widest line, and its widest unbreakable
    run, which a wrapping column must still hold whole (a URL inside a quote)."""
    natural = word = 0
    for cell in [col.header, *col.cells]:
        for line in _cell_text(cell).plain.split("\n"):
            natural = max(natural, Text(line).cell_len)
            word = max([word, *(Text(w).cell_len for w in line.split())])
    return natural, word


def _minimum(col: Any, wrap: set[str]) -> int:
    natural, word = _widths(col)
    return max(min(natural, MIN_WRAP), word) if col.header in wrap else natural


def _needed(cols: list[Any], wrap: set[str]) -> int:
    """Cells a table needs with its whole columns whole and the others as narrow as their
    longest word allows (a space each side of each cell, and the rules between)."""
    return 3 * len(cols) + 1 + sum(_minimum(c, wrap) for c in cols)


def _share_out(cols: list[Any], wrap: set[str], width: int) -> None:
    """Fix each wrapping column's width: its minimum, plus a share of what is left."""
    wrapping = [c for c in cols if c.header in wrap]
    spare = width - _needed(cols, wrap)
    for col in wrapping:
        natural, _ = _widths(col)
        low = _minimum(col, wrap)
        extra = min(natural - low, spare // len(wrapping)) if spare > 0 else 0
        col.width = low + max(extra, 0)


def print_table(
    table: Any, *, wrap: tuple[str, ...] = (), drop: tuple[str, ...] = (), width: int | None = None
) -> None:
    """Print a Rich table so that no id, URL or number is ever cut: every column but those
    named in `wrap` (free text, wrapped between words) is kept whole; when that is too wide
    for the terminal the columns in `drop` go, in order; when it still is, each row is
    printed as lines of 'column: value' (a long URL then runs on past the edge, whole)."""
    width = width or console.width
    wrap_set = set(wrap)
    for col in table.columns:
        whole = col.header not in wrap_set
        col.no_wrap, col.overflow = whole, "ignore" if whole else "fold"
    for name in drop:
        if _needed(table.columns, wrap_set) <= width:
            break
        table.columns = [c for c in table.columns if c.header != name]
    if _needed(table.columns, wrap_set) > width:
        _print_vertical(table)
        return
    _share_out(table.columns, wrap_set, width)
    console.print(table)


def _print_vertical(table: Any) -> None:
    if table.title:
        console.print(_cell_text(table.title), style="bold", soft_wrap=True)
    cols = [(c.header, list(c.cells)) for c in table.columns]
    for i in range(table.row_count):
        console.print(Text.assemble(("- ", "dim"), _cell_text(cols[0][1][i])), soft_wrap=True)
        for header, cells in cols[1:]:
            value = _cell_text(cells[i])
            if not value.plain.strip():
                continue
            lines = value.split("\n")
            console.print(Text.assemble((f"  {header}: ", "dim"), lines[0]), soft_wrap=True)
            for line in lines[1:]:
                console.print(Text.assemble("    ", line), soft_wrap=True)
