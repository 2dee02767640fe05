"""Reading answers back from free text, and rendering items for chat and base models."""

from __future__ import annotations

import pytest

from openscout.evals.items import Item, build_request
from openscout.evals.read_answer import extract_label, extract_number
from openscout.evals.read_choice import extract_choice
from openscout.evals.scoring import score_choice_logprobs, score_generation


def test_extract_number() -> None:
    assert extract_number("First 3 apples, then 4.\nAnswer: 12") == 12
    assert extract_number("The answer is 1,234 dollars.") == 1234
    assert extract_number("We get 5 and then 7") == 7
    assert extract_number(" -3.5 degrees") == -3.5
    assert extract_number("no digits") is None
    assert extract_number("Answer: " + "9" * 400) is None  # inf as a float: no number


def test_extract_label() -> None:
    assert extract_label("Let me think. Answer: false", ["True", "False"]) == "False"
    assert extract_label("Yes, you can.", ["yes", "no"]) == "yes"
    assert extract_label("Maybe", ["yes", "no"]) is None
    assert extract_label("Zoe is shorter, so Answer: Ada", ["Ada", "Zoe"]) == "Ada"


def test_extract_choice() -> None:
    ch = ("Monday", "Friday", "Sunday", "Tuesday")
    assert extract_choice("B", ch) == 1
    assert extract_choice("The answer is (C).", ch) == 2
    assert extract_choice("Answer: D. Tuesday", ch) == 3
    assert extract_choice("It will be Sunday.", ch) == 2
    assert extract_choice("no idea", ch) is None


def test_a_capital_word_is_no_choice_letter() -> None:
    """The article "A" and the pronoun "I" anywhere were read as choices, before the
    option's text: a verbose right answer on rotated options scored at chance (54th
    probe, medium). A letter marked as one still comes first."""
    ch = ("Lyon", "Paris", "Nice", "Lille")
    assert extract_choice("Paris. A lovely city.", ch) == 1
    assert extract_choice("A city such as Paris is the capital.", ch) == 1
    assert extract_choice("The answer is B. A good question!", ch) == 1
    assert extract_choice("Option A (Lyon) is wrong. The answer is B.", ch) == 1
    assert extract_choice("B is right; A is not", ch) == 1
    assert extract_choice("(C) Nice", ch) == 2 and extract_choice("D", ch) == 3
    assert extract_choice("I think it is C", ch) == 2
    assert extract_choice("I believe it is D", tuple(f"o{i}" for i in range(10))) == 3


@pytest.mark.parametrize(
    "said", ["The answer is **B**.", "Answer: **B**", "**B**", "`B`", "*B*", "### Answer\n**B**"]
)
def test_a_letter_in_markdown_emphasis_is_read(said: str) -> None:
    """Chat models bold their final answer: "The answer is **B**." was read as no choice,
    and every right formatted answer scored 0 (54th probe, medium)."""
    assert extract_choice(said, ("Lyon", "Paris", "Nice", "Lille")) == 1


def test_requests_for_chat_and_completion() -> None:
    item = Item(
        id="a",
        kind="generate",
        prompt="What is 2+2?",
        check="number",
        target=4,
        system="Be brief.",
        completion_prompt="Question: 1+1?\nAnswer: 2\n\nQuestion: 2+2?\nAnswer:",
    )
    chat = build_request(item, "chat")
    assert chat.messages is not None and chat.messages[0]["role"] == "system"
    assert chat.messages[-1]["content"] == "What is 2+2?" and chat.params.stop == ()
    comp = build_request(item, "completion")
    assert comp.prompt is not None and comp.prompt.startswith("Be brief.\n\nQuestion: 1+1?")
    assert comp.params.stop == ("\n",)
    mc = Item(id="m", kind="choice", prompt="Pick", check="choice", target=0, choices=("x", "y"))
    assert "A. x\nB. y" in (build_request(mc, "chat").messages or [])[0]["content"]


def test_choice_scores_like_the_harness() -> None:
    item = Item(
        id="m",
        kind="choice",
        prompt="q",
        check="choice",
        target=1,
        choices=("a", "much longer option"),
        context="Q:",
    )
    s = score_choice_logprobs(item, [-3.0, -9.0])
    assert s.metrics["acc"] == 0.0  # argmax of the sums picks option 0
    assert s.metrics["acc_norm"] == 1.0  # -9/18 > -3/1: per character, option 1 wins
    gen = score_generation(item, "Answer: B")
    assert gen.value == 1.0 and gen.detail["method"] == "generate"


def test_an_option_given_as_its_text_is_read_whole() -> None:
    """The earliest substring was taken: "100" against 1/10/100/1000 read as "1", so every
    right answer there was a miss (39th probe, medium)."""
    ch = ("1", "10", "100", "1000")
    assert extract_choice("100", ch) == 2
    assert extract_choice("That is 1000 minutes.", ch) == 3
    assert extract_choice("It is 10", ch) == 1
    assert (
        extract_choice("x1000y", ch) == 3
    )  # no whole word anywhere: the longest at the first place


@pytest.mark.parametrize(
    "said",
    [
        "B. Hope this answer helps!",
        "**B**\n\nLet me know if you need a more detailed answer.",
        "The correct answer is B. Feel free to ask if you want me to explain this answer.",
        "Answer: B\nThis answer is correct because the capital is there.",
        "\\boxed{B}",
        "Final answer: \\boxed{B}",
        "<answer>B</answer>",
    ],
)
def test_a_letter_before_a_later_word_answer_is_read(said: str) -> None:
    """Only what followed the last "answer" was read: a right letter before "Hope this answer
    helps!" was no choice, a miss; so were LaTeX's boxed letter and an <answer> tag (55th)."""
    assert extract_choice(said, ("Lyon", "Paris", "Nice", "Lille")) == 1


@pytest.mark.parametrize(
    "said",
    [
        "A) Lyon B) Paris C) Nice -> B",
        "Options: A) Lyon, B) Paris, C) Nice. Correct: B",
        "(A) Lyon (B) Paris (C) Nice\nB",
        "Looking at the options:\nA. Lyon - no\nB. Paris - yes\nC. Nice - no\nSo B.",
        "Step 1: A is Lyon. Step 2: B is Paris. Final: B",
        "A. Lyon\nB. Paris\nC. Nice\n\nThe capital is Paris.",
    ],
)
def test_an_answer_walking_through_the_options_is_read_at_its_conclusion(said: str) -> None:
    """Listing the options first read every such answer as the first one listed: right
    answers scored wrong, and an answer only echoing them got every item whose gold is A
    (55th probe, medium)."""
    ch = ("Lyon", "Paris", "Nice")
    assert extract_choice(said, ch) == 1
    assert extract_choice("A. Lyon\nB. Paris\nC. Nice", ch) is None  # a list is no choice


def test_a_number_right_after_its_marker_is_read_before_a_later_answer_word() -> None:
    """Only what followed the last "answer" was read: "Answer: 42\nThis answer was computed
    in 3 steps." gave 3 (55th probe)."""
    assert extract_number("Answer: 42\nThis answer was computed in 3 steps.") == 42
    assert extract_number("The answer is $1,250.") == 1250
    assert extract_number("I think 3 + 4 = 7, so the answer is 7") == 7


def test_a_pick_followed_by_words_on_the_other_options_is_read() -> None:
    """An answer giving its pick, then a word on each other option, was read as a list of
    the options: no choice, a right answer scored a miss (56th probe, medium)."""
    ch = ("Lyon", "Paris", "Nice")
    said = "B. Paris\nA. Lyon is the third city, C. Nice is on the coast."
    assert extract_choice(said, ch) == 1
    assert extract_choice("**B. Paris**\n\nA. Lyon: a big city.\nC. Nice: a resort.", ch) == 1


def test_a_sentence_about_the_answer_gives_no_number() -> None:
    """ "this answer is 100% certain" after "Answer: 42" was read as 100 (56th probe)."""
    assert extract_number("Answer: 42\n\nThis answer is 100% certain.") == 42
    assert extract_number("The answer is 42.\n\nNote: this answer is 2 more than 40.") == 42


@pytest.mark.parametrize(
    "said",
    [
        "b) Paris",
        "The answer is b) Paris.",
        "I would choose B) Paris",
        "Option B. Paris has been the capital for centuries.",
        "I think B.\n\nParis is the capital of France.",
        "Lyon and Nice are large cities, but the capital is Paris. So the correct choice is B.",
        "Lyon? No. Nice? No. Paris? Yes: B.",
        "B) Paris\nExplanation: A) Lyon is big",
        "[B]\n\nA. Lyon - no\nB. Paris - yes\nC. Nice - no",
    ],
)
def test_a_pick_with_its_option_or_a_concluding_letter_is_read(said: str) -> None:
    """Setting aside every letter-and-option pair as a listed option lost a single pick
    ("I would choose B) Paris", "b) Paris"), and a conclusion after words ("the correct
    choice is B.") lost to the first option named (56th probe, medium)."""
    assert extract_choice(said, ("Lyon", "Paris", "Nice", "Lille")) == 1


def test_options_that_are_their_own_letters_are_not_listed_again() -> None:
    """An lm-eval MMLU task's options are the letters (the texts are in its question): they
    were listed again under it as "A. A", "B. B" (58th probe, low)."""
    mc = Item(
        id="m", kind="choice", prompt="Q?\nA. x\nB. y", check="choice", target=0, choices=("A", "B")
    )
    asked = (build_request(mc, "chat").messages or [])[0]["content"]
    assert asked == "Q?\nA. x\nB. y\nAnswer with the letter of the correct option (A, B)."
