"""Turning a model's answer into a score in [0, 1], with per-item metrics and detail.

Built-in checks are pure. User-suite assertions may call a judge model or the embedding
model; they get those through a `ScoreContext`, so scoring never reaches for an engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from openscout.errors import OpenscoutError, PatternTimeoutError, ScoringError
from openscout.evals.items import Item
from openscout.evals.read_answer import extract_label, extract_number
from openscout.evals.read_choice import extract_choice


@dataclass
class Score:
    value: float  # the item's score in [0, 1]
    metrics: dict[str, float] = field(default_factory=dict)  # extra named per-item numbers
    detail: dict[str, Any] = field(default_factory=dict)  # what was extracted, why it failed


class ScoreContext(Protocol):
    """What assertions may use beyond the output: a judge model and an embedding similarity."""

    def judge(
        self, model_id: str | None, prompt: str, fresh: bool = False, max_tokens: int = 48
    ) -> str: ...

    def similarity(self, a: str, b: str) -> float: ...


def check_number(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    got = extract_number(output)
    ok = got is not None and math.isclose(got, float(item.target), abs_tol=1e-6)
    return Score(float(ok), {}, {"extracted": got})


def check_label(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    labels = list(item.check_data.get("labels") or [str(item.target)])
    got = extract_label(output, labels)
    ok = got is not None and got.lower() == str(item.target).lower()
    return Score(float(ok), {}, {"extracted": got})


def check_choice_text(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    """Generative fallback for multiple choice: read the letter (or option text) back."""
    got = extract_choice(output, item.choices)
    ok = got == item.target
    return Score(float(ok), {"acc": float(ok)}, {"extracted": got, "method": "generate"})


def check_ifeval(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    from openscout.evals.tasks.ifcheck import run_checks

    instructions = item.check_data["instructions"]
    # an empty answer follows no instruction, as in Google's reference (it checks only a
    # response that is not blank): "do not use the words ..." passed on nothing (44th probe)
    results = run_checks(output, instructions) if output.strip() else [False] * len(instructions)
    followed = sum(results) / len(results)
    strict = float(all(results))
    return Score(
        strict,
        {"prompt_level": strict, "inst_level": followed},
        {"followed": {ins["kind"]: ok for ins, ok in zip(instructions, results, strict=True)}},
    )


def check_assertions(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    from openscout.evals.assertions import score_assertions

    return score_assertions(item, output, ctx)


def check_exact(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    """lm-evaluation-harness's exact_match, after its regex filter when the task has one."""
    import string

    from openscout.evals import patterns

    data = item.check_data
    got = output
    if data.get("regex"):
        found = patterns.findall(data["regex"], output)
        select = data.get("group_select", 0)
        if -len(found) <= select < len(found):
            pick = found[select]
            got = pick if isinstance(pick, str) else next((g for g in pick if g), pick[0])
        else:  # no match, or fewer than the task picks from: an IndexError took the run down
            got = "[invalid]"  # (33rd probe)
        got = got.strip()
    pred, gold = got, str(item.target)
    for pattern in data.get("regexes_to_ignore", []):
        pred, gold = patterns.sub(pattern, "", pred), patterns.sub(pattern, "", gold)
    if data.get("ignore_case"):
        pred, gold = pred.lower(), gold.lower()
    if data.get("ignore_punctuation"):
        table = str.maketrans("", "", string.punctuation)
        pred, gold = pred.translate(table), gold.translate(table)
    ok = pred == gold
    return Score(float(ok), {"exact_match": float(ok)}, {"extracted": got})


# the metrics each check gives besides the score: an answer no check could read is a 0 on
# each (results.py), also when no answer of the model could be read (37th probe)
CHECK_METRICS: dict[str, tuple[str, ...]] = {
    "choice": ("acc",),
    "ifeval": ("prompt_level", "inst_level"),
    "exact": ("exact_match",),
}

CHECKS: dict[str, Callable[[Item, str, ScoreContext | None], Score]] = {
    "number": check_number,
    "label": check_label,
    "choice": check_choice_text,
    "ifeval": check_ifeval,
    "exact": check_exact,
    "assertions": check_assertions,
}


def score_generation(item: Item, output: str, ctx: ScoreContext | None = None) -> Score:
    try:
        return CHECKS[item.check](item, output, ctx)
    except PatternTimeoutError as e:  # the answer ran the suite's pattern past its limit
        raise ScoringError(f"item {item.id}: {e.message}") from e
    except (OpenscoutError, MemoryError):
        raise
    except RecursionError as e:
        # a check recursing on a hostile answer (JSON nested 1,200 deep crashed the whole run,
        # and again on every resume: the answer is cached) fails this item only
        raise ScoringError(f"item {item.id}: the answer nests too deeply to be checked") from e
    except Exception as e:  # the same for any check that breaks on one answer (33rd probe)
        raise ScoringError(
            f"item {item.id}: the {item.check} check failed on this answer: "
            f"{e.__class__.__name__}: {e}"
        ) from e


def score_choice_logprobs(item: Item, logprobs: Sequence[float]) -> Score:
    """lm-evaluation-harness's acc and acc_norm from the summed log-prob of each option.

    acc_norm divides by the option's length in characters, the harness's `len(choice)`: by
    UTF-8 bytes, an option with accents, CJK or emoji was picked where the harness picks
    another, beside the harness's published scores (40th probe)."""
    acc_pick = max(range(len(logprobs)), key=lambda i: logprobs[i])
    norm = [lp / max(1, len(c)) for lp, c in zip(logprobs, item.choices, strict=True)]
    norm_pick = max(range(len(norm)), key=lambda i: norm[i])
    acc = float(acc_pick == item.target)
    return Score(
        acc,
        {"acc": acc, "acc_norm": float(norm_pick == item.target)},
        {
            "logprobs": list(logprobs),
            "pick": acc_pick,
            "pick_norm": norm_pick,
            "method": "loglikelihood",
        },
    )
