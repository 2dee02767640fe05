"""Numbers and labels read back from generated text: the working written after "Answer:",
the conclusion before it, and lines about the answer after it (57th and 58th probes)."""

from __future__ import annotations

import pytest

from openscout.evals.read_answer import extract_label, extract_number


@pytest.mark.parametrize(
    ("said", "number"),
    [
        # working after the marker: what the equation comes to (57th P1, 58th P9)
        ("Answer: 24 + 15 * 10 = 174", 174),
        ("Answer: 6 × 3 = 18", 18),
        ("The answer: 12 - 5 = 7", 7),
        ("Answer: 15 + 27 equals 42.", 42),
        ("Answer: 3 boxes of 12 plus 4 is 40.", 40),
        ("Answer: 20 + 5 - 11 = 14 apples", 14),
        ("Answer: (3 + 4) × 2 = 14", 14),
        ("The answer is 12 / 3 = 4.", 4),
        ("Answer: 2 * 9 = **18**", 18),
        ("Answer: 16 - 3 - 4 = 9 eggs, and 9 × $2 = $18.", 18),
        ("Answer: After giving away 5, Tom has 14.", 14),
        ("Answer: −3", -3),
        # the conclusion before the marker (57th P1b)
        ("42 is the answer, not 40.", 42),
        ("**42** is the answer (6 x 7).", 42),
        ("So 42 is the answer; the 3 friends are a distractor.", 42),
        # a number the sentence opens with, whatever follows it
        ("Answer: 42, which is 6 times 7", 42),
        ("Answer: 42 apples because she has 6 bags", 42),
        ("Answer: 42\n\nTo check the answer, multiply 6 by 7.", 42),
        ("Answer: 42. To check the answer: 6 x 7 = 42.", 42),
        ("The answer is about 14", 14),
        # the first it states, not a later clause (60th probe P3)
        ("Answer: Tom has 48 apples, which is 28 more than before.", 48),
        ("Answer: She paid $45 in total, which is $15 more than last week.", 45),
        ("Answer: Adding 10 and 38 gives 48.", 48),
        ("Answer: Tom had 10, got 38, so 48 in total.", 48),
        ("Answer: 6 × 3 = 18, which is 2 more than 16.", 18),
        ("The answer is 42.\n\n(Answer derived in 2 steps.)", 42),
        ("**Answer:**\n$14", 14),
        # 59th probe: P7, P13, P17, GSM8K's marker
        ("Answer: Over 3 days she picks 18 apples.", 18),
        ("Answer: 20-12=8", 8),
        ("Answer: 18 (3 bags × 2 = 6 extra)", 18),
        ("**Answer: 18** (3 bags × 2 = 6 extra)", 18),
        ("12 + 3 × 2 = 12 + 6 = 18. #### 18\n\nCheck: 18 - 6 = 12.", 18),
        # 61st and 62nd probes: <answer> tags, a later word "answer", a supposed answer,
        # ";" in working, LaTeX
        ("<answer>18</answer> (9 eggs at $2)", 18),
        ("Answer: 12\nAnswer confidence: 95%", 12),
        ("Answer: 18. The answer assumes 7 days a week", 18),
        ("Answer: 18\nCheck: if the answer were 20, she would need 10 eggs.", 18),
        ("Answer: 18 (16 − 7 = 9; 9 × 2)", 18),
        ("Answer: \\(9 \\times 2 = 18\\)", 18),
        ("Answer: 18. So the answer is not 16.", 18),
        ("Answer: Of the 20 students, 12 passed", 12),
        ('{"answer": 18, "reasoning": "3 x 3 = 9"}', 18),
        ("Answer: 5² = 25", 25),
        ("Answer: -$5", -5),
        ("Answer (rounded to 2 decimals): 3.14", 3.14),
        ("Answer: 18\n\n(A common wrong answer is 32.)", 18),
    ],
)
def test_the_number_an_answer_concludes_on_is_read(said: str, number: float) -> None:
    assert extract_number(said) == number


@pytest.mark.parametrize(
    ("said", "labels", "label"),
    [
        ("Answer: not (True or True) = False", ["True", "False"], "False"),  # 57th P2
        ("Answer: True and False = False", ["True", "False"], "False"),
        ("Answer: (False or True) = True", ["True", "False"], "True"),
        (
            "Answer: Since Ben is taller than Cara, Anna is the tallest.",
            ["Anna", "Ben", "Cara"],
            "Anna",
        ),
        (
            "Answer: Ben is shorter than Anna, so the tallest is Anna.",
            ["Anna", "Ben", "Cara"],
            "Anna",
        ),
        ("Answer: Anna, because she is taller than Ben", ["Anna", "Ben", "Cara"], "Anna"),
        # a later line about the answer (58th P8)
        ("Yes, a road.\nAnswer: no\n\nI hope this answer helps!", ["yes", "no"], "no"),
        (
            "Answer: True\n\nExplanation: this answer holds because not False is True.",
            ["True", "False"],
            "True",
        ),
        ("Answer: False\n\nThis answer is True to the rules of logic.", ["True", "False"], "False"),
        ("False is the answer.", ["True", "False"], "False"),
        # the label the sentence states, not one it rules out (60th probe P2)
        ("Answer: It is true, not false.", ["true", "false"], "true"),
        ("Answer: Alice is the tallest, taller than Bob.", ["Alice", "Bob", "Cara"], "Alice"),
        (
            "Answer: The review is positive, but one part is negative.",
            ["positive", "negative"],
            "positive",
        ),
        # on the line after the marker (60th probe P9)
        (
            "Bob is taller than Cara. Alice is taller than Bob.\n\n**Answer:**\nAlice",
            ["Alice", "Bob", "Cara"],
            "Alice",
        ),
        (
            "not (True or False) -> not True -> False\n\n### Answer:\nFalse",
            ["True", "False"],
            "False",
        ),
        ("Answer:\n- Alice", ["Alice", "Bob"], "Alice"),
        ("Answer: It is not true.", ["True", "False"], "False"),  # 59th probe P10
        ("Answer: (True and False) = False; not False = True.", ["True", "False"], "True"),
        ("Answer: not (True and False) evaluates to True", ["True", "False"], "True"),
        ('{"answer": "no"}', ["yes", "no"], "no"),
        ("False at first.\n\n### Final Answer\nTrue", ["True", "False"], "True"),
        (
            "Answer: No, there is no road out of Rome, so yes is impossible.",
            ["yes", "no"],
            "No".lower(),
        ),
    ],
)
def test_the_label_an_answer_concludes_on_is_read(said: str, labels: list[str], label: str) -> None:
    assert extract_label(said, labels) == label


def test_a_huge_answer_is_read_at_its_ends() -> None:
    filler = "7 " * 500_000
    assert extract_number(filler + "Answer: 42") == 42
    assert extract_label("x " * 500_000 + "Answer: no", ["yes", "no"]) == "no"
