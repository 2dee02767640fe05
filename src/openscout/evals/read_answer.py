"""The number or the label a generated answer concludes on.

An answer marks its conclusion with "Answer:" (the built-in suites ask for that form), but
chat models write their working there ("Answer: 6 × 3 = 18", "Answer: not (True or True) =
False"), put the conclusion before the marker ("42 is the answer") and add lines about the
answer after it ("This answer is 100% certain"). The last marker that is not about the
answer is read first, at its own sentence: what an equation there comes to, else what the
sentence opens with, else what it states ("Tom has 14"); then earlier markers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from openscout.evals.read_choice import READ_CHARS, json_answer, plain_marks

# a whole word: inside "answered" it read "Answer: 42 (I first answered 40)" as 40 (40th probe)
# "####" ends a GSM8K answer (59th probe)
# "Answer (rounded to 2 decimals): 3.14" (61st probe)
_MARKER = re.compile(
    r"\banswer\b[ \t]*(?:\([^()\n]{0,60}\)[ \t]*)?(?:is\b)?[ \t]*[:=]?|\bfinal\s*:|####",
    re.IGNORECASE,
)
_ABOUT_IT = re.compile(r"\b(?:this|that|my|your|our|their|its|his|her)\s+$", re.IGNORECASE)
# "A common wrong answer is 32" (62nd probe)
_NOT_THE_ANSWER = re.compile(r"\b(?:wrong|incorrect|tempting|naive|trick)\s+$", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
MARKERS_READ = 20  # the last markers of an answer read (a looping answer repeats thousands)
SENTENCE_CHARS = 1_000  # of a marker's sentence (a number of 309 digits or more is no number)
# to a full stop or the line's end: not at ";", which joins steps ("... = False; not False = True")
_SENTENCE = re.compile(r"[^\n]*?(?=\.(?:\s|$)|\n|$)")
# "42 is the answer", "True is the final answer"
_BEFORE_IT = r"\s*(?:is|was|would be|will be|should be|must be)\s+(?:the|my|our)\s+(?:final\s+|correct\s+|right\s+)*$"
# what an equation or a statement comes to: "= 18", "equals 42", "has 14", "is 40"
_COMES_TO = re.compile(
    r"(?:=|\u2248|\b(?:equals?|is|are|was|makes?|gives?|leaves?|has|have|had|gets?|got|totals?"
    r"|total of|remains?|results? in|paid|pays|costs?|spent|spends|earns?|earned|needs?"
    r"|weighs?|takes?|took)\b)[\s*$]*(?=-?\d)",
    re.IGNORECASE,
)
_EQUALS = re.compile(r"=|\u2248|equals?\b", re.IGNORECASE)
_OPERATOR = re.compile(
    r"[+*/×÷^]|\s[-x]\s|\d\s*[-x]\s*\d|\b(?:plus|minus|times|divided|multiplied)\b", re.I
)  # "20-12=8" too (59th probe)
_ASIDE_IN_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_EQUATION = re.compile(
    r"=|\u2248|\u2192|->|\b(?:equals?|evaluates to|gives|yields|results in|is equal to)\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;]", re.IGNORECASE)
_SCENE = re.compile(  # "Over 3 days", "Of the 20 students" (61st probe)
    r"\b(?:in|over|for|during|within|after|before|per|every|each|of|by|from|at|on)"
    r"\s+(?:the\s+|a\s+|all\s+)?$",
    re.I,
)
_SO_CLAUSE = re.compile(r"\b(?:so|therefore|thus|hence|which means)\b", re.IGNORECASE)
_RULED_OUT = re.compile(r"\b(?:not|than|rather than|instead of|unlike|nor)\s+(?:\w+\s+)?$", re.I)
_REASON = re.compile(r"\s*(?:because|since|as|given|while|although|though|if|when)\b", re.I)


_SUPERSCRIPTS = {ord(c): f"^{i}" for i, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}


def _readable(text: str) -> str:
    if len(text) > 2 * READ_CHARS:  # a conclusion is at an answer's start or its end
        text = text[:READ_CHARS] + "\n" + text[-READ_CHARS:]
    # emphasis as bold and code only: a lone "*" is a multiplication ("2 * 9 = **18**")
    text = re.sub(r"\*\*|__|`", "", text).replace("\u2212", "-")  # and the minus sign
    # "5² = 25" was "52 = 25" (NFKC); "-$5" a 5 (61st probe)
    text = text.translate(_SUPERSCRIPTS).replace("-$", "-")
    # an <answer> tag marks its answer as "Answer:" does (stripped, a later number won: 61st)
    text = re.sub(r"<answer>", " Answer: ", text, flags=re.IGNORECASE)
    # LaTeX's arithmetic as text: "\(9 \times 2 = 18\)" read its first number (62nd probe)
    text = re.sub(r"\\(?:times|cdot)", " × ", text).replace("\\div", " ÷ ")
    text = re.sub(r"\\[()\[\]]|\$", " ", text)
    return plain_marks(text.replace("*", "\ue100")).replace("\ue100", "*")


def _markers(text: str) -> list[re.Match[str]]:
    """The answer's markers, the last first, but those in a sentence about the answer
    ("this answer is 100% certain" gives none: 56th probe)."""
    found = [
        m
        for m in _MARKER.finditer(text)
        if not _ABOUT_IT.search(text[max(0, m.start() - 20) : m.start()])
        and not _NOT_THE_ANSWER.search(text[max(0, m.start() - 30) : m.start()])
    ]
    return found[: -MARKERS_READ - 1 : -1]  # a conclusion is among the last ones


def _opens_a_sentence(text: str, marker: re.Match[str]) -> bool:
    """Whether a marker is followed by what it marks: not "check the answer, ..." (whose
    sentence gave "multiply 6 by 7"), nor "42 is the answer; ..." (read before it)."""
    after = text[marker.end() : marker.end() + 40]
    if re.match(r"\s*(?:[,.;?!]|(?:would|were|could|might)\b)", after):
        return False  # nor "if the answer were 20, ..." (62nd probe)
    if re.search(r"\bis\s*$", marker.group()) and re.match(r"\s*not\b", after):
        return False  # nor "the answer is not 16" (61st probe)
    # a marker says where its answer is ("Answer:", "answer is", "####"), or the answer
    # follows at once or on the next line (a heading: "### Final Answer\nTrue"):
    # "Answer confidence: 95%" marks no answer (61st probe)
    said = re.search(r"[:=#]|\bis\b", marker.group())
    return bool(said or re.match(r"[ \t]*(?:\n|[-$\d])", after))


def _sentence(text: str, at: int) -> str:
    """The sentence from `at` (the next line where the marker ends one: "**Answer:**\nAlice"
    was read as nothing there, 60th probe): to a full stop or the end of the line, and at
    most SENTENCE_CHARS (a long one read at every marker was quadratic)."""
    ahead = text[at : at + SENTENCE_CHARS]
    rest = re.sub(r"^[\s*#:]*(?:[-\u2022]\s+)?", "", ahead)  # a bullet, not a minus sign
    at += len(ahead) - len(rest)
    return _SENTENCE.match(text, at, at + SENTENCE_CHARS).group().strip(" \t*$(:")


def _concluded(text: str, read: Callable[[str, str], str | None], before: str) -> str | None:
    for found in _markers(text):
        ahead = re.search(before + _BEFORE_IT, text[max(0, found.start() - 80) : found.start()])
        if ahead:
            return ahead.group(1)
        if _opens_a_sentence(text, found) and (got := read(_sentence(text, found.end()), text)):
            return got
    return None


_JSON_KEYS = ("answer", "final_answer", "result", "label")


def extract_number(text: str) -> float | None:
    """The number the answer concludes on: at its last marker not about the answer, what an
    equation comes to ("Answer: 6 × 3 = 18" was read as 6: 57th, 58th probes) or the number
    the marker's sentence opens with, or states ("Tom has 14"); "42 is the answer" (read as
    what followed: 57th); else the first number after the last marker, else the last one."""
    if (value := json_answer(text, _JSON_KEYS)) is not None:
        text = f"Answer: {value}"
    text = _readable(text)
    raw = _concluded(text, _number_in, r"(-?\d[\d,]*(?:\.\d+)?)")
    if raw is None:
        markers = _markers(text)
        after = _NUMBER.findall(text[markers[0].end() :]) if markers else []
        every = after or _NUMBER.findall(text)
        if not every:
            return None
        raw = after[0] if after else every[-1]
    try:
        number = float(raw.replace(",", ""))
    except ValueError:
        return None
    # 400 digits are `inf` as a float: no number anyone asked for, and not one JSON carries
    return number if math.isfinite(number) else None


def _number_in(sentence: str, _text: str) -> str | None:
    """The number a sentence comes to: after the last "=" of an equation, or "is" after a
    sum in words ("3 boxes of 12 plus 4 is 40"); else the number it opens with; else what
    follows "so" ("Tom had 10, got 38, so 48"); else the first it states ("Tom has 48 apples,
    which is 28 more" is 48: 60th probe); else its first not in a phrase of time or place."""
    # a working in brackets after the answer is no part of it: "18 (3 bags x 2 = 6 extra)"
    sentence = _ASIDE_IN_BRACKETS.sub(" ", sentence)
    opening = _NUMBER.match(sentence)
    equals = [m for m in _COMES_TO.finditer(sentence) if _EQUALS.match(m.group())]
    stated = list(_COMES_TO.finditer(sentence))
    operator = _OPERATOR.search(sentence)  # found once: per number, "is 1 is 1 ..." took seconds
    worked = [m for m in (equals or stated) if operator and operator.end() <= m.start()]
    if opening is not None and worked:
        return _NUMBER.match(sentence, worked[-1].end()).group()
    if opening is not None:
        return opening.group()
    if equals:
        return _NUMBER.match(sentence, equals[-1].end()).group()
    concluded = list(_SO_CLAUSE.finditer(sentence))
    if concluded and (m := _NUMBER.search(sentence, concluded[-1].end())):
        return m.group()
    if stated:
        return _NUMBER.match(sentence, stated[0].end()).group()
    # the first number not in a phrase setting the scene: "Over 3 days she picks 18 apples"
    free = (
        m
        for m in _NUMBER.finditer(sentence)
        if not _SCENE.search(sentence[max(0, m.start() - 16) : m.start()])  # "in 1 in 1 ..." (63rd)
    )
    return next((m.group() for m in free), None)


def extract_label(text: str, labels: list[str]) -> str | None:
    """The label the answer concludes on, read like a number: at its last marker not about
    the answer ("Answer: no\\n\\nI hope this answer helps!" read no label there, then the
    first in the text: 58th probe), what an equation comes to ("Answer: not (True or True)
    = False" was read True: 57th), the label the sentence opens with, or the one its last
    clause that is no reason names; else the first label in the text."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(x) for x in labels) + r")\b", re.IGNORECASE)
    if (value := json_answer(text, _JSON_KEYS)) is not None:
        text = f"Answer: {value}"
    text = _readable(text)

    def read(sentence: str, _text: str) -> str | None:
        return _label_in(sentence, pattern)

    hit = _concluded(text, read, pattern.pattern)
    if hit is None and (m := pattern.search(text)):
        hit = m.group(1)
    if hit is None:
        return None
    return next((x for x in labels if x.lower() == hit.lower()), None)


def _label_in(sentence: str, pattern: re.Pattern[str]) -> str | None:
    """The label a sentence concludes on: the one it opens with, standing alone; after the
    last "=" of an equation, or after "so"
    ("Ben is shorter than Anna, so the tallest is Anna"); else the first it names outside a
    reason ("Since Ben is taller than Cara, Anna is the tallest") and not ruled out ("It is
    true, not false": the last clause's label read it as false, 60th probe)."""
    opening = pattern.match(sentence)
    if opening and re.match(r"\s*(?:$|[.,;:!?)(\]]|because\b|since\b)", sentence[opening.end() :]):
        return opening.group(1)  # "No, there is no road, so yes is impossible"
    equations = list(_EQUATION.finditer(sentence))
    if equations and (m := pattern.search(sentence, equations[-1].end())):
        return m.group(1)
    concluded = list(_SO_CLAUSE.finditer(sentence))
    if concluded and (m := pattern.search(sentence, concluded[-1].end())):
        return m.group(1)
    for clause in _CLAUSE_BREAK.split(sentence):
        if _REASON.match(clause):
            continue
        for m in pattern.finditer(clause):
            if not _RULED_OUT.search(clause[max(0, m.start() - 40) : m.start()]):
                return m.group(1)
    m = pattern.search(sentence)
    if m and _NOT.search(sentence[: m.start()]) and m.group(1).lower() in _BOOLEAN:
        return _BOOLEAN[m.group(1).lower()]  # "It is not true." (59th probe)
    return m.group(1) if m else None


_NOT = re.compile(r"\bnot\s+$", re.IGNORECASE)
_BOOLEAN = {"true": "false", "false": "true"}
