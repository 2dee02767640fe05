"""Shared test helpers: register mock models, write suites, count engine calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openscout.config import Settings
from openscout.engines.loader import open_engine
from openscout.models import ModelSpec, add_model, get_model


def add_mock(settings: Settings, model_id: str, **options: Any) -> None:
    add_model(settings, ModelSpec(id=model_id, engine="mock", options=options), replace=True)


def engine_calls(settings: Settings, model_id: str) -> int:
    """Calls so far on the (cached, shared) engine instance of a registered mock model."""
    return int(open_engine(get_model(settings, model_id), settings).calls)  # type: ignore[attr-defined]


def write_suite(path: Path, n: int, temperature: float = 0.0, judge: str | None = None) -> Path:
    """n tests asking the mock to say a word; replies are scripted in `script_for`."""
    lines = [
        "name: words",
        "prompts:",
        "  - 'Item {{n}}: say {{word}}'",
        f"defaults: {{max_tokens: 16, temperature: {temperature}}}",
        "tests:",
    ]
    for i in range(n):
        lines.append(f"  - vars: {{n: {i}, word: w{i}}}")
        lines.append(f"    assert: [{{type: icontains, value: w{i}}}]")
        if judge:
            lines.append(f"  - vars: {{n: j{i}, word: w{i}}}")
            lines.append(f"    assert: [{{type: llm-rubric, value: 'says w{i}', judge: {judge}}}]")
    path.write_text("\n".join(lines) + "\n")
    return path


def script_for(n: int) -> dict[str, str]:
    """The mock answers right on even items, wrong on odd ones."""
    return {f"Item {i}: say w{i}": (f"ok w{i}" if i % 2 == 0 else "ok nope") for i in range(n)}
