"""Issue 17 bounds: wall time and peak RSS of each hostile case (SECURITY.md records the
figures). Run: .venv/bin/python scripts/measure_issue17.py"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openscout import models
from openscout.config import get_settings
from openscout.engines.chat_template import render_chat
from openscout.evals.assertions import run_assertion
from openscout.evals.loading import load_suite

MSGS: Any = [{"role": "user", "content": "hi"}]


def run(name: str, fn: Callable[[], object]) -> None:
    start = time.monotonic()
    try:
        got = fn()
        result = f"ok {str(got)[:70]}" if isinstance(got, tuple) else "ok"
    except Exception as e:
        result = f"{type(e).__name__}: {str(e)[:70]}"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name}: {time.monotonic() - start:.2f} s, peak RSS {rss:.0f} MB -> {result}")


def python(expr: str) -> Any:
    a = {"type": "python", "value": expr, "weight": 1, "threshold": None, "trusted": True}
    return run_assertion(a, "o", {}, None)


def main() -> None:
    os.environ["OPENSCOUT_HOME"] = tempfile.mkdtemp()
    settings = get_settings()
    settings.ensure()
    lines = ["l0: &l0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    settings.models_file.write_text("version: 1\n" + "\n".join(lines) + "\nmodels: []\n")
    run("billion-laughs models.yaml", lambda: models.list_models(settings))
    d = Path(tempfile.mkdtemp())
    huge = d / "huge.yaml"
    huge.write_text(
        "prompts: ['{{q}}']\ntests:\n"
        + "".join(
            f"  - {{vars: {{q: 'q{i}'}}, assert: [{{type: contains, value: a}}]}}\n"
            for i in range(100_000)
        )
    )
    run("1e5-test suite, limit 5", lambda: load_suite(huge, limit=5))
    mega = d / "mega.yaml"
    mega.write_text(
        "prompts: ['{{q}}']\ntests:\n" + "".join(f"  - vars: {{q: {i}}}\n" for i in range(10**6))
    )
    run("1e6-test suite, no limit", lambda: load_suite(mega))
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    run("nested range(100000) template", lambda: render_chat(loops, MSGS))
    run("center(2*10**9) template", lambda: render_chat("{{ 'x'|center(2*10**9) }}", MSGS))
    run("'x' * 10**10 template", lambda: render_chat("{{ 'x' * 10**10 }}", MSGS))
    run("python busy loop (trusted)", lambda: python("sum(range(10**12))"))
    run("python 10 GB string (trusted)", lambda: python("len('x'*10**10)"))


if __name__ == "__main__":
    main()
