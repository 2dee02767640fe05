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
    """The question with its options lettered; options that are their own letters (an
    lm-eval MMLU task: the texts are in the question) are not listed again as "A. A"."""
    if "".join(c.strip() for c in choices) == LETTERS[: len(choices)]:
        return question
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


# -- reading answers back (read_answer.py and read_choice.py read numbers, labels, options)


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
