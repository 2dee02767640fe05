"""An LLM-judge rubric with a real bundled model as the judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.engines.loader import clear_cache
from openscout.evals import run_eval
from tests.evals.helpers import add_mock


@pytest.mark.real_model
def test_a_real_judge_without_a_verdict_fails_the_item_clearly(
    settings: Settings, tmp_path: Path
) -> None:
    """SmolLM2-135M, asked for PASS or FAIL, restates the rubric. Such a reply was a silent
    FAIL for every answer, the run "done" at 0.000 (40th probe F13): now the rubric is asked
    alone, and a judge with no verdict there either fails the item, saying so."""
    clear_cache()
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\njudge: smollm2-135m-instruct\ntests:\n"
        "  - vars: {q: greet}\n"
        "    assert: [{type: llm-rubric, value: 'The answer is a friendly greeting.'}]\n"
    )
    add_mock(settings, "m", script={"greet": "Hello there, nice to meet you!"})
    rec = run_eval(settings, str(suite), ["m"]).results["m"].items[0]
    assert rec["score"] is None
    assert "gave no PASS/FAIL verdict, even to the rubric alone" in rec["error"]
    assert rec["engine_calls"] == 3  # the answer, the judge, the rubric alone


@pytest.mark.real_model
def test_an_answer_too_long_to_judge_fails_its_item(settings: Settings, tmp_path: Path) -> None:
    """A model padding its wrong answers past the judge's context had them left out of its
    score, and `compare` recommended it (34th probe): they were made misses. But a long right
    answer was then a silent miss too, and junk was recommended (54th probe). The judge
    cannot read it: the item fails, saying so; the run is incomplete and compare waits."""
    clear_cache()
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\ndefaults: {max_tokens: 4000}\njudge: smollm2-135m-instruct\n"
        "tests:\n"
        "  - vars: {q: one}\n"
        "    assert: [{type: llm-rubric, value: 'The answer is polite.'}]\n"
        "  - vars: {q: two}\n"
        "    assert: [{type: llm-rubric, value: 'The answer is short.'}]\n"
    )
    add_mock(settings, "padded", default="nope. " * 4000)  # 12,000 tokens for a 2,048 judge
    run = run_eval(settings, str(suite), ["padded"])
    result = run.results["padded"]
    assert [r["score"] for r in result.items] == [None, None] and result.errors == 2
    assert result.score is None and run.status == "incomplete"
    said = "'smollm2-135m-instruct' has no room to read it in its context after this answer"
    assert all(said in r["error"] for r in result.items), [r["error"] for r in result.items]


@pytest.mark.real_model
def test_whose_fault_an_overflow_is_is_asked_in_tokens(settings: Settings, tmp_path: Path) -> None:
    """The rule compared characters: 600 invisible tag characters (4 tokens each) are shorter
    than a 770-character rubric but overflow the judge, and the fault was the rubric's (35th
    probe). An answer the judge cannot read fails as the answer's length; a rubric that alone
    does not fit stays the suite's fault."""
    clear_cache()
    rubric = "The answer is polite and helpful. " * 23
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\njudge: smollm2-135m-instruct\ntests:\n"
        f"  - vars: {{q: one}}\n    assert: [{{type: llm-rubric, value: '{rubric}'}}]\n"
        f"  - vars: {{q: two}}\n    assert: [{{type: llm-rubric, value: '{'word ' * 3000}'}}]\n"
    )
    add_mock(settings, "tags", script={"one": "\U000e0041" * 600, "two": "fine"})
    first, second = run_eval(settings, str(suite), ["tags"]).results["tags"].items
    assert first["score"] is None and "no room to read it" in first["error"]  # the answer's
    assert second["error"] and "context" in second["error"]  # the rubric's own overflow
    assert "after this answer" not in second["error"]
