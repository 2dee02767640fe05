"""Constraints + weights -> the Pareto front, one recommended model, and reasons in plain words.

Pure: it takes facts already measured (quality, speed, memory, cost) and known (licence,
openness) and returns a decision; it reads and writes nothing.

1. Constraints exclude models; each exclusion says why ("gemma-3-270m is excluded: its
   licence (Gemma Terms of Use) is not OSI-approved"). A value that was not measured does not
   pass a constraint on it. If nothing is left, the answer says which constraint no model
   meets and the best value there was, never an empty table.
2. Among the rest, the Pareto front on quality (up), $/1M tokens (down), tokens/s (up) and
   memory (down): a model is off the front when another is at least as good on all four
   and clearly better on one. Clearly: quality shown apart (the 95% intervals apart, or
   compare's paired test on the same items significant: quality_apart.py), speed, cost
   and memory by more than MEASURED_TIE (what runs of one model differ by). At least as
   good: as measured (a lower quality within the intervals is lower). Each pair is
   judged on its own two models, so a third model moves no pair (47th probe), and no cycle
   can form (the measured values would have to be equal all round). Unknown is the worst.
3. Each front model gets a weighted score from its own values alone, each axis from 0 to 1
   on ends fixed for every comparison (AXIS_RANGE: quality its score; speed, cost and memory
   on a log scale); the highest is recommended. Scaled over the set (0 the worst, 1 the
   best), a third model changed which of two others won, and 0.2% of jitter between two
   models took a whole weight; counted a point per factor of ten, speed outweighed quality.
4. A front model whose quality is shown below another's is not the pick while quality has
   weight (junk answered at once outbid quality on speed and cost: 49th and 50th probes).
5. The reasons name the weights, and the measured values of the recommended model beside
   the runner-up's, each axis said to be better, worse, equal or tied.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from openscout.axis_scale import axis_value, known
from openscout.errors import ConstraintError
from openscout.quality_apart import above, how_above, tied
from openscout.recommend_exclude import (
    LABEL_ORDER,
    MOF_ORDER,
    exclusions,
    incomplete,
    nobody_message,
    pending_models,
)
from openscout.recommend_words import and_list, values_text, worst_end
from openscout.units import human_bytes


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    quality: float | None = None  # accuracy on `suite`, in [0, 1]
    quality_low: float | None = None  # 95% interval
    quality_high: float | None = None
    suite: str | None = None
    output_tps: float | None = None  # decode: tokens after the first / their span
    # a whole answer's tokens over its request's time, TTFT included: the speed axis
    answer_tps: float | None = None
    memory_bytes: int | None = None
    cost_per_m: float | None = None  # blended $ per 1M tokens
    # the machine's price for a request's whole time, per 1M answer tokens: the cost axis
    request_cost_per_m: float | None = None
    ttft_s: float | None = None  # shown in the reasons, not weighted
    license: str | None = None
    osi_approved: bool | None = None
    commercial_use: bool | None = None
    openness_label: str | None = None  # open source | open weights | restricted weights
    mof_class: str | None = None  # Model Openness Framework class: I (most open), II, III, none
    fits: bool | None = None  # fits this machine's memory (catalog.fit); None: not estimated
    quality_failed: int = 0  # quality items that failed (left out of `quality`)
    quality_missing: bool = False  # quality asked, and no score came back
    speed_failed: bool = False  # the speed measurement failed: the model did not answer
    speed_retry: bool = False  # ... with failures a rerun may clear (429, 5xx, a cut stream)
    # models this one answered better on the same items, significantly by compare's paired
    # test: id -> p-value (quality_apart.py)
    quality_beats: dict[str, float] = {}
    # ... significantly alone, not held to the correction over all the pairs compared
    quality_beats_alone: dict[str, float] = {}
    quality_paired: list[str] = []  # models compared with this one by the paired test

    @property
    def speed_tps(self) -> float | None:
        """The speed axis: a whole answer's rate where measured, else the decode speed. A
        server holding its first token 2 s and then sending all 20 at once had 479 times the
        decode speed of one streaming them over the same 2 s, and the recommendation (37th
        probe); over the whole answer both are 10 tokens/s."""
        return self.answer_tps if self.answer_tps is not None else self.output_tps

    @property
    def cost_axis(self) -> float | None:
        """The cost axis: whole requests' where measured (compare._request_cost), else the
        blended cost. Input cost comes from prefill speed, prompt tokens over TTFT, and a
        server sending one character at once had a TTFT near zero and its input near free:
        16 times cheaper and recommended for the same work in the same time (39th probe)."""
        return self.request_cost_per_m if self.request_cost_per_m is not None else self.cost_per_m


class Constraints(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_quality: float | None = Field(default=None, ge=0.0, le=1.0)
    suite: str | None = None  # which suite min_quality refers to (informational)
    max_cost_per_m: float | None = Field(default=None, ge=0.0)
    min_tps: float | None = Field(default=None, ge=0.0)
    max_memory_bytes: int | None = Field(default=None, ge=0)
    osi_required: bool = False
    commercial_required: bool = False
    # a MOF class ("I", "II", "III") or an openness label ("open weights", "open source")
    min_openness: str | None = None

    @field_validator("min_openness")
    @classmethod
    def _known_level(cls, v: str | None) -> str | None:
        return parse_openness(v)

    def describe(self) -> list[str]:
        out = []
        if self.min_quality is not None:
            out.append(
                f"quality >= {self.min_quality:.2f}" + (f" on {self.suite}" if self.suite else "")
            )
        if self.max_cost_per_m is not None:
            out.append(f"cost <= ${self.max_cost_per_m:g} per 1M tokens")
        if self.min_tps is not None:
            out.append(f"speed >= {self.min_tps:g} tokens/s")
        if self.max_memory_bytes is not None:
            out.append(f"memory <= {human_bytes(self.max_memory_bytes)}")
        if self.osi_required:
            out.append("an OSI-approved licence")
        if self.commercial_required:
            out.append("commercial use allowed")
        if self.min_openness is not None:
            level = self.min_openness
            out.append(
                f"openness MOF Class {level} or better"
                if level in MOF_ORDER
                else f"openness {level!r} or better"
            )
        return out


# a weight, at most: only their shares count, and two of 1e308 summed to inf, a nan score
MAX_WEIGHT = 1e6


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quality: float = Field(default=0.5, ge=0.0, le=MAX_WEIGHT)
    cost: float = Field(default=0.2, ge=0.0, le=MAX_WEIGHT)
    speed: float = Field(default=0.2, ge=0.0, le=MAX_WEIGHT)
    memory: float = Field(default=0.1, ge=0.0, le=MAX_WEIGHT)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if self.quality + self.cost + self.speed + self.memory <= 0:
            raise ValueError("at least one weight must be positive")
        return self


@dataclass
class Ranked:
    id: str
    score: float
    on_front: bool
    dominated_by: str | None = None
    # a model whose quality is shown above this one's: not the pick while quality weighs
    quality_below: str | None = None


@dataclass
class Recommendation:
    recommended: str | None
    pareto_front: list[str]
    ranking: list[Ranked]
    excluded: dict[str, list[str]]
    reasons: list[str]
    message: str
    constraints: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_openness(text: str | None) -> str | None:
    """'I' / 'class-ii' / '3' -> a MOF class; 'open-weights' / 'open source' -> a label."""
    if text is None or not text.strip():
        return None
    label = text.strip().lower().replace("-", " ").replace("_", " ")
    if label in LABEL_ORDER:
        return label
    t = text.strip().upper().removeprefix("CLASS").strip(" -_")
    t = {"1": "I", "2": "II", "3": "III"}.get(t, t)
    if t in ("I", "II", "III"):
        return t
    raise ConstraintError(
        f"unknown openness level {text!r}",
        hint="use a MOF class (I most open, II, III) or a label (open source, open weights)",
    )


# -- constraints -----------------------------------------------------------------------------


_AXES = (
    ("quality", "quality", True),
    ("cost", "cost_axis", False),
    ("speed", "speed_tps", True),
    ("memory", "memory_bytes", False),
)


def _vector(c: Candidate) -> tuple[float, ...]:
    """Each axis oriented so that larger is better; unknown is the worst possible."""
    out = []
    for _, attr, high in _AXES:
        v = known(getattr(c, attr))
        out.append(float("-inf") if v is None else (v if high else -v))
    return tuple(out)


TIED = (
    "tied (the 95% intervals overlap, and the paired tests held to Holm's correction do not"
    " separate them)"
)
# Speed, cost and memory closer than this (relative) are not "better": back-to-back runs of
# one model on one machine differ by as much (docs/performance.md), and 0.2% of jitter
# between two identical servers took the recommendation (45th probe)
MEASURED_TIE = 0.10


def _close(x: float | None, y: float | None) -> bool:
    x, y = known(x), known(y)
    return x is not None and y is not None and abs(x - y) <= MEASURED_TIE * max(abs(x), abs(y))


def _compare_axis(a: Candidate, b: Candidate, axis: int) -> int:
    """1 when a is better on the axis, -1 when worse, 0 when equal or (quality) tied within
    the 95% intervals and by the paired test; speed, cost and memory as measured."""
    if axis == 0 and tied(a, b):
        return 0
    x, y = _vector(a)[axis], _vector(b)[axis]
    return (x > y) - (x < y)


def _clearly_better(a: Candidate, b: Candidate, axis: int) -> bool:
    """a better than b beyond what measuring again could undo: quality with the intervals
    apart, speed, cost and memory by more than MEASURED_TIE."""
    if _compare_axis(a, b, axis) <= 0:
        return False
    attr = _AXES[axis][1]
    return axis == 0 or not _close(getattr(a, attr), getattr(b, attr))


def dominates(a: Candidate, b: Candidate) -> bool:
    """At least as good on every axis as measured, and clearly better on one. Ties on the
    "at least as good" side made cycles (three models each within 10% of the next: an empty
    front, 46th probe); a tie with the set's best made one model's place depend on
    another's (47th); and quality tied within overlapping intervals let a model 30 points
    worse, significantly by the paired test, take the front by being 11% faster (48th)."""
    axes = range(len(_AXES))
    measured = _vector(a), _vector(b)
    return all(x >= y for x, y in zip(*measured, strict=True)) and any(
        _clearly_better(a, b, i) for i in axes
    )


def pareto_front(cands: list[Candidate]) -> list[Candidate]:
    return [c for c in cands if not any(dominates(o, c) for o in cands if o is not c)]


def measured_axes(cands: list[Candidate]) -> list[str]:
    """The axes some model has a value on: an axis nobody was measured on decides nothing
    and takes no share of the weights."""
    return [
        name
        for name, attr, _ in _AXES
        if any(axis_value(getattr(c, attr), name) is not None for c in cands)
    ]


def scores(cands: list[Candidate], w: Weights) -> dict[str, float]:
    """The weighted mean of each model's places on the measured axes (AXIS_RANGE), each
    from its own values: the difference between two models is theirs whatever else is
    compared. A value not measured where others were counts as the worst end, 0."""
    axes = measured_axes(cands)
    weight = _weights_on(w, axes)
    total = sum(weight.values())
    out = dict.fromkeys((c.id for c in cands), 0.0)
    for name, attr, _ in _AXES:
        if name in axes:
            for c in cands:
                out[c.id] += weight[name] * (axis_value(getattr(c, attr), name) or 0.0)
    return {k: v / total for k, v in out.items()} if total else out


def _weights_on(w: Weights, axes: list[str]) -> dict[str, float]:
    """The weights of the measured axes; all alike where the weights fall only on axes not
    measured (every score was 0.00 and the pick went by id: 49th probe)."""
    given = {name: getattr(w, name) for name in axes}
    return given if any(given.values()) else dict.fromkeys(axes, 1.0)


def quality_tied(a: Candidate, b: Candidate) -> bool:
    """Different quality scores not shown apart, by the intervals or the paired test."""
    return tied(a, b) and a.quality != b.quality


def axis_comparison(a: Candidate, b: Candidate) -> str:
    """'quality 0.62 [..] vs 0.55 [..]: tied (...); cost $0.010 vs ...':
    each axis with both measured values and which way it goes for `a`."""
    parts = []
    for i, (name, attr, _) in enumerate(_AXES):
        sign = _compare_axis(a, b, i)
        if name == "quality" and quality_tied(a, b):
            verdict = TIED
        elif name != "quality" and sign and _close(getattr(a, attr), getattr(b, attr)):
            verdict = f"tied within {MEASURED_TIE:.0%}, what runs of one model differ by"
        else:
            verdict = {1: "better", -1: "worse", 0: "equal"}[sign]
        parts.append(f"{name} {values_text(a, b, name)}: {verdict}")
    if a.ttft_s is not None and b.ttft_s is not None:
        way = (  # within 10%, as the other axes: "3 vs 3 ms: longer" was 2.72 vs 2.61 (51st)
            f"tied within {MEASURED_TIE:.0%}"
            if _close(a.ttft_s, b.ttft_s)
            else "shorter"
            if a.ttft_s < b.ttft_s
            else "longer"
        )
        # one decimal under 10 ms: "2 vs 2 ms: shorter" was 1.64 against 2.42 (52nd probe)
        digits = 1 if min(a.ttft_s, b.ttft_s) < 0.01 else 0
        ms = f"{a.ttft_s * 1000:.{digits}f} vs {b.ttft_s * 1000:.{digits}f} ms"
        parts.append(f"TTFT {ms}: {way}, not weighted")
    return "; ".join(parts)


def _better_with_values(a: Candidate, b: Candidate) -> str:
    """'cost ($0.250 vs $0.400 per 1M tokens) and speed (...)': where `a` is clearly better."""
    return and_list(
        [
            f"{name} ({values_text(a, b, name)})"
            for i, (name, _, _) in enumerate(_AXES)
            if _clearly_better(a, b, i)
        ]
    )


def _weights_text(w: Weights, axes: list[str]) -> str:
    weight = _weights_on(w, axes)
    total = sum(weight.values()) or 1.0
    shares = ", ".join(f"{name} {weight[name] / total:.2f}" for name in axes)
    unmeasured = [name for name, _, _ in _AXES if name not in axes]
    text = (
        f"weights {shares}; each axis from 0 to 1 for every comparison: quality its score,"
        " speed 1 to 1,000 tokens/s, cost $1,000 to $0.001 per 1M tokens and memory 1 TB to"
        " 10 MB on a log scale"
    )
    if unmeasured:
        text += f"; not measured, so not weighed: {', '.join(unmeasured)}"
    if axes and not any(getattr(w, name) for name in axes):
        text += "; the weights fall only on axes not measured, so the measured ones count alike"
    return text


def recommend(
    cands: list[Candidate], constraints: Constraints | None = None, weights: Weights | None = None
) -> Recommendation:
    k = constraints or Constraints()
    w = weights or Weights()
    if not cands:
        raise ConstraintError(
            "there are no models to choose from", hint="register one with `openscout models add`"
        )
    excluded = {c.id: why for c in cands if (why := incomplete(c, k) + exclusions(c, k))}
    reasons = [f"{cid} is excluded: {', and '.join(why)}" for cid, why in excluded.items()]
    eligible = [c for c in cands if c.id not in excluded]
    if not eligible:
        msg = (
            "no model has complete measurements: run the same command again to ask the "
            "failed items again, and see each model's errors"
            if all(incomplete(c, k) for c in cands)
            else nobody_message(cands, k)
        )
        return Recommendation(None, [], [], excluded, reasons, msg, k.describe())
    front = pareto_front(eligible)
    sc = scores(eligible, w)
    # never the pick over a model significantly better on quality, unless quality weighs 0
    below = {c.id: (c, o) for c in front if w.quality and (o := _quality_above(c, eligible))}
    reasons += [
        f"{c.id} is not recommended: its quality is below {o.id}'s {how_above(o, c)}"
        f" ({values_text(c, o, 'quality')}); with --weight quality=0, speed, cost and memory"
        " alone decide"
        for c, o in below.values()
    ]
    ranking = []
    order = sorted(eligible, key=lambda c: (c not in front, c.id in below, -sc[c.id], c.id))
    for c in order:
        dom = next((o for o in eligible if dominates(o, c)), None)
        under = below[c.id][1].id if c.id in below else None
        ranking.append(Ranked(c.id, round(sc[c.id], 4), c in front, dom.id if dom else None, under))
        if dom:
            tie_note = f"; their quality is {TIED}" if quality_tied(dom, c) else ""
            reasons.append(
                f"{c.id} is not on the Pareto front: {dom.id} is at least as good on every "
                f"axis and clearly better on {_better_with_values(dom, c)}{tie_note}"
            )
    if pending := pending_models(cands, k):
        msg = (
            f"no recommendation yet: the measurements of {and_list(pending)} are incomplete and"
            " could change the pick; run the same command again to ask the failed items"
            " again (without --no-cache, what was answered is kept), or leave them out; their"
            " errors say whether a judge, not the model, failed"
        )
        reasons = [*reasons, *_unknown_notes(eligible, w)]  # the message says it once
        return Recommendation(
            None, [c.id for c in front], ranking, excluded, reasons, msg, k.describe()
        )
    best = next(c for c in eligible if c.id == ranking[0].id)
    if w.quality and (doubt := _beaten_alone(best, eligible)):
        reasons = [*reasons, *_unknown_notes(eligible, w)]
        return Recommendation(
            None, [c.id for c in front], ranking, excluded, reasons, doubt, k.describe()
        )
    reasons[:0] = _recommended_reasons(best, eligible, front, ranking, sc, w, below)
    reasons += _unknown_notes(eligible, w)
    msg = f"recommended: {best.id}"
    return Recommendation(
        best.id, [c.id for c in front], ranking, excluded, reasons, msg, k.describe()
    )


def _unknown_notes(eligible: list[Candidate], w: Weights) -> list[str]:
    """Say where a model is scored at an axis's worst end for a value not measured, where
    others were: silent, a hosted model without a price lost to a worse local one (48th)."""
    axes = measured_axes(eligible)
    out = []
    for name, attr, _ in _AXES:
        if name not in ("cost", "memory") or name not in axes or not getattr(w, name):
            continue
        out += [
            worst_end(c.id, name) for c in eligible if axis_value(getattr(c, attr), name) is None
        ]
    return out


def _beaten_alone(best: Candidate, eligible: list[Candidate]) -> str | None:
    """Why there is no clear pick where another model's quality is above the best-scored
    one's by the paired test alone, not after the correction over all the pairs: a third
    model in the comparison (a weak one, or a dominated one) held the test under the bound,
    and junk right on none was recommended over a model right on 6 of 20 (54th probe)."""
    rivals = [
        (o, o.quality_beats_alone[best.id]) for o in eligible if best.id in o.quality_beats_alone
    ]
    if not rivals:
        return None
    o, p = min(rivals, key=lambda r: r[1])
    return (
        f"no clear pick: {best.id} scores highest, but {o.id}'s quality is above its by the"
        f" paired test on the items both answered alone (p={p:.2g}), not after the"
        " correction over all the pairs compared; measure more items (--limit), or leave"
        " out models that cannot be the pick"
    )


def _quality_above(c: Candidate, cands: list[Candidate]) -> Candidate | None:
    """A model whose quality is shown above c's (quality_apart.above). The weighted score
    let speed and cost outbid that: an endpoint answering junk at once (0.00) was
    recommended over a model right on 30% of the items, p=0.0005 (49th probe)."""
    return next((o for o in cands if above(o, c)), None)


def _recommended_reasons(
    best: Candidate,
    eligible: list[Candidate],
    front: list[Candidate],
    ranking: list[Ranked],
    sc: dict[str, float],
    w: Weights,
    below: dict[str, Any],
) -> list[str]:
    """Why `best`: its score against the runner-up's, what is weighted, and the measured
    differences against the runner-up that decided. A front model significantly worse on
    quality (`below`) may score higher: the pick is the highest of the others."""
    contenders = [c for c in front if c.id not in below]
    among = f"among the {len(contenders)} models" if len(contenders) > 1 else "as the only model"
    if below:
        among += " not significantly worse on quality than another"
    runner = (
        next((c for c in eligible if c.id == ranking[1].id), None) if len(ranking) > 1 else None
    )
    # a runner-up significantly worse on quality may score higher: not the score beaten
    shown = runner is not None and runner.id not in below
    against = f" against {runner.id}'s {sc[runner.id]:.2f}" if shown else ""
    why = (
        f"{best.id} is recommended: the highest weighted score ({sc[best.id]:.2f}{against}) "
        f"{among} on the Pareto front"
    )
    ties = [o.id for o in contenders if o is not best and abs(sc[o.id] - sc[best.id]) < 1e-9]
    if ties:
        why += f" (tied with {', '.join(ties)}; set --weight to say what matters more)"
    out = [why, f"the score: {_weights_text(w, measured_axes(eligible))}"]
    if runner:
        out.append(f"{best.id} against {runner.id}: {axis_comparison(best, runner)}")
    for o in eligible:
        if o is not best and quality_tied(best, o):
            out.append(
                f"the quality difference between {best.id} and {o.id} is within their 95% "
                "intervals: measure more items (--limit) to separate them"
            )
    return out + _circle_notes(best, below, sc)


def _circle_notes(best: Candidate, below: dict[str, Any], sc: dict[str, float]) -> list[str]:
    """Where a model set aside for a third one's quality scores higher than the pick, their
    own quality tied: the three beat one another in a circle, and the pick rests on the
    third. No rule can keep both this pick and the rule that a model significantly worse on
    quality is never the pick; the reasons say which gave way (50th probe)."""
    return [
        f"{c.id} scores higher than {best.id} ({sc[c.id]:.2f} against {sc[best.id]:.2f}) with"
        f" their quality {TIED}, but {o.id}'s quality is shown above {c.id}'s"
        f" {how_above(o, c)} and not above {best.id}'s: the choice between"
        f" {best.id} and {c.id} rests on {o.id}, as no model significantly worse on quality"
        " than another is the pick while quality has weight"
        for c, o in below.values()
        if sc[c.id] > sc[best.id] and not above(best, c)
    ]
