"""Multiple choice read back from generated text: every answer style the probes found.

Each case is (answer, index of the option it picks or None). The reader was rewritten after
the 57th and 58th probes found patches on patches reading some right answers wrong again.
"""

from __future__ import annotations

import pytest

from openscout.evals.read_choice import extract_choice

CITY = ("Lyon", "Paris", "Nice", "Lille")
CELL = ("Mitochondria", "Nucleus", "Ribosome", "Both A and B")
VITAMIN = ("Vitamin A", "Vitamin C", "Vitamin D", "Vitamin K")
LETTER_OPTIONS = ("A", "B", "C", "D")  # an lm-eval MMLU task: the texts are in the prompt


@pytest.mark.parametrize(
    ("said", "choices", "picked"),
    [
        # an option's own text ending in a letter (57th/58th P1)
        ("D. Both A and B", CELL, 3),
        ("**D) Both A and B**", CELL, 3),
        ("Both A and B", CELL, 3),
        ("B. Vitamin C", VITAMIN, 1),
        ("Vitamin C", VITAMIN, 1),
        ("B, because Vitamin C is correct.", LETTER_OPTIONS, 1),
        # a verdict after the pick (58th P2, 57th P4)
        ("A is correct.", CITY, 0),
        ("A is the correct answer.", CITY, 0),
        ("Option A is correct.", CITY, 0),
        ("I think A is correct.", CITY, 0),
        ("A would be my choice.", CITY, 0),
        ("A it is.", CITY, 0),
        ("B is correct, C is not.", CITY, 1),
        ("B is the correct answer. C) Nice is on the coast.", CITY, 1),
        ("B) Paris - correct\n\nA) Lyon - incorrect\nC) Nice - incorrect", CITY, 1),
        ("A) Lyon - incorrect\nB) Paris - correct\nC) Nice - incorrect\nD) Lille - no", CITY, 1),
        ("A) Lyon - correct\nB) Paris - incorrect", CITY, 0),
        ("B is not wrong.", CITY, 1),
        ("B: no\nC: no\nA: yes\nD: no", CITY, 0),
        ("B ✗\nC ✗\nA ✓\nD ✗", CITY, 0),
        ("A is the best answer among the options, since Paris and Nice do not apply.", CITY, 0),
        # forms read as nothing (58th P3, 57th P3)
        ('{"answer": "B"}', CITY, 1),
        ('```json\n{"choice": "B"}\n```', CITY, 1),
        ("The answer is 'B'.", CITY, 1),
        ('The answer is "B".', CITY, 1),
        ("b", CITY, 1),
        ("(b)", CITY, 1),
        ("answer: b", CITY, 1),
        ("The answer is b.", CITY, 1),
        ("答案是B。", CITY, 1),
        ("正确答案：B", CITY, 1),
        ("正解はBです。", CITY, 1),
        ("答案是Ｂ", CITY, 1),
        ("$\\boxed{\\text{B}}$", CITY, 1),
        # a conclusion after other options named (58th P4)
        ("While Paris might seem plausible, the answer is Lyon.", CITY, 0),
        ("Although Lyon is large, the correct answer is Paris.", CITY, 1),
        ("Lyon is big, but the capital is Paris.", CITY, 1),
        # letters ruled out after the pick (58th P7, 57th P7)
        ("C) Nice. Lyon and Paris are inland, so A, B and D are wrong.", CITY, 2),
        ("The answer is C. Therefore A, B and D are incorrect.", CITY, 2),
        ("**C. Nice**\n\nThus A (Lyon), B (Paris) and D (Lille) are incorrect.", CITY, 2),
        ("Answer: B. Paris is the capital, so C) Nice is wrong.", CITY, 1),
        ("**Answer: A**\n\nB is incorrect, so is C.", CITY, 0),
        ("Correct: A. Incorrect: B, C, D.", CITY, 0),
        ("Eliminating A, B and C, we are left with D.", CITY, 3),
        # a pick beside one other option (58th P11) and options restated (57th P5)
        ("B) Paris, not D) Lille.", CITY, 1),
        ("B) Paris is correct; C) Nice is wrong.", CITY, 1),
        ("**B) Paris**\n\nC) Nice is a coastal city, not the capital.", CITY, 1),
        ("B. Paris\n\nWhy not D. Lille? It is not the capital.", CITY, 1),
        ("I would choose B) Paris over C) Nice.", CITY, 1),
        (
            "Out of the options A) Lyon, B) Paris, C) Nice and D) Lille, the capital is B) Paris.",
            CITY,
            1,
        ),
        ("Among Lyon, Paris, Nice and Lille, the capital is Paris.", CITY, 1),
        # asides after the pick (58th, on the rewrite)
        ("The answer is B. Some people pick A, but that is a mistake.", CITY, 1),
        ("The answer is B.\n\nP.S. Option C is also a nice city.", CITY, 1),
        ("B. Paris\n\nNot to be confused with option A.", CITY, 1),
        ("There is no other answer than B.", CITY, 1),
        ("Answer: B. Paris is the capital. A common mistake is to answer C) Nice.", CITY, 1),
        # notes on other options after the pick (60th P1)
        ("C) Nice. Option D would be Lille.", CITY, 2),
        ("B is right. Option D is the second-largest city.", CITY, 1),
        ("B. The capital is Paris; choice D is a port.", CITY, 1),
        ("B - Paris. Thus option D describes a different city.", CITY, 1),
        ("**B**\n\nThe option D refers to Lille.", CITY, 1),
        ("The capital is Paris, B. Some might pick D since it is the largest port.", CITY, 1),
        ("B\n\n(If the question asked for the largest port, the choice would be D.)", CITY, 1),
        ("B is correct. Hence D, the port city, is less relevant here.", CITY, 1),
        ("Paris (B). I wouldn't choose D.", CITY, 1),
        ("It fits the definition, so A. Option C would be Nice.", CITY, 0),
        ("I'd choose A over C.", CITY, 0),
        ("I think it's B, because the others do not match.", CITY, 1),
        ('```json\n{"answer": "B", "reason": "the others do not match"}\n```', CITY, 1),
        (
            "A) Lyon: not the capital.\nB) Paris: this fits.\nC) Nice: no.\nD) Lille: wrong.",
            CITY,
            1,
        ),
        ("A) A: this is incorrect.\nB) B: this is correct, because it fits.", LETTER_OPTIONS, 1),
        # a letter, then a sentence on another option (59th P4); "as opposed to" (P5);
        # "text (letter)" at the end (P14); three options named in prose (P15); "It's B" (P16);
        # "Lyon? No." (P6); a hedge after the pick
        ("Answer: B. Lyon is not the capital.", CITY, 1),
        ("B\n\nLyon is not the capital of France.", CITY, 1),
        ("**Answer: B**\n\nLyon, Nice and Lille are regional centres.", CITY, 1),
        ("Answer: C\n\n15 is incorrect since 12 + 3 = 15.", ("12", "15", "18", "21"), 2),
        ("The capital is Paris, as opposed to Lyon.", CITY, 1),
        ("Lyon is big, but the capital is Paris (B).", CITY, 1),
        ("First 12, then 6 more, giving 18 (C).", ("12", "15", "18", "21"), 2),
        ("Lyon is a large city, but the answer is Paris. Nice is on the coast.", CITY, 1),
        ("Lyon is a large city. It's B. Hope this helps!", CITY, 1),
        ("Lyon is a large city. I'd say B. Hope this helps!", CITY, 1),
        ("Is it Lyon? No. Is it Paris? Yes.", CITY, 1),
        ("A? No. B? Yes.", CITY, 1),
        ("I'm not sure, but I think it's B. It could also be A.", CITY, 1),
        ("Many people think of Lyon, but the capital of France is Paris.", CITY, 1),
        # words after the pick that describe it, not judge it (62nd probe)
        ("The answer is B. No doubt.", CITY, 1),
        ("The correct answer is B: It isn't heavy.", CITY, 1),
        ("B) Paris — not a port city, but the capital.", CITY, 1),
        ("Answer: C. Nice is not a capital.", CITY, 2),  # "Which is NOT a capital?"
        ("We can rule out D. The answer is B. No doubt.", CITY, 1),
        ("B. Paris\n\nNote: C would be right for a different question.", CITY, 1),
        ("D is close but incorrect. B) Paris", CITY, 1),
        ("I pick C.", tuple(f"o{i}" for i in range(10)), 2),
        ("I answer with C.", tuple(f"o{i}" for i in range(10)), 2),
        ("A is the most appropriate answer.", CITY, 0),
        ("Option A is the one to pick.", CITY, 0),
        ("✅ B) Paris\n❌ A) Lyon", CITY, 1),
        ("- [ ] A) Lyon\n- [x] B) Paris", CITY, 1),
        ("A) True. The statement is correct; nothing in it is false.", ("True", "False"), 0),
        ("The answer is C. Wait, that's wrong. It's B.", CITY, 1),
        ("A. Lyon - correct\nB. Paris - not the capital\nC. Nice - wrong", CITY, 0),
        ("Final answer: B - no question.", CITY, 1),
        ("**B. Paris** No doubt.", CITY, 1),
        ("A) Lyon — Nothing else is false here.", CITY, 0),
        ("The answer is B. The most common wrong answer is A.", CITY, 1),
        (
            "The answer is B.\nNote: if the question asked for a port, the answer would be C.",
            CITY,
            1,
        ),
        ("If I had to choose, the answer is B.", CITY, 1),
        (
            "Nine days after Monday, it will be Wednesday, not Friday.",
            ("Monday", "Wednesday", "Friday", "Sunday"),
            1,
        ),
        ("A makes sense.", CITY, 0),
        ("A. True — there is nothing wrong with the statement.", ("True", "False"), 0),
        # options that are letters: "a" and "I" are words (58th P13)
        ("As a geographer, I would pick B for Paris.", LETTER_OPTIONS, 1),
        ("This is a tricky one, but I believe it is B because of Paris.", LETTER_OPTIONS, 1),
        ("Definitely A.", LETTER_OPTIONS, 0),
        # no pick
        ("A. Lyon\nB. Paris\nC. Nice\nD. Lille", CITY, None),
        ("I am not sure.", CITY, None),
    ],
)
def test_each_answer_style_is_read_as_its_pick(
    said: str, choices: tuple[str, ...], picked: int | None
) -> None:
    assert extract_choice(said, choices) == picked


def test_a_huge_answer_is_read_at_its_ends() -> None:
    """The reader was quadratic in the answer's length (80 KB took 18 s and 1 GB: 58th
    probe); a longer answer is read at its first and last 8,000 characters, where a pick is."""
    filler = "x " * 500_000
    assert extract_choice(filler + "The answer is B.", CITY) == 1
    assert extract_choice("The answer is B. " + filler, CITY) == 1
    assert extract_choice(filler + "The answer is B. " + filler, CITY) is None
    for said in ("a b c d " * 125_000, "A) Lyon " * 100_000 + "Answer: B", "so A, " * 150_000):
        extract_choice(said, CITY)  # seconds, not the hours a quadratic reading takes
