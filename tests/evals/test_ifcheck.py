"""Every instruction checker: a response that follows it and one that does not."""

from __future__ import annotations

from typing import Any

import pytest

from openscout.evals.items import Item
from openscout.evals.scoring import score_generation
from openscout.evals.tasks.ifcheck import CHECKERS, count_sentences, count_words, run_checks

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "word_count",
        {"relation": "at least", "n": 5},
        "one two three four five",
        "one two three four",
    ),
    ("word_count", {"relation": "at most", "n": 3}, "only three words", "this has four words"),
    (
        "sentence_count",
        {"relation": "at least", "n": 2},
        "It rains. We stay in!",
        "It rains all day.",
    ),
    ("sentence_count", {"relation": "at most", "n": 1}, "Just one sentence.", "One. Two."),
    (
        "forbidden_words",
        {"words": ["river", "candle"]},
        "A quiet lake at dawn.",
        "The River flows.",
    ),
    (
        "keywords",
        {"words": ["garden", "pepper"]},
        "In the garden, pepper grows.",
        "In the garden only.",
    ),
    ("json_format", {}, '{"a": [1, 2]}', "a: 1"),
    ("json_format", {}, '```json\n{"a": 1}\n```', '{"a": 1'),
    ("bullet_count", {"n": 2}, "* one\n* two", "* one\n* two\n* three"),
    ("bullet_count", {"n": 3}, "- a\n- b\n- c", "a, b and c"),
    ("lowercase", {}, "all quiet here.", "All quiet here."),
    ("uppercase", {}, "ALL QUIET HERE!", "ALL QUIET hERE!"),
    ("no_commas", {}, "No commas at all.", "Well, one comma."),
    ("start_with", {"phrase": "Here is"}, "here is my note.", "My note: here is."),
    ("end_with", {"phrase": "The end."}, "A story. The end.", "The end. A story."),
    ("title", {}, "<<Bees>>\nBees are busy.", "Bees\nBees are busy."),
    ("placeholders", {"n": 2}, "Dear [name], at [address].", "Dear [name], at home."),
    ("paragraph_count", {"n": 2}, "First part.\n***\nSecond part.", "First part.\n\nSecond part."),
    ("postscript", {"marker": "P.S."}, "Hello.\nP.S. see you", "Hello. See you."),
    ("quotation", {}, '"All of it quoted."', 'Half "quoted".'),
]


@pytest.mark.parametrize(("kind", "params", "good", "bad"), CASES)
def test_checker_passes_and_fails(kind: str, params: dict[str, Any], good: str, bad: str) -> None:
    check = CHECKERS[kind].check
    assert check(good, **params) is True
    assert check(bad, **params) is False


def test_every_checker_has_a_case_and_a_description() -> None:
    assert len(CHECKERS) >= 10
    assert {c[0] for c in CASES} == set(CHECKERS)
    for kind, params, _, _ in CASES:
        assert CHECKERS[kind].describe(**params)


def test_counting_rules() -> None:
    assert count_words("It's 3 o'clock, isn't it?") == 5
    assert count_sentences("One. Two! Three? ") == 3
    assert count_sentences("") == 0


def test_item_score_is_strict_and_inst_level_is_partial() -> None:
    item = Item(
        id="x",
        kind="generate",
        prompt="p",
        check="ifeval",
        check_data={"instructions": [{"kind": "lowercase"}, {"kind": "no_commas"}]},
    )
    both = score_generation(item, "all fine here")
    one = score_generation(item, "all fine, here")
    assert both.value == 1.0 and both.metrics["inst_level"] == 1.0
    assert one.value == 0.0 and one.metrics["inst_level"] == 0.5
    assert run_checks("ALL", [{"kind": "lowercase"}]) == [False]
