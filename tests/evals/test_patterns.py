"""A suite's regular expression that backtracks for ever fails its item, not the run
(independent probe, issue 17: `^(a|aa)+$` hung `openscout eval`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import PatternTimeoutError
from openscout.evals import patterns, run_eval
from tests.evals.helpers import add_mock

EVIL = "^(a|aa)+$"
TEXT = "a" * 40 + "b"


def test_a_catastrophic_pattern_times_out_with_a_clear_error() -> None:
    with pytest.raises(PatternTimeoutError, match="ran past"):
        patterns.search(EVIL, TEXT)
    assert patterns.search(r"a+b$", TEXT) and patterns.findall(r"a{20}", TEXT) == ["a" * 20] * 2
    assert patterns.sub(r"a", "", TEXT) == "b"


def test_an_eval_with_such_an_assertion_finishes(settings: Settings, tmp_path: Path) -> None:
    suite = tmp_path / "evil.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\n"
        "tests:\n"
        f"  - vars: {{q: one}}\n    assert: [{{type: regex, value: '{EVIL}'}}]\n"
        "  - vars: {q: two}\n    assert: [{type: contains, value: a}]\n"
    )
    add_mock(settings, "m", default=TEXT)
    run = run_eval(settings, str(suite), ["m"])
    result = run.results["m"]
    assert result.n + result.errors == 2


def test_a_json_schema_is_checked_in_a_limited_child_without_remote_refs(tmp_path: Path) -> None:
    """jsonschema runs `pattern` with `re` and would fetch http/file `$ref`s (second probe)."""
    from openscout.evals.assertions import check_json_schema

    assert check_json_schema({"type": "object", "required": ["a"]}, {"a": 1}) is None
    assert "required" in (check_json_schema({"type": "object", "required": ["a"]}, {}) or "")
    stopped = check_json_schema({"type": "string", "pattern": EVIL}, TEXT)
    assert stopped and "stopped" in stopped
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "integer"}')
    for ref in ("http://127.0.0.1:9/s.json", secret.as_uri()):
        reason = check_json_schema({"$ref": ref}, "x")
        assert reason and "could not be checked" in reason
