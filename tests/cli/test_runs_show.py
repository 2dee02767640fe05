"""`openscout runs show` explains each failed item (which assertion, and why) and shows the
real time of answers generated in a batch, in an 80-column terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from openscout.evals.explain import failure_reasons

SUITE = """\
name: support
version: "1"
prompts:
  - "{{message}}"
defaults: {max_tokens: 32}
tests:
  - id: parcel
    vars: {message: "Where is my parcel?"}
    assert:
      - {type: icontains, value: parcel}
  - id: refund
    vars: {message: "I want a refund"}
    assert:
      - {type: contains, value: "refund policy", weight: 2}
      - {type: max-length, value: 10}
      - {type: not-icontains, value: sorry}
"""

# The mock answers these two prompts from a script, word by word with a delay.
SCRIPT = {
    "Where is my parcel?": "Your parcel is on its way",
    "I want a refund": "Sorry, refunds take a week",
}
DELAY_S = 0.02


@pytest.fixture
def run(settings, cli80):  # type: ignore[no-untyped-def]
    settings.ensure()
    options = {"script": SCRIPT, "delay_s": DELAY_S, "batch": True}
    models = [{"id": "support-bot", "engine": "mock", "options": options}]
    settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": models}))
    return cli80


def _run_id(out: str) -> str:
    found = re.search(r"run (\d\S+)", out)
    assert found, out
    return found.group(1)


def test_runs_show_says_which_assertion_failed_and_why(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    rid = _run_id(run("eval", "--suite", str(suite), "-m", "support-bot"))
    out = run("runs", "show", rid)
    assert "Why items did not pass" in out
    why = out[out.index("Why items did not pass") :]
    assert "support-bot refund:" in why and "support-bot parcel:" not in why
    # each failed assertion with its line in the suite file, what it asked and what it got
    assert "contains (line 14): 'refund policy' was not found, weight 2" in why
    assert "max-length (line 15): 26 characters, at most 10 allowed" in why
    assert "not-icontains (line 16): 'sorry' was found" in why
    assert "weighted score 0.00, needed 1.00" in why
    # the same facts as --json holds
    data = json.loads(run("runs", "show", rid, "--json"))
    refund = next(i for i in data["items"] if i["item_id"] == "refund")
    assert [a["score"] for a in refund["detail"]["assertions"]] == [0.0, 0.0, 0.0]
    assert failure_reasons(refund)[-1] == "weighted score 0.00, needed 1.00"


def test_generated_items_show_their_time(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    rid = _run_id(run("eval", "--suite", str(suite), "-m", "support-bot"))
    data = json.loads(run("runs", "show", rid, "--json"))
    # answered in one batch (the mock's batch path): each item still carries the time its
    # answer took, at least the mock's delay for each word of the shorter answer
    assert all(i["engine_calls"] == 1 for i in data["items"])
    assert all(i["latency_s"] >= DELAY_S * 5 / 2 for i in data["items"]), data["items"]
    table = run("runs", "show", rid)
    rows = [line for line in table.splitlines() if "support-bot" in line and "│" in line]
    assert rows and all(not line.rstrip(" │").endswith("0.00") for line in rows), table
    # asked again: the answers come from the cache, and the table says so
    rid2 = _run_id(run("eval", "--suite", str(suite), "-m", "support-bot", "--no-resume"))
    assert "cached" in run("runs", "show", rid2)


def test_built_in_items_say_what_was_expected() -> None:
    item = {
        "score": 0.0,
        "error": None,
        "output": "The answer is 41",
        "detail": {"extracted": 41.0},
        "input": {"item": {"check": "number", "target": 42, "kind": "generate"}},
    }
    assert failure_reasons(item) == ["read 41, expected 42"]
    choice = {
        "score": 0.0,
        "error": None,
        "detail": {"pick": 1, "method": "loglikelihood"},
        "input": {
            "item": {"check": "choice", "target": 0, "kind": "choice", "choices": ["a", "b"]}
        },
    }
    assert failure_reasons(choice) == ["most likely option 'b', right one 'a'"]
    assert failure_reasons({**item, "score": 1.0}) == []
    assert failure_reasons({**item, "error": "engine down\nmore"}) == ["engine down"]


def test_an_answer_the_judge_refused_is_not_explained_as_a_fail() -> None:
    """`runs show` said "the judge said FAIL" where the judge had refused the answer and said
    nothing (37th probe, low)."""
    refused = "the judge refused the answer: http://j/v1 answered HTTP 400: filtered"
    item = {
        "score": 0.0,
        "error": None,
        "output": "BLOCKED",
        "detail": {
            "assertions": [
                {"type": "llm-rubric", "score": 0.0, "weight": 1.0, "line": 5,
                 "unscorable": refused, "judge_reply": ""},
            ]
        },
        "input": {"item": {"check": "assertions", "spec": {"assertions": [{"value": "kind"}]}}},
    }  # fmt: skip
    (reason,) = failure_reasons(item)
    assert refused in reason and "said FAIL" not in reason
