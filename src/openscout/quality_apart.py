"""Whether one model's quality is shown to be above another's: their 95% intervals apart,
or compare's paired test on the items both answered significant (Candidate.quality_beats).

The intervals alone are blunt: 0 of 20 right ([0.00, 0.16]) and 6 of 20 ([0.15, 0.52])
overlap, while the paired test on the same items gives p=0.031, and an endpoint answering
junk at once was recommended as "tied" with a model right on 30% (50th probe). The paired
test is what `compare` prints beside the recommendation; with more than two models its
significance is held to a correction over the pairs (`paired_held.with_paired`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openscout.recommend import Candidate


def intervals_apart(a: Candidate, b: Candidate) -> bool:
    """a's interval lies wholly above b's."""
    if a.quality_low is None or b.quality_high is None:
        return False
    return a.quality_low > b.quality_high


def above(a: Candidate, b: Candidate) -> bool:
    """a's quality is shown above b's: by the paired test where the two were compared on
    the same items (held to the correction over all the pairs), else by the intervals. The
    intervals beside the test were a route held to no correction: among ten equal models
    some two lay apart in 11-17% of comparisons (54th probe)."""
    if b.id in a.quality_beats:
        return True
    tested = b.id in a.quality_paired or a.id in b.quality_paired
    return not tested and intervals_apart(a, b)


def tied(a: Candidate, b: Candidate) -> bool:
    """Both measured with intervals, and neither shown above the other."""
    known = None not in (a.quality_low, a.quality_high, b.quality_low, b.quality_high)
    return known and not above(a, b) and not above(b, a)


def how_above(a: Candidate, b: Candidate) -> str:
    """How a was shown above b, as the reasons say it."""
    if b.id in a.quality_beats:
        return f"by the paired test on the items both answered (p={a.quality_beats[b.id]:.2g})"
    return "beyond the 95% intervals"
