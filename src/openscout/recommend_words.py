"""The recommendation's measured values in words: each value with its unit, as the reasons
and the exclusions write them (recommend.py decides; this only writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openscout.units import human_bytes, money

if TYPE_CHECKING:
    from openscout.recommend import Candidate


def value_text(c: Candidate, name: str) -> str:
    """One measured value as the reasons write it (with its interval for quality)."""
    if name == "quality":
        if c.quality is None:
            return "not measured"
        ci = (
            f" [{c.quality_low:.2f}, {c.quality_high:.2f}]"
            if c.quality_low is not None and c.quality_high is not None
            else ""
        )
        return f"{c.quality:.2f}{ci}"
    if name == "cost":
        return "unknown" if c.cost_axis is None else money(c.cost_axis)
    if name == "speed":
        return "not measured" if c.speed_tps is None else f"{c.speed_tps:.1f}"
    return "not measured" if c.memory_bytes is None else human_bytes(c.memory_bytes)


UNITS = {
    "quality": "",
    "cost": " per 1M tokens",
    "speed": " tokens/s over a whole answer",
    "memory": "",
}


def speed_unit(c: Candidate) -> str:
    return "tokens/s over a whole answer" if c.answer_tps is not None else "output tokens/s"


def cost_tokens(c: Candidate) -> str:
    return "answer tokens of whole requests" if c.request_cost_per_m is not None else "tokens"


def values_text(a: Candidate, b: Candidate, name: str) -> str:
    unit = UNITS[name]
    if name == "speed" and (a.answer_tps is None or b.answer_tps is None):
        unit = " output tokens/s"  # the decode speed stood in
    if name == "cost" and a.request_cost_per_m is not None and b.request_cost_per_m is not None:
        unit = " per 1M answer tokens of whole requests"
    return f"{value_text(a, name)} vs {value_text(b, name)}{unit}"


# where a value not measured is scored on its axis, and what the user can do about it
WORST_END = {
    "cost": ("its cost is unknown", "$1,000 per 1M tokens", "give its price with --price-per-hour"),
    "memory": ("its memory here was not measured", "1 TB", "a remote model's is not measured"),
}


def worst_end(model_id: str, name: str) -> str:
    """A model scored at an axis's worst end for a value not measured (cost or memory)."""
    said, end, hint = WORST_END[name]
    return f"{model_id}: {said}, so it is scored at the axis's worst end ({end}): {hint}"


def and_list(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
