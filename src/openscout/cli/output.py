"""Printing helpers shared by the CLI modules: JSON for scripts, Rich for people.

Text from outside (model output, catalog and suite strings, model ids, stored runs, error
messages quoting any of them) reaches the terminal only through `inert` (its control
characters made visible, so no escape sequence can set the title, write the clipboard with
OSC 52 or move the cursor) and as Rich `Text` (`plain`), or markup-escaped (`esc`) where it
sits inside a markup string, so that `[bold]` in a model's answer stays those characters.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

console = Console()
err_console = Console(stderr=True)

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


def plain(value: object, style: str = "") -> Text:
    """Untrusted text as a Rich `Text`: no markup, emoji codes or highlighting read from it."""
    return Text(inert(value), style=style)


def esc(value: object) -> str:
    """Untrusted text to put inside a markup string: inert, and `[...]` escaped."""
    return escape(inert(value))


def print_json(data: Any) -> None:
    out = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", out) + "\n")


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


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


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
