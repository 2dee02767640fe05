"""What a suite is made of: items, the requests they become, and how answers are read back.

An `Item` is plain data (JSON-serialisable, so runs can be stored and inspected). It knows
how to ask its question to a chat model and to a base (completion) model: base models get a
few-shot, completion-style prompt with a stop string, chat models get the question itself.
Choice items carry a log-likelihood context and options; generation items a target and the
name of the check that scores them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from openscout.engines.base import Message, SamplingParams
from openscout.engines.http_bounds import nested_deeper_than

ItemKind = Literal["generate", "choice"]
PromptFormat = Literal["chat", "completion"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # an item has at most 26 options (lmeval_format checks)


@dataclass(frozen=True)
class Item:
    id: str  # unique and stable within its suite
    kind: ItemKind
    prompt: str  # the question as a person would ask it (chat models)
    check: str  # name of the scorer: number, label, choice, ifeval, assertions, ...
    target: Any = None  # the expected answer (choice items: index of the right option)
    system: str | None = None
    completion_prompt: str | None = None  # base models: few-shot, completion-style text
    completion_stop: tuple[str, ...] = ("\n",)
    stop: tuple[str, ...] = ()  # chat models: stop strings (user suites)
    choices: tuple[str, ...] = ()  # choice items: the option texts
    context: str | None = None  # choice items: text the options continue (log-likelihood)
    max_tokens: int = 64
    temperature: float = 0.0
    check_data: dict[str, Any] = field(default_factory=dict)  # data the check needs
    meta: dict[str, Any] = field(default_factory=dict)  # task, difficulty, ...

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # stored as "spec", the field's first name: suite digests and stored runs stay valid
        d["spec"] = d.pop("check_data")
        d["completion_stop"] = list(self.completion_stop)
        d["stop"] = list(self.stop)
        d["choices"] = list(self.choices)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Item:
        d = dict(d)
        d["check_data"] = d.pop("spec", None) or d.get("check_data") or {}
        d["completion_stop"] = tuple(d.get("completion_stop") or ())
        d["stop"] = tuple(d.get("stop") or ())
        d["choices"] = tuple(d.get("choices") or ())
        return cls(**d)


def items_json(items: list[Item]) -> str:
    """Canonical bytes of a list of items: equal seeds must give equal strings."""
    return json.dumps([i.to_dict() for i in items], sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Request:
    """One generation request, ready for an engine, in the form the model takes."""

    mode: PromptFormat
    messages: tuple[Message, ...] | None
    prompt: str | None
    params: SamplingParams

    def key_data(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "messages": [dict(m) for m in self.messages] if self.messages is not None else None,
            "prompt": self.prompt,
            "params": self.params.as_dict(),
        }

    @property
    def prefix_text(self) -> str:
        """Text used to order requests so that shared prefixes sit next to each other."""
        if self.prompt is not None:
            return self.prompt
        return "\x00".join(m["content"] for m in self.messages or ())


def choice_listing(question: str, choices: tuple[str, ...]) -> str:
    lines = [question] + [f"{LETTERS[i]}. {c}" for i, c in enumerate(choices)]
    return "\n".join(lines)


def build_request(item: Item, fmt: PromptFormat) -> Request:
    """The generation request for an item, for a chat or a completion model."""
    if item.kind == "choice":
        # Generative fallback for engines that cannot score options.
        letters = ", ".join(LETTERS[: len(item.choices)])
        text = (
            choice_listing(item.prompt, item.choices)
            + f"\nAnswer with the letter of the correct option ({letters})."
        )
        # a completion prompt is framed already (an lm-eval task's own doc_to_text, few-shot
        # included): framing it again asked "Question: Question: ..." (40th probe)
        framed = item.completion_prompt or f"Question: {item.prompt}"
        completion = choice_listing(framed, item.choices) + "\nAnswer:"
    else:
        text = item.prompt
        completion = item.completion_prompt or f"Question: {item.prompt}\nAnswer:"
    if fmt == "chat":
        msgs: list[Message] = []
        if item.system:
            msgs.append({"role": "system", "content": item.system})
        msgs.append({"role": "user", "content": text})
        params = SamplingParams(
            temperature=item.temperature, max_tokens=item.max_tokens, stop=item.stop
        )
        return Request("chat", tuple(msgs), None, params)
    if item.system:
        completion = item.system + "\n\n" + completion
    params = SamplingParams(
        temperature=item.temperature, max_tokens=item.max_tokens, stop=item.completion_stop
    )
    return Request("completion", None, completion, params)


# -- reading answers back --------------------------------------------------------------------

# a whole word: inside "answered" it read "Answer: 42 (I first answered 40)" as 40 (40th probe)
_EMPHASIS = re.compile(r"[*_`]+")
_BOXED = re.compile(r"\\boxed\{\s*([^{}]{1,40}?)\s*\}")
_SHORT_TAG = re.compile(r"</?[A-Za-z][\w-]{0,20}>")
_MARKER = re.compile(r"\banswer\b\s*(?:is\b)?\s*[:=]?", re.IGNORECASE)
_ABOUT_IT = re.compile(r"\b(?:this|that|my|your|our|their|its|his|her)\s+$", re.IGNORECASE)
# what precedes a conclusion, in a multiple-choice answer
_CUE = re.compile(
    r"(?:\b(?:answer|final|correct|so|therefore|thus)\b\s*(?:is\b)?\s*[:=]?|->|=>|\u2192)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _plain_marks(text: str) -> str:
    """The answer without the marks around a letter that are no part of it: Markdown's
    emphasis and code (chat models bold their answer: "The answer is **B**." was read as
    no choice, 54th probe), LaTeX's `\\boxed{B}` and short tags (`<answer>B</answer>`) as
    reasoning models end (55th)."""
    text = _BOXED.sub(r" \1 ", _EMPHASIS.sub("", text))
    return _SHORT_TAG.sub(" ", text)


def _tails(text: str) -> list[str]:
    """What follows each cue ("answer", "final", "correct", "so", "->"), the last first:
    only what followed the last "answer" was read, and "B. Hope this answer helps!" lost
    its letter (55th probe)."""
    found = list(_CUE.finditer(text))
    return [text[m.end() :].strip().lstrip("#").strip() for m in reversed(found)]


def _choice_tails(text: str, letters: str, echoed: bool) -> tuple[list[str], str]:
    """Where a marked letter is looked for, in order: the last line where it is a letter
    alone and what follows each cue; then the whole answer's start ("" where the answer
    opens by listing the options)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1:] if lines else []
    alone = [x for x in last if re.fullmatch(r"[(\[]?[" + letters + r"][)\].:]?", x)]
    return alone + _tails(text), "" if echoed else text.strip().lstrip("#").strip()


def _after_marker(text: str) -> str:
    """The text after the last 'Answer:' marker, or all of it when there is none."""
    found = list(_MARKER.finditer(text))
    return text[found[-1].end() :] if found else text


def unfenced(text: str) -> str:
    """The text inside a ```json (or bare ```) fence that wraps the whole answer, else the
    answer stripped. String methods, not a regex: a pattern with a blank run before the
    fence's newline backtracked in the square of a run of newlines (100,000 of them held
    `eval` 79 s, fifteenth probe)."""
    t = text.strip()
    if len(t) < 8 or not t.startswith("```") or not t.endswith("\n```"):
        return t
    inner = t[3:-4]
    for tag in ("json", "JSON"):
        if inner.startswith(tag):
            inner = inner[len(tag) :]
            break
    lead = len(inner) - len(inner.lstrip())
    # the fence's own line must end before the text: whitespace holding a newline
    return inner if "\n" in inner[:lead] else t


MAX_JSON_DEPTH = 100  # deeper output is no answer anyone asked for (a model stuck on "[")


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")


def _finite(digits: str) -> float:
    """A JSON number; one past a float's range (`1e999`) is no number JSON can mean."""
    value = float(digits)
    if not math.isfinite(value):
        raise ValueError(f"{digits[:20]} is beyond a number's range")
    return value


def answer_json(text: str) -> Any:
    """The answer's JSON, for every check that reads one; ValueError when it is not JSON or
    nests beyond MAX_JSON_DEPTH (json.loads fails at about 1000 levels with RecursionError:
    a model answering 1,200 "[" crashed eval, in an assertion (third probe) and in IFEval's
    JSON check (33rd probe)). Strict: Python reads `NaN` and `Infinity`, which passed
    `is-json` and every numeric bound of a schema (37th probe)."""
    try:
        data = json.loads(unfenced(text), parse_constant=_not_json, parse_float=_finite)
    except RecursionError as e:
        raise ValueError(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from e
    if nested_deeper_than(data, MAX_JSON_DEPTH):
        raise ValueError(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    return data


def extract_number(text: str) -> float | None:
    """The answer number: one right after an 'Answer:' marker (the last such), else the
    first number after the last marker, else the last number. "Answer: 42\nThis answer was
    computed in 3 steps." was read as 3 (55th probe)."""
    tail = _after_marker(text)
    nums = _NUMBER.findall(tail)
    right_after = [
        m[0]
        for found in reversed(list(_MARKER.finditer(text)))
        # "this answer is 100% certain" speaks of the answer, it gives none (56th probe)
        if not _ABOUT_IT.search(text[: found.start()])
        and (m := _NUMBER.match(text[found.end() :].lstrip(" \t\n*$")))
    ]
    if right_after:
        raw = right_after[0]
    elif tail is not text and nums:
        raw = nums[0]
    else:
        nums = _NUMBER.findall(text)
        if not nums:
            return None
        raw = nums[-1]
    try:
        number = float(raw.replace(",", ""))
    except ValueError:
        return None
    # 400 digits are `inf` as a float: no number anyone asked for, and not one JSON carries
    return number if math.isfinite(number) else None


def extract_label(text: str, labels: list[str]) -> str | None:
    """The first of `labels` (whole word, any case) after the marker, else in the text."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(x) for x in labels) + r")\b", re.IGNORECASE)
    for part in (_after_marker(text), text):
        m = pattern.search(part)
        if m:
            hit = m.group(1).lower()
            return next(x for x in labels if x.lower() == hit)
    return None


def extract_choice(text: str, choices: tuple[str, ...]) -> int | None:
    """Index of the chosen option: a letter (A., (B), 'answer is C') or the option's text."""
    letters = LETTERS[: len(choices)]
    plain = _plain_marks(text)
    # the options as the answer listed them ("A) Lyon B) Paris"): no choice by themselves,
    # an answer walking through them was read as the first one listed (55th probe)
    pairs = re.compile(
        "|".join(
            r"[(\[]?" + letters[i] + r"[)\].:][ \t]*" + re.escape(c) + r"(?!\w)"
            for i, c in enumerate(choices)
            if c
        )
        or r"(?!)",
        re.IGNORECASE,
    )
    # listed in the order of the options (A, B, C): an echo; a pick opens with the chosen
    # one and words on the others follow ("B. Paris\nA. Lyon is...": 56th probe)
    listed = [m[0].lstrip("([")[0].upper() for m in pairs.finditer(plain)]
    echoed = len(set(listed)) > 1 and listed == sorted(listed)
    # only a list is set aside: a single pair ("I would choose b) Paris") is the pick (56th)
    rest = pairs.sub(" ", plain) if echoed else plain
    first = pairs.search(plain.strip())
    opens_with_list = echoed and first is not None and first.start() == 0
    concluding, whole = _choice_tails(plain, letters, echoed=opens_with_list)
    # an answer that ends on a letter concluded with it ("So the correct choice is B.",
    # "Paris? Yes: B.": 56th probe), after a letter a cue marks
    ending = re.search(r"(?:^|[\s:(\[])([" + letters + r"])[)\]]?[.!]?\s*$", plain)
    for tail in [*concluding, *([ending.group(1)] if ending else []), whole]:
        # a letter marked as one: alone, or opening the answer (or what follows "answer",
        # "final", "so", "->" ...) with a mark ("B.", "(B)", "B: ...", "B Paris"); never
        # the article "A" or the pronoun "I" before a lower-case word (54th probe)
        marked = re.match(r"^[(\[]?([" + letters + r"])(?:[)\].:,]|\s*$|\s+(?![a-z]))", tail)
        if marked:
            return letters.index(marked.group(1))
    # then an option's text, before a letter met in passing: "Paris. A lovely city." was
    # read as A (54th probe); not an option merely listed
    if (said := _option_text(rest, choices)) is not None:
        return said
    for tail in [*_tails(rest), rest]:
        for m in re.finditer(r"(?:^|[\s(])([" + letters + r"])(?:[).:,]|\s|$)", tail):
            words = tail[m.end() :].lstrip()
            if m.group(1) in "AI" and words[:1].islower():  # "A city", "I think": words
                continue
            return letters.index(m.group(1))
    # last, an option's text inside a word: no whole word anywhere, the longest at the
    # first place ("x1000y")
    low = rest.lower()
    hits = [
        (low.find(c.lower()), -len(c), i) for i, c in enumerate(choices) if c and c.lower() in low
    ]
    return min(hits)[2] if hits else None


def _option_text(text: str, choices: tuple[str, ...]) -> int | None:
    """The option whose text the answer gives as a whole word: the earliest substring read
    "100" as the option "1" (39th probe); at one place the longest wins."""
    low = text.lower()
    whole = []
    for i, c in enumerate(choices):
        if c and (m := re.search(r"(?<!\w)" + re.escape(c.lower()) + r"(?!\w)", low)):
            whole.append((m.start(), -len(c), i))
    return min(whole)[2] if whole else None
