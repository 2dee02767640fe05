"""An LLM-judge rubric with a real bundled model as the judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.engines.loader import clear_cache
from openscout.evals import run_eval
from openscout.evals.assertions import _judge_verdict
from tests.evals.helpers import add_mock


@pytest.mark.real_model
def test_smollm2_judges_a_mock_answer(settings: Settings, tmp_path: Path) -> None:
    clear_cache()
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\njudge: smollm2-135m-instruct\ntests:\n"
        "  - vars: {q: greet}\n"
        "    assert: [{type: llm-rubric, value: 'The answer is a friendly greeting.'}]\n"
    )
    add_mock(settings, "m", script={"greet": "Hello there, nice to meet you!"})
    run = run_eval(settings, str(suite), ["m"])
    rec = run.results["m"].items[0]
    detail = rec["detail"]["assertions"][0]
    assert rec["engine_calls"] == 2  # the answer, then the judge
    assert detail["judge_reply"].strip()
    verdict = _judge_verdict(detail["judge_reply"])
    assert rec["score"] == (verdict if verdict is not None else 0.0)
    again = run_eval(settings, str(suite), ["m"])
    assert again.results["m"].items[0]["engine_calls"] == 0  # judge replies are cached too
    assert again.results["m"].items[0]["cached_calls"] == 2
