"""Every YAML loader is bounded: alias bombs, self-referencing aliases, oversized files and
huge suites are refused (or, with a limit, read only as far as needed) before memory grows."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from openscout import models, yamlfile
from openscout.catalog.loader import load_file
from openscout.config import Settings
from openscout.errors import DataFileError
from openscout.evals.loading import load_suite


def _bomb(levels: int = 9) -> str:
    """A billion laughs: 10**levels strings from a few hundred bytes."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def _bounded(fn: object) -> DataFileError:
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(DataFileError) as e:
            fn()  # type: ignore[operator]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 5 and peak < 50 * 2**20
    return e.value


def test_alias_bomb_in_models_yaml(settings: Settings) -> None:
    settings.ensure()
    settings.models_file.write_text("version: 1\n" + _bomb() + "models: []\n")
    err = _bounded(lambda: models.list_models(settings))
    assert "alias" in err.message and err.line


def test_alias_bomb_in_a_suite(tmp_path: Path) -> None:
    p = tmp_path / "suite.yaml"
    p.write_text(
        _bomb()
        + "prompts: [hi]\ntests:\n  - vars: {x: *l8}\n    assert: [{type: contains, value: a}]\n"
    )
    err = _bounded(lambda: load_suite(p))
    assert f"{p}:" in str(err) and "alias" in err.message


def test_alias_bomb_in_a_catalog_file(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("version: 2\n" + _bomb() + "models: []\n")
    _bounded(lambda: load_file(p))


def test_long_string_repeated_by_aliases() -> None:
    text = "s: &s " + "y" * 200_000 + "\nl: [" + ", ".join(["*s"] * 200) + "]\n"
    _bounded(lambda: yamlfile.load(text, "f.yaml"))


def test_alias_inside_its_own_anchor() -> None:
    with pytest.raises(DataFileError, match="contains it"):
        yamlfile.load("a: &a [1, *a]\n", "f.yaml")


def test_a_few_honest_aliases_still_load() -> None:
    data = yamlfile.load("d: &d {max_tokens: 8}\na: *d\nb: *d\nc: {<<: *d, x: 1}\n", "f")
    assert data["a"] == data["b"] == {"max_tokens": 8} and data["c"]["x"] == 1


def test_oversized_file_refused_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    with p.open("wb") as f:
        f.truncate(yamlfile.MAX_BYTES + 1)  # sparse: nothing to read, the size says it all
    with pytest.raises(DataFileError, match="up to"):
        yamlfile.load_file(p)


def test_limit_reads_only_the_tests_it_needs(tmp_path: Path) -> None:
    n = 20_000
    p = tmp_path / "huge.yaml"
    p.write_text(
        "prompts: ['{{q}}']\ntests:\n"
        + "".join(
            f"  - {{vars: {{q: 'q{i}'}}, assert: [{{type: contains, value: a}}]}}\n"
            for i in range(n)
        )
    )
    tracemalloc.start()
    try:
        suite = load_suite(p, limit=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [i.prompt for i in suite.items] == ["q0", "q1", "q2", "q3", "q4"]
    assert peak < 20 * 2**20  # the whole file composed takes about 60 MB


def test_models_yaml_parsed_once_while_unchanged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ensure()
    settings.models_file.write_text("version: 1\nmodels: []\n")
    calls = []
    real = models._parse_file
    monkeypatch.setattr(models, "_parse_file", lambda p: calls.append(p) or real(p))
    for _ in range(5):
        models.list_models(settings)
    assert len(calls) == 1
    settings.models_file.write_text("version: 1\nmodels: []  # changed\n")
    models.list_models(settings)
    assert len(calls) == 2


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "{a: " * 900 + "1" + "}" * 900,
        "a:\n" + "".join("  " * i + "-\n" for i in range(1, 3000)),
    ],
    ids=["flow-mapping", "block-sequence"],
)
def test_deep_nesting_is_a_clear_error(text: str) -> None:
    """900 nested mappings gave RecursionError ('unexpected error'), and in models.yaml a 500
    on every route (third probe)."""
    with pytest.raises(DataFileError, match="nests deeper"):
        yamlfile.load(text, "deep.yaml")


def test_variables_cannot_multiply_a_suite_past_its_bound(tmp_path: Path) -> None:
    """`{{a}}` 500 times with a 256 KiB `a`: a 265 KB file asked for a 128 MiB prompt and ran
    out of memory (fourth probe): a billion laughs through variables instead of aliases."""
    big = "x" * 256 * 1024
    f = tmp_path / "s.yaml"
    f.write_text(
        f"prompts: ['{'{{a}}' * 500}']\nassert: [{{type: contains, value: x}}]\n"
        f"tests:\n  - vars: {{a: '{big}'}}\n",
        encoding="utf-8",
    )
    start = time.monotonic()
    with pytest.raises(DataFileError, match="once its variables are filled in"):
        load_suite(f)
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("where", ["prompts", "schema"])
def test_many_texts_under_the_bound_cannot_add_up_past_the_suites(
    tmp_path: Path, where: str
) -> None:
    """400 prompts, or a schema list of 1000 strings, each `{{a}}` x 15 with a 256 KiB `a`:
    each text under 4 MiB, 1.5-3.75 GiB in all, ran eval out of memory (fifth probe)."""
    big = "x" * 256 * 1024
    text = "{{a}}" * 15
    if where == "prompts":
        body = "prompts: [" + ", ".join([f"'{text}'"] * 400) + "]\n"
        body += "assert: [{type: contains, value: x}]\n"
    else:
        body = "prompts: [hi]\nassert:\n  - type: json-schema\n    value: {enum: ["
        body += ", ".join([f"'{text}'"] * 1000) + "]}\n"
    f = tmp_path / "s.yaml"
    f.write_text(body + f"tests:\n  - vars: {{a: '{big}'}}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="once their variables are filled in"):
        load_suite(f)
