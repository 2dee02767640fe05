"""Comparison reports: the ranked table (tables.py), Plotly chart specs (charts.py), a
self-contained offline HTML page (html.py), Markdown (markdown.py) and JSON.

`write_report(result, out_dir)` writes report.html, report.md and report.json atomically
and returns their paths. `result` is the CompareResult openscout.compare.compare() returns;
report.json is its `to_json()`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from openscout.comparison import CompareResult
from openscout.errors import ConfigError


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # never a half-written report


def write_report(result: CompareResult, out_dir: str | Path) -> dict[str, Path]:
    from openscout.report.html import render_html
    from openscout.report.markdown import render_markdown

    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(
            f"cannot create the report folder {out}: {e.strerror}",
            hint="choose another folder with --out",
        ) from e
    paths = {
        "html": out / "report.html",
        "markdown": out / "report.md",
        "json": out / "report.json",
    }
    _write(paths["html"], render_html(result))
    _write(paths["markdown"], render_markdown(result))
    _write(paths["json"], json.dumps(result.to_json(), indent=2, default=str, ensure_ascii=False))
    return paths
