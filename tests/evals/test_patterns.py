"""A suite's regular expression that backtracks for ever fails its item, not the run
(independent probe, issue 17: `^(a|aa)+$` hung `openscout eval`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import PatternError, PatternTimeoutError
from openscout.evals import patterns, run_eval
from tests.evals.helpers import add_mock

EVIL = "^(a|aa)+$"
TEXT = "a" * 40 + "b"


def test_a_catastrophic_pattern_times_out_with_a_clear_error() -> None:
    with pytest.raises(PatternTimeoutError, match="ran past"):
        patterns.search(EVIL, TEXT)
    assert patterns.search(r"a+b$", TEXT) and patterns.findall(r"a{20}", TEXT) == ["a" * 20] * 2
    assert patterns.sub(r"a", "", TEXT) == "b"


NESTED = "(?:" * 5000 + "a" + ")" * 5000  # Python's stack runs out compiling it


@pytest.mark.parametrize("bad", ["(x", NESTED, "a{2,1}"])
def test_a_pattern_that_does_not_compile_is_a_pattern_error(bad: str) -> None:
    """At load (`check`) and, for an item stored before the check, at scoring: never
    "unexpected error: RecursionError" out of `eval` (fifteenth probe)."""
    with pytest.raises(PatternError, match="bad regular expression"):
        patterns.check(bad)
    for match in (
        lambda: patterns.search(bad, TEXT),
        lambda: patterns.findall(bad, TEXT),
        lambda: patterns.sub(bad, "", TEXT),
    ):
        with pytest.raises(PatternError, match="bad regular expression"):
            match()
    patterns.check(r"(a|b)+\d{2}")  # a good one passes


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


@pytest.mark.parametrize(
    "pattern",
    [
        "(?:x{65535}){65535}",
        "(?:a{1000}){1000}",
        "(?:a{400}b){300}",
        # inside lookarounds, atomic groups and conditionals too (fourth probe)
        "(?=(?:x{65535}){65535})",
        "(?<!(?:a{1000}){1000})",
        "(?>(?:a{1000}){1000})",
        "(a)?(?(1)(?:b{1000}){1000}|c)",
        # verbose mode: `regex` reads x{6 5535} as x{65535} (fifth probe)
        "(?x)(?:x{6 5535}){6 5535}",
    ],
)
def test_a_pattern_that_unrolls_too_far_is_refused_before_compiling(pattern: str) -> None:
    """`(?:x{65535}){65535}` took 2.3 GB and 16 s to compile (third probe)."""
    with pytest.raises(PatternTimeoutError, match="positions"):
        patterns.search(pattern, "xxx")


@pytest.mark.parametrize("pattern", ["a{500}b{500}", r"[0-9]{1,3}(?:,[0-9]{3})*", r"\p{L}+"])
def test_ordinary_counted_patterns_still_match(pattern: str) -> None:
    patterns.search(pattern, "1,000 aaa")


def test_a_suite_with_such_a_pattern_is_refused_at_load(tmp_path: Path) -> None:
    from openscout.errors import DataFileError
    from openscout.evals.loading import load_suite

    f = tmp_path / "s.yaml"
    f.write_text(
        "name: s\nprompts: [hi]\ntests:\n  - assert:\n"
        "      - {type: regex, value: '(?:x{65535}){65535}'}\n"
    )
    with pytest.raises(DataFileError, match="positions"):
        load_suite(f)


def test_an_answer_that_runs_a_pattern_past_its_limit_is_a_miss() -> None:
    """The answer decides whether a suite's pattern runs long: that failed the item and left
    it out of the score, a miss a model's answer could hide (34th probe). It scores 0, even
    under `not-regex`, with the reason."""
    from openscout.evals.assertions import run_assertion

    for kind in ("regex", "not-regex"):
        score, detail = run_assertion({"type": kind, "value": EVIL}, TEXT, {}, None)
        assert score == 0.0 and "ran past" in detail["unscorable"], (kind, detail)
    assert run_assertion({"type": "not-regex", "value": EVIL}, "b", {}, None)[0] == 1.0
