"""Which models the recommendation leaves out, and why, in words: constraints the user set
(licence, openness, quality, cost, speed, memory) and measurements a rerun may complete.
recommend.py decides among the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openscout.recommend_words import cost_tokens, speed_unit
from openscout.units import human_bytes

if TYPE_CHECKING:
    from openscout.recommend import Candidate, Constraints

# Model Openness Framework classes, most open first; "none" meets no class.
MOF_ORDER = {"I": 1, "II": 2, "III": 3, "none": 4}
# Openness labels of openscout.catalog.openness, most open first.
LABEL_ORDER = {"open source": 1, "open weights": 2, "restricted weights": 3}


def incomplete(c: Candidate, k: Constraints) -> list[str]:
    """A quality score left without its failed items is no score to rank by: a model whose
    server failed the items it could not answer, or whose answers broke the judge, was
    ranked on the rest and recommended (34th probe)."""
    why = []
    if c.quality_failed:
        suite = f" on {c.suite or k.suite}" if (c.suite or k.suite) else ""
        why.append(f"its quality{suite} is incomplete ({c.quality_failed} item(s) failed)")
    if c.quality_missing:  # a server failing every item was recommended (50th probe)
        why.append("its quality was asked and not measured (see its errors)")
    if c.speed_failed:  # a model that answered nothing was recommended over one whose speed
        why.append("its speed measurement failed")  # could not be measured (38th probe)
    return why


def exclusions(c: Candidate, k: Constraints) -> list[str]:
    """Why this candidate fails the constraints, one plain sentence part per failure."""
    why = []
    if c.fits is False:
        why.append("it does not fit in this machine's memory")
    suite = f" on {c.suite or k.suite}" if (c.suite or k.suite) else ""
    if k.min_quality is not None:
        if c.quality is None:
            why.append(f"its quality{suite} was not measured")
        elif c.quality < k.min_quality:
            why.append(f"its quality{suite} ({c.quality:.2f}) is below {k.min_quality:.2f}")
    # judged on the axes the ranking uses: the decode and blended figures are the server's
    # timing of its first token, which a server holding it and bursting the rest fakes at
    # will (a 132,660 tokens/s "decode" met --min-tps and had the honest model excluded:
    # 40th probe)
    if k.max_cost_per_m is not None:
        if c.cost_axis is None:
            why.append("its cost per token is unknown")
        elif c.cost_axis > k.max_cost_per_m:
            why.append(
                f"it costs ${c.cost_axis:.3g} per 1M {cost_tokens(c)}, above ${k.max_cost_per_m:g}"
            )
    if k.min_tps is not None:
        if c.speed_tps is None:
            why.append("its speed was not measured")
        elif c.speed_tps < k.min_tps:
            why.append(f"it answers at {c.speed_tps:.1f} {speed_unit(c)}, below {k.min_tps:g}")
    if k.max_memory_bytes is not None:
        if c.memory_bytes is None:
            why.append("its memory use is unknown")
        elif c.memory_bytes > k.max_memory_bytes:
            why.append(
                f"it uses {human_bytes(c.memory_bytes)}, above {human_bytes(k.max_memory_bytes)}"
            )
    lic = f" ({c.license})" if c.license else ""
    if k.osi_required and c.osi_approved is not True:
        why.append(
            f"its licence{lic} is not OSI-approved"
            if c.osi_approved is False
            else f"its licence{lic} is not known to be OSI-approved"
        )
    if k.commercial_required and c.commercial_use is not True:
        why.append(
            f"its licence{lic} does not allow commercial use"
            if c.commercial_use is False
            else f"its licence{lic} is not known to allow commercial use"
        )
    need = k.min_openness
    if need in MOF_ORDER:
        if c.mof_class is None:
            why.append(f"its openness is unknown (needed: MOF Class {need})")
        elif MOF_ORDER.get(c.mof_class, 99) > MOF_ORDER[need]:
            have = "meets no MOF class" if c.mof_class == "none" else f"is MOF Class {c.mof_class}"
            why.append(f"its openness {have}, below Class {need}")
    elif need in LABEL_ORDER:
        if c.openness_label is None:
            why.append(f"its openness is unknown (needed: {need})")
        elif LABEL_ORDER.get(c.openness_label, 99) > LABEL_ORDER[need]:
            why.append(f"it is {c.openness_label}, less open than {need}")
    return why


_CONSTRAINT_FIELDS = (
    "min_quality",
    "max_cost_per_m",
    "min_tps",
    "max_memory_bytes",
    "osi_required",
    "commercial_required",
    "min_openness",
)


def nobody_message(cands: list[Candidate], k: Constraints) -> str:
    """Name each constraint that no model meets on its own, with the best value there was."""
    single: list[str] = []
    checks: list[tuple[str, Constraints, str]] = []
    for name in _CONSTRAINT_FIELDS:
        value = getattr(k, name)
        if value is None or value is False:
            continue
        only = type(k)(**{name: value, "suite": k.suite})
        checks.append((name, only, only.describe()[0]))
    for name, only, text in checks:
        if all(exclusions(c, only) for c in cands):
            single.append(f"{text}{_best_hint(cands, name)}")
    if single:
        return "no model satisfies " + "; no model satisfies ".join(single)
    return "no model satisfies all the constraints together (" + ", ".join(k.describe()) + ")"


def _best_hint(cands: list[Candidate], name: str) -> str:
    def best(attr: str, high: bool) -> Candidate | None:
        known = [c for c in cands if getattr(c, attr) is not None]
        if not known:
            return None
        return (
            max(known, key=lambda c: getattr(c, attr))
            if high
            else min(known, key=lambda c: getattr(c, attr))
        )

    if name == "min_quality" and (b := best("quality", True)):
        return f" (best: {b.id} at {b.quality:.2f})"
    if name == "max_cost_per_m" and (b := best("cost_axis", False)):
        return f" (cheapest: {b.id} at ${b.cost_axis:.3g} per 1M {cost_tokens(b)})"
    if name == "min_tps" and (b := best("speed_tps", True)):
        return f" (fastest: {b.id} at {b.speed_tps:.1f} {speed_unit(b)})"
    if name == "max_memory_bytes" and (b := best("memory_bytes", False)):
        return f" (smallest: {b.id} at {human_bytes(b.memory_bytes or 0)})"
    return ""


# -- Pareto front and score ------------------------------------------------------------------


def pending_models(cands: list[Candidate], k: Constraints) -> list[str]:
    """Models a rerun may complete, and that pass every constraint on what is not measured
    (licence, openness): the pick waits for them. Excluded, the others' best was picked
    whatever its quality: a judge unable to judge one model's answers (51st probe), or one
    429 on its speed prompt (52nd), left a model right on none recommended. It waits with
    quality weighing nothing too: the incomplete model is excluded, and the pick went at once
    to a slower, dearer one (53rd)."""
    unmeasured = k.model_copy(update={"min_quality": None, "min_tps": None, "max_cost_per_m": None})
    return [
        c.id
        for c in cands
        if (c.speed_retry or ((c.quality_failed or c.quality_missing) and not c.speed_failed))
        and not exclusions(c, unmeasured)
    ]
