"""The comparison's outside view: published scores and hosted prices for each compared model,
and how far each public benchmark's ranking agrees with the user's suite (Kendall tau).

Published scores come from the catalog (curated facts plus `catalog import-results`), looked
up by the model's catalog id; they sit beside the measured quality, never inside it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from openscout.catalog.published import PublishedScore, all_scores, scores_for
from openscout.catalog.rank_agreement import MIN_MODELS, Z95, RankAgreement, rank_agreement
from openscout.comparison import ModelComparison, PublishedResult, RentOption
from openscout.errors import DataFileError
from openscout.perf.cost import hosted_prices_for


def _result(s: PublishedScore) -> PublishedResult:
    return PublishedResult(
        benchmark=s.benchmark,
        value=s.value,
        percent=round(s.percent, 2),
        setting=s.setting,
        publisher=s.publisher,
        date=s.date,
        source=str(s.source),
        quote=s.quote,
        origin=s.origin,
    )


def with_published_and_rent(
    models: list[ModelComparison], home: Path
) -> tuple[list[ModelComparison], list[str]]:
    """Each model with its published scores and hosted prices; notes on what went wrong."""
    notes: list[str] = []
    try:
        scores = all_scores(home)
    except DataFileError as e:  # a damaged import cache: curated scores still show
        notes.append(f"imported published results were not read: {e.message}")
        scores = all_scores(None)
    out = []
    for m in models:
        cid = m.catalog_id
        published = [_result(s) for s in scores_for(cid, scores)] if cid else []
        rent = [RentOption.of(p) for p in hosted_prices_for(cid)]
        out.append(m.model_copy(update={"published": published, "rent": rent}))
    return out, notes


def rank_agreements(models: list[ModelComparison], *, seed: int = 0) -> list[RankAgreement]:
    """Tau for every public benchmark that three or more compared models have, against the
    user's quality suite."""
    pairs: dict[tuple[str, str], dict[str, tuple[float, float]]] = defaultdict(dict)
    suite = ""
    your_se: dict[str, float] = {}
    for m in models:
        q = m.quality
        if q is None:
            continue
        suite = q.suite or suite
        if q.ci_low is not None and q.ci_high is not None:  # scores a few items apart
            your_se[m.id] = (q.ci_high - q.ci_low) / (2 * Z95)  # do not settle an order
        for p in m.published:
            pairs[(p.benchmark, p.publisher)][m.id] = (p.percent, q.score)
    out = []
    for (bench, publisher), by_model in sorted(pairs.items()):
        if len(by_model) < MIN_MODELS:
            continue
        r = rank_agreement(bench, publisher, suite, by_model, your_se=your_se, seed=seed)
        if r is not None:
            out.append(r)
    return out
