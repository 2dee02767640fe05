"""Comparison reports: the ranked table (tables.py), Plotly chart specs (charts.py), a
self-contained offline HTML page (html.py), Markdown (markdown.py) and JSON.

`write_report(result, out_dir)` writes report.html, report.md and report.json atomically
and returns their paths. `result` is the CompareResult openscout.compare.compare() returns;
report.json is its `to_json()`.
"""

from __future__ import annotations

import json
from pathlib import Path

from openscout.comparison import CompareResult
from openscout.errors import ConfigError
from openscout.outfile import check_target, make_folder, try_writing, write_text

HINT = "choose another folder with --out"
FILES = {"html": "report.html", "markdown": "report.md", "json": "report.json"}


def check_folder(out_dir: str | Path) -> None:
    """Make the report folder and try writing in it now, before a comparison of minutes: a bad
    --out was said only after the whole run (twentieth probe)."""
    out = Path(out_dir).expanduser()
    make_folder(out, HINT)
    try_writing(out, HINT)
    for name in FILES.values():
        check_target(out / name, HINT)


def new_folder(parent: Path, stem: str) -> Path:
    """A folder under `parent` made now and by no one else: `stem`, else `stem-2`, ... Two
    comparisons ending in the same second wrote one folder, and the first's report, the one
    its command pointed to, was replaced by the second's (42nd probe)."""
    make_folder(parent, HINT)
    for n in range(1, 1000):
        folder = parent / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
        except OSError as e:
            raise ConfigError(f"cannot create the folder {folder}: {e.strerror}", hint=HINT) from e
    raise ConfigError(f"{parent} holds 999 reports named {stem}", hint=HINT)


def write_report(result: CompareResult, out_dir: str | Path) -> dict[str, Path]:
    from openscout.report.html import render_html
    from openscout.report.markdown import render_markdown

    out = Path(out_dir).expanduser()
    make_folder(out, HINT)
    paths = {kind: out / name for kind, name in FILES.items()}
    write_text(paths["html"], render_html(result), HINT)  # each whole, never half a report
    write_text(paths["markdown"], render_markdown(result), HINT)
    report_json = json.dumps(result.to_json(), indent=2, default=str, ensure_ascii=False)
    write_text(paths["json"], report_json, HINT)
    return paths
