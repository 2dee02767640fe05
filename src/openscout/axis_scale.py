"""Where a measured value sits on the recommendation's axes: from 0 (the worst end) to 1 on
ends fixed for every comparison, so that a model's score is its own (recommend.py)."""

from __future__ import annotations

import math


def known(v: float | None) -> float | None:
    """A measured value to rank by, or None: not finite is not measured (a price of 1e308
    an hour made a cost of inf, "tied within 10%" with any other: 47th probe)."""
    return None if v is None or not math.isfinite(v) else float(v)


# Where each measured axis runs from 0 to 1 in the score, on a log scale, the same for every
# comparison: 1 to 1,000 tokens/s, $0.001 to $1,000 per 1M tokens, 10 MB to 1 TB. Values
# past an end count as that end. Each axis spans what quality spans (0 to 1): counted a
# point per factor of ten, 36 times the speed of an endpoint answering junk at once beat a
# perfect model (48th probe); scaled between the models compared, a third model changed
# which of two others won (47th).
AXIS_RANGE = {"speed": (1.0, 1e3), "cost": (1e-3, 1e3), "memory": (1e7, 1e12)}


def axis_value(value: float | None, name: str) -> float | None:
    """A model's place on one axis (quality, speed, cost or memory), from 0 (the worst end)
    to 1, from its own value alone; None where it was not measured."""
    v = known(value)
    if v is None or v < 0:
        return None
    if name == "quality":
        return min(1.0, v)
    low, high = AXIS_RANGE[name]
    x = (math.log10(min(max(v, low), high)) - math.log10(low)) / math.log10(high / low)
    return x if name == "speed" else 1.0 - x
