"""Scored by log-likelihood, a multiple-choice item is only its context and its options: the
`alphabet` items all asked "Which word comes first in alphabetical order?" without the words,
so a model chose among words it was never shown (fortieth probe)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from openscout.evals.tasks import builtin_suites


@pytest.mark.parametrize("name", ["mc", "quick"])
def test_a_context_never_stands_for_items_of_different_answers(name: str) -> None:
    answers: dict[str, set[str]] = defaultdict(set)
    for it in builtin_suites()[name].generate(size=300):
        if it.kind == "choice":
            answers[it.context or ""].add(it.choices[it.target])
    shared = {c: a for c, a in answers.items() if len(a) > 1}
    assert not shared, next(iter(shared))


def test_alphabet_lists_its_words_in_the_question() -> None:
    items = [i for i in builtin_suites()["mc"].generate(size=60) if i.meta["task"] == "alphabet"]
    assert items
    for it in items:
        assert all(word in (it.context or "") for word in it.choices), it.context


def test_the_changed_suites_have_new_versions() -> None:
    """Stored results of the old items must not be taken for these (seeds include it)."""
    suites = builtin_suites()
    assert int(suites["mc"].version) >= 4 and int(suites["quick"].version) >= 5
