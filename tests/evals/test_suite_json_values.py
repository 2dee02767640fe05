"""A suite's values are JSON data, and its JSON schemas are checked within bounds: a YAML date
stopped `eval` with "unexpected error", and one draft-04 schema took minutes to check
(fifteenth probe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals import assertions
from openscout.evals.items import items_json
from openscout.evals.loading import load_suite


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def _refused_at_line_4(tmp_path: Path, kind: str, value: object, words: str) -> None:
    """A suite of one test whose one assertion (on line 4) is refused with `words`."""
    path = _suite(
        tmp_path,
        f"prompts: [hi]\ntests:\n  - assert:\n      - type: {kind}\n"
        f"        value: {json.dumps(value)}\n",
    )
    with pytest.raises(DataFileError, match=words) as e:
        load_suite(path)
    assert e.value.line == 4


def test_a_yaml_date_is_the_text_written(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "prompts: ['Due {{d}}?']\n"
        "tests:\n"
        "  - vars: {d: 2024-01-31}\n"
        "    assert:\n"
        "      - type: equals\n"
        "        value: {due: 2024-01-31, at: 2024-01-31 10:00:00}\n",
    )
    (item,) = load_suite(path).items
    assert item.prompt == "Due 2024-01-31?"
    assert item.check_data["vars"] == {"d": "2024-01-31"}
    value = item.check_data["assertions"][0]["value"]
    assert value == {"due": "2024-01-31", "at": "2024-01-31 10:00:00"}  # as written (YAML 1.2)
    json.loads(items_json([item]))  # every item is hashed and stored as JSON


@pytest.mark.parametrize(
    ("where", "what"),
    [
        ("vars: {d: !!binary aGk=}", "binary data"),
        ("vars: {d: !!set {a, b}}", "a set"),
        ("vars: {d: {? !!binary aGk= : x}}", "mapping key"),
    ],
)
def test_values_that_are_not_json_are_refused_naming_the_line(
    tmp_path: Path, where: str, what: str
) -> None:
    path = _suite(tmp_path, f"prompts: [hi]\ntests:\n  - {where}\n")
    with pytest.raises(DataFileError, match=what) as e:
        load_suite(path)
    assert e.value.line == 3


@pytest.mark.timeout(60)  # a hang guard: the check ran about four minutes before
def test_a_schema_too_costly_to_check_is_refused_in_seconds(tmp_path: Path) -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "enum": [{"a": i} for i in range(12_000)],  # uniqueItems of objects: quadratic
    }
    _refused_at_line_4(tmp_path, "json-schema", schema, "schema's own check was stopped")


def test_each_schema_is_checked_once_and_all_within_one_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[dict] = []
    real = assertions.schema_problem
    monkeypatch.setattr(assertions, "schema_problem", lambda s: checked.append(s) or real(s))
    tests = "".join(
        f"  - vars: {{t: {t}}}\n    assert:\n      - type: json-schema\n"
        "        value: {type: object, title: '{{t}}'}\n"
        for t in ["a", "b", "a", "a"]
    )
    path = _suite(tmp_path, "prompts: [hi]\ntests:\n" + tests)
    assert len(load_suite(path).items) == 4
    assert [s["title"] for s in checked] == ["a", "b"]

    monkeypatch.setattr(assertions, "SCHEMAS_CHECK_BUDGET_S", 0.0)
    with pytest.raises(DataFileError, match="took more than 0 s to check") as e:
        load_suite(path)
    assert e.value.line == 9  # the second schema (its `assert` entry): the first spent it


def test_an_invalid_schema_is_still_named(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "prompts: [hi]\ntests:\n  - assert:\n      - type: json-schema\n"
        "        value: {type: 12}\n",
    )
    with pytest.raises(DataFileError, match="invalid schema"):
        load_suite(path)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"$schema": [1]}, r"`\$schema` must be the text"),
        ({"$schema": 5}, r"`\$schema` must be the text"),
        ({"type": "string", "pattern": "(?:" * 5000 + "a" + ")" * 5000}, "RecursionError"),
    ],
)
def test_a_schema_that_breaks_the_checker_is_named(tmp_path: Path, value: dict, words: str) -> None:
    """'unexpected error: TypeError: unhashable type" and RecursionError out of `eval` at load
    (fifteenth probe)."""
    _refused_at_line_4(tmp_path, "json-schema", value, words)


def test_a_regex_assertion_nested_too_deeply_is_refused_at_load(tmp_path: Path) -> None:
    _refused_at_line_4(tmp_path, "regex", "(?:" * 5000 + "a" + ")" * 5000, "nests too deeply")


def test_an_invalid_schema_is_named_in_few_words(tmp_path: Path) -> None:
    """A `type` list of objects: jsonschema's refusal quoted the list whole (fifteenth
    probe: 50 KB)."""
    path = _suite(
        tmp_path,
        "prompts: [hi]\ntests:\n  - assert:\n      - type: json-schema\n"
        f"        value: {json.dumps({'type': [{'a': i, 'b': 'x' * 200} for i in range(300)]})}\n",
    )
    with pytest.raises(DataFileError) as e:
        load_suite(path)
    assert "invalid schema" in str(e.value) and len(str(e.value)) < 800
