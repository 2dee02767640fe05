"""How open is a model, really? A pure function of the catalog facts (no I/O, no state).

Five criteria, each open / partial / closed / unknown with its evidence:
training datasets, full weights, evaluation code, training code, training metrics and logs.

Inheritance: a derivative cannot be more open than its base about what the base withheld.
Training data, training code and training logs take the *least* open of the model's own
status and its base's effective status (order: open > partial > unknown > closed); an
adapter also inherits the base's weights. The licences of every ancestor keep applying.

Label:
  open source        weights, training data and training code all open, OSI-approved licence
                     throughout the lineage
  open weights       weights open under a licence without use restrictions (OSI-approved,
                     open-data, or a non-OSI permissive one such as Apple's sample-code licence)
  restricted weights anything else: custom terms with use restrictions, non-commercial,
                     gated or unknown weights, or an unknown licence

Model Openness Framework (White et al. 2024, arXiv:2403.13784), mapped to our criteria:
  Class III open model     weights open under a licence without use restrictions
  Class II  open tooling   + training code and evaluation code open
  Class I   open science   + training data and training logs (metrics, checkpoints) open
Unknown never counts as open, anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from openscout.catalog.licenses import License, get_license
from openscout.catalog.schema import CRITERIA, CRITERION_LABELS, ModelEntry, Status

if TYPE_CHECKING:
    from openscout.catalog.loader import Catalog

Label = Literal["open source", "open weights", "restricted weights"]
MofClass = Literal["I", "II", "III", "none"]
RANK: dict[str, int] = {"closed": 0, "unknown": 1, "partial": 2, "open": 3}
INHERITED = ("training_data", "training_code", "training_logs")
LABEL_RANK: dict[str, int] = {"restricted weights": 0, "open weights": 1, "open source": 2}
MOF_RANK: dict[str, int] = {"none": 0, "III": 1, "II": 2, "I": 3}
MAX_DEPTH = 64  # lineage longer than this (or a cycle) is cut and treated as unknown


class CriterionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    label: str
    status: Status  # effective, after inheritance
    own_status: Status  # what this release alone publishes
    evidence: list[str]
    sources: list[str]
    inherited_from: str | None = None  # the ancestor whose gap limits this criterion


class OpennessAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    model_id: str
    label: Label
    mof_class: MofClass
    osi_approved: bool  # the model's licence and every ancestor's
    commercial_use: Literal["yes", "conditional", "no", "unknown"]
    license: dict[str, Any]
    inherited_licenses: list[dict[str, Any]]
    criteria: dict[str, CriterionResult]
    base_chain: list[str]
    inherited_gaps: list[str]
    reasons: list[str]
    score: int  # for sorting: higher is more open

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _least(a: str, b: str) -> str:
    return a if RANK[a] <= RANK[b] else b


def _commercial(licenses: list[License]) -> Literal["yes", "conditional", "no", "unknown"]:
    order = {"no": 0, "unknown": 1, "conditional": 2, "yes": 3}
    return min((lic.commercial_use for lic in licenses), key=lambda c: order[c])


def _own(entry: ModelEntry) -> dict[str, CriterionResult]:
    out = {}
    for name in CRITERIA:
        ev = getattr(entry.openness, name)
        out[name] = CriterionResult.model_construct(  # trusted, typed input: skip re-validation
            criterion=name,
            label=CRITERION_LABELS[name],
            status=ev.status,
            own_status=ev.status,
            evidence=[ev.evidence],
            sources=[str(ev.source)] if ev.source else [],
        )
    return out


Effective = tuple[dict[str, CriterionResult], list[License], list[str], list[str]]


def _effective(
    entry: ModelEntry,
    catalog: Catalog,
    depth: int,
    seen: frozenset[str],
    memo: dict[str, Effective] | None,
) -> Effective:
    """(criteria, licences of the lineage, base chain, notes), recursing into the base."""
    if memo is not None and entry.id in memo:
        return memo[entry.id]
    result = _effective_uncached(entry, catalog, depth, seen, memo)
    if memo is not None:
        memo[entry.id] = result
    return result


def _effective_uncached(
    entry: ModelEntry,
    catalog: Catalog,
    depth: int,
    seen: frozenset[str],
    memo: dict[str, Effective] | None,
) -> Effective:
    from openscout.catalog.lineage import link_of

    crit = _own(entry)
    licenses = [get_license(entry.license)]
    in_catalog = catalog.get(entry.id) is entry
    link = catalog.parent_links().get(entry.id) if in_catalog else link_of(entry, catalog.ids)
    if link is None:
        return crit, licenses, [], []
    base = catalog.get(link.base)
    how = "inferred from the model card" if link.inferred else "declared"
    if base is None or depth >= MAX_DEPTH or link.base.lower() in seen:
        why = "is not in the catalog" if base is None else "closes a cycle or too long a lineage"
        note = f"base model {link.base} ({how}) {why}: what it withholds is unknown"
        unknown = "unknown"
        for name in INHERITED:
            c = crit[name]
            if RANK[unknown] < RANK[c.status]:
                crit[name] = c.model_copy(
                    update={
                        "status": unknown,
                        "inherited_from": link.base,
                        "evidence": [
                            *c.evidence,
                            f"base {link.base}: {why}, so unknown",
                        ],
                    }
                )
        # The base's own licence is unknown to us; the derivative's licence still stands, and
        # the note says the base's terms were not checked.
        return crit, licenses, [link.base], [note + "; its licence terms were not checked"]
    base_crit, base_lic, base_chain, notes = _effective(
        base, catalog, depth + 1, seen | {entry.id.lower()}, memo
    )
    names = INHERITED + (("weights",) if link.relation == "adapter" else ())
    for name in names:
        mine, theirs = crit[name], base_crit[name]
        if RANK[theirs.status] < RANK[mine.status]:
            origin = theirs.inherited_from or base.id
            crit[name] = mine.model_copy(
                update={
                    "status": theirs.status,
                    "inherited_from": origin,
                    "evidence": [*mine.evidence, f"inherited from {origin}: {theirs.evidence[0]}"],
                    "sources": mine.sources + theirs.sources,
                }
            )
    if link.inferred:
        notes = [*notes, f"base {base.id} inferred from the model card: {link.evidence}"]
    return crit, licenses + base_lic, [base.id, *base_chain], notes


def assess_openness(
    entry: ModelEntry, catalog: Catalog, memo: dict[str, Effective] | None = None
) -> OpennessAssessment:
    """Judge one entry. `catalog` supplies the base models for inheritance. Callers judging many
    entries of one catalog may pass the same `memo` dict, so shared ancestors are judged once."""
    crit, licenses, chain, notes = _effective(entry, catalog, 0, frozenset(), memo)
    own_lic, lineage = licenses[0], licenses[1:]
    osi = all(lic.osi_approved for lic in licenses)
    free = all(lic.free for lic in licenses)
    s = {name: c.status for name, c in crit.items()}
    reasons: list[str] = list(notes)
    gaps = [
        f"{c.label}: {c.status} (from {c.inherited_from})"
        for c in crit.values()
        if c.inherited_from
    ]

    not_free = list({lic.id: lic for lic in licenses if not lic.free}.values())
    if s["weights"] != "open":
        label: Label = "restricted weights"
        reasons.append(f"full weights are {s['weights']}")
    elif not_free:
        label = "restricted weights"
        reasons.append(
            "licence restricts use: "
            + "; ".join(
                f"{lic.name} ({lic.restrictions[0] if lic.restrictions else lic.kind})"
                for lic in not_free
            )
        )
    elif osi and s["training_data"] == "open" and s["training_code"] == "open":
        label = "open source"
        reasons.append(
            "weights, training data and training code are open under an OSI-approved licence"
        )
    else:
        label = "open weights"
        missing = [
            CRITERION_LABELS[n] for n in ("training_data", "training_code") if s[n] != "open"
        ]
        reasons.append(
            f"weights open under {own_lic.name}"
            + (f"; not open: {', '.join(missing)}" if missing else "")
            + ("" if osi else "; licence is not OSI-approved")
        )

    mof: MofClass = "none"
    if s["weights"] == "open" and free:
        mof = "III"
        if s["training_code"] == "open" and s["evaluation_code"] == "open":
            mof = "II"
            if s["training_data"] == "open" and s["training_logs"] == "open":
                mof = "I"
    held = [CRITERION_LABELS[n] for n in CRITERIA if s[n] != "open"]
    reasons.append(
        f"MOF class {mof}"
        + (f"; not open: {', '.join(held)}" if held else "; every criterion open")
    )

    score = LABEL_RANK[label] * 100 + MOF_RANK[mof] * 20 + sum(RANK[v] for v in s.values())
    return OpennessAssessment.model_construct(  # built from typed parts above
        model_id=entry.id,
        label=label,
        mof_class=mof,
        osi_approved=osi,
        commercial_use=_commercial(licenses),
        license=own_lic.to_dict(),
        inherited_licenses=[
            lic.to_dict() for lic in {x.id: x for x in lineage if x.id != own_lic.id}.values()
        ],
        criteria=crit,
        base_chain=chain,
        inherited_gaps=gaps,
        reasons=reasons,
        score=score,
    )
