"""The 'Answer:' marker is a whole word: inside "answered" it made the text after it the
answer, so "Answer: 42 (I first answered 40)" was read as 40 (fortieth probe)."""

from __future__ import annotations

from openscout.evals.read_answer import extract_label, extract_number
from openscout.evals.read_choice import extract_choice


def test_a_word_holding_answer_is_no_marker() -> None:
    assert extract_number("Answer: 42 (I first answered 40)") == 42
    assert extract_number("Answer: 7. Two answers were 3 and 5") == 7
    assert extract_label("Answer: yes, as answered no before", ["yes", "no"]) == "yes"
    assert extract_choice("Answer: B (the answering guide says C)", ("1", "2", "3", "4")) == 1


def test_the_markers_still_read() -> None:
    assert extract_number("The answer is 1,234 dollars.") == 1234
    assert extract_number("steps 3 and 4; answer=12") == 12
    assert extract_number("Final ANSWER: -5") == -5
