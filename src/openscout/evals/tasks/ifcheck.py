"""Verifiable instructions in the IFEval manner: each kind has a describer, a generator of its
parameters and a checker that needs no model. Checkers are pure functions of the response.

Counting rules (kept simple and stated, since IFEval's own differ in details):
words are runs of letters (any script), digits and apostrophes (' and ’); sentences end in . ! or ? followed by space or
the end; a bullet is a line starting with '* ' or '- '; paragraphs are separated by '***'.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openscout.evals.items import answer_json
from openscout.evals.tasks.words import WORDS

# letters of any script and both apostrophes: "don’t" and "naïve" are one word each (59th)
_WORD = re.compile(r"(?:[^\W_]|['\u2019])+")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def count_sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if _WORD.search(s)])


def _cmp(value: int, relation: str, n: int) -> bool:
    return value >= n if relation == "at least" else value <= n


def word_count(r: str, relation: str, n: int) -> bool:
    return _cmp(count_words(r), relation, n)


def sentence_count(r: str, relation: str, n: int) -> bool:
    return _cmp(count_sentences(r), relation, n)


def forbidden_words(r: str, words: list[str]) -> bool:
    return not any(re.search(rf"\b{re.escape(w)}\b", r, re.IGNORECASE) for w in words)


def keywords(r: str, words: list[str]) -> bool:
    return all(re.search(rf"\b{re.escape(w)}\b", r, re.IGNORECASE) for w in words)


def json_format(r: str) -> bool:
    try:
        answer_json(r)
    except ValueError:
        return False
    return True


def bullet_count(r: str, n: int) -> bool:
    # leading blanks of the line only: `^\s*` ran across a run of empty lines from each of
    # them, in the square of its length (fifteenth probe)
    return len(re.findall(r"^[^\S\n]*[*-] ", r, re.MULTILINE)) == n


def lowercase(r: str) -> bool:
    return r == r.lower() and any(c.isalpha() for c in r)


def uppercase(r: str) -> bool:
    return r == r.upper() and any(c.isalpha() for c in r)


def no_commas(r: str) -> bool:
    return "," not in r and bool(r.strip())


def start_with(r: str, phrase: str) -> bool:
    return r.strip().lstrip("\"'").lower().startswith(phrase.lower())


def end_with(r: str, phrase: str) -> bool:
    return r.strip().rstrip("\"'").lower().endswith(phrase.lower())


def title(r: str) -> bool:
    return re.search(r"<<[^<>\n]+>>", r) is not None


def placeholders(r: str, n: int) -> bool:
    return len(re.findall(r"\[[^\[\]\n]+\]", r)) >= n


def paragraph_count(r: str, n: int) -> bool:
    parts = [p for p in r.split("***") if p.strip()]  # a `\s*` split was quadratic in blanks
    return len(parts) == n and r.count("***") == n - 1


def postscript(r: str, marker: str) -> bool:
    """A line opening with the marker, in any case and as chat models write it: in bold
    ("**P.S.**") or with a blank after a dot ("P. S."), which Google's reference accepts
    too (57th probe)."""
    spaced = r"\.[^\S\n]?".join(re.escape(part) for part in marker.split("."))
    found = re.search(rf"^(?:[^\S\n]|[*_>#])*{spaced}", r, re.MULTILINE | re.IGNORECASE)
    return found is not None


def quotation(r: str) -> bool:
    t = r.strip()
    return len(t) >= 2 and t[0] == '"' and t[-1] == '"'


@dataclass(frozen=True)
class Checker:
    check: Callable[..., bool]
    describe: Callable[..., str]
    params: Callable[[random.Random], dict[str, Any]]


def _rel(rng: random.Random, lo: int, hi: int) -> dict[str, Any]:
    return {"relation": rng.choice(("at least", "at most")), "n": rng.randint(lo, hi)}


CHECKERS: dict[str, Checker] = {
    "word_count": Checker(
        word_count, lambda relation, n: f"Use {relation} {n} words.", lambda rng: _rel(rng, 15, 60)
    ),
    "sentence_count": Checker(
        sentence_count,
        lambda relation, n: f"Write {relation} {n} sentences.",
        lambda rng: _rel(rng, 2, 5),
    ),
    "forbidden_words": Checker(
        forbidden_words,
        lambda words: f"Do not use the words {', '.join(words)}.",
        lambda rng: {"words": rng.sample(WORDS, 2)},
    ),
    "keywords": Checker(
        keywords,
        lambda words: f"Include the words {' and '.join(words)}.",
        lambda rng: {"words": rng.sample(WORDS, 2)},
    ),
    "json_format": Checker(
        json_format, lambda: "Your entire answer must be valid JSON.", lambda rng: {}
    ),
    "bullet_count": Checker(
        bullet_count,
        lambda n: f"Your answer must be exactly {n} bullet points, each line starting with '* '.",
        lambda rng: {"n": rng.randint(2, 5)},
    ),
    "lowercase": Checker(
        lowercase, lambda: "Write only in lowercase letters; no capital letters.", lambda rng: {}
    ),
    "uppercase": Checker(
        uppercase, lambda: "Write your whole answer in CAPITAL LETTERS.", lambda rng: {}
    ),
    "no_commas": Checker(no_commas, lambda: "Do not use any commas.", lambda rng: {}),
    "start_with": Checker(
        start_with,
        lambda phrase: f'Begin your answer with the words "{phrase}".',
        lambda rng: {"phrase": rng.choice(("Here is", "In short", "My answer", "Dear reader"))},
    ),
    "end_with": Checker(
        end_with,
        lambda phrase: f'End your answer with the exact phrase "{phrase}".',
        lambda rng: {"phrase": rng.choice(("That is all.", "Any questions?", "The end."))},
    ),
    "title": Checker(
        title,
        lambda: "Give your answer a title wrapped in double angle brackets, like <<my title>>.",
        lambda rng: {},
    ),
    "placeholders": Checker(
        placeholders,
        lambda n: f"Include at least {n} placeholders in square brackets, like [name].",
        lambda rng: {"n": rng.randint(1, 3)},
    ),
    "paragraph_count": Checker(
        paragraph_count,
        lambda n: f"Write exactly {n} paragraphs separated by the markdown divider ***.",
        lambda rng: {"n": rng.randint(2, 3)},
    ),
    "postscript": Checker(
        postscript,
        lambda marker: f"End with a postscript starting with {marker}",
        lambda rng: {"marker": rng.choice(("P.S.", "P.P.S"))},
    ),
    "quotation": Checker(
        quotation, lambda: "Wrap your entire answer in double quotation marks.", lambda rng: {}
    ),
}

# Pairs that cannot both hold, or that make a response format ambiguous.
CONFLICTS = {
    frozenset(p)
    for p in (
        ("lowercase", "uppercase"),
        ("json_format", "bullet_count"),
        ("json_format", "title"),
        ("json_format", "paragraph_count"),
        ("json_format", "start_with"),
        ("json_format", "end_with"),
        ("json_format", "postscript"),
        ("json_format", "quotation"),
        ("quotation", "end_with"),
        ("quotation", "start_with"),
        ("quotation", "postscript"),
        ("end_with", "postscript"),
        ("lowercase", "postscript"),  # its marker is P.S. or P.P.S (40th probe, low)
        ("bullet_count", "paragraph_count"),
        ("json_format", "sentence_count"),
        ("json_format", "placeholders"),
        ("keywords", "forbidden_words"),
        ("json_format", "lowercase"),
        ("json_format", "uppercase"),
    )
}


def run_checks(response: str, instructions: list[dict[str, Any]]) -> list[bool]:
    """Whether each instruction ({"kind": ..., **params}) holds for the response."""
    out = []
    for ins in instructions:
        params = {k: v for k, v in ins.items() if k != "kind"}
        out.append(bool(CHECKERS[ins["kind"]].check(response, **params)))
    return out
