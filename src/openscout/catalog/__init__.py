"""The catalog: curated facts about open models, their openness, family trees and fit.

Stable API for the rest of openscout (comparison, web UI, recommend):

    from openscout.catalog import load_catalog, assess_openness, estimate_fit, search

    cat = load_catalog()                        # Catalog, validated once per process
    entry = cat.get("mistralai/Mistral-7B-v0.1")  # ModelEntry | None (case-insensitive id)
    a = assess_openness(entry, cat)             # OpennessAssessment (pure)
    a.label        # "open source" | "open weights" | "restricted weights"
    a.mof_class    # "I" | "II" | "III" | "none"  (Model Openness Framework)
    a.osi_approved # bool, for the model's licence and every ancestor's
    a.commercial_use  # "yes" | "conditional" | "no" | "unknown"
    a.criteria     # {name: CriterionResult(status, own_status, evidence, sources, inherited_from)}
    a.to_dict()    # JSON-ready

    report = estimate_fit("smollm2-135m-instruct", context=8192, quant="Q4_K_M")
    report.verdict, report.required_bytes, report.decode_tokens_per_s, report.to_dict()
    # the model may be a catalog id, a registered model id (openscout.models) or a GGUF path

    search(cat, text="mistral", license="osi", max_params_b=8, sort="openness")  # -> dict
    family_tree(cat, "mistralai/Mistral-7B-v0.1")  # ancestors + tree of derivatives
    get_license("llama2")                          # License: osi_approved, restrictions, ...

Modules: schema (strict YAML schema), loader (Catalog, load_catalog), licenses, openness
(pure scorer), lineage (trees, inferred base models), search (columnar index), fit (memory,
verdict, speed), hub (live Hugging Face Hub, cached). Heavy imports stay inside functions.
"""

from __future__ import annotations

from typing import Any

from openscout.catalog.licenses import License, get_license, normalize_license
from openscout.catalog.loader import Catalog, load_catalog
from openscout.catalog.openness import OpennessAssessment, assess_openness
from openscout.catalog.schema import ModelEntry


def estimate_fit(model: str, **kwargs: Any) -> Any:
    """See openscout.catalog.fit.estimate_fit (imported lazily: it pulls in numpy)."""
    from openscout.catalog.fit import estimate_fit as _estimate_fit

    return _estimate_fit(model, **kwargs)


def search(catalog: Catalog, query: Any = None, **filters: Any) -> dict[str, Any]:
    """See openscout.catalog.search.search."""
    from openscout.catalog.search import search as _search

    return _search(catalog, query, **filters)


def family_tree(catalog: Catalog, hf_id: str) -> dict[str, Any]:
    """See openscout.catalog.lineage.family_tree."""
    from openscout.catalog.lineage import family_tree as _family_tree

    return _family_tree(catalog, hf_id)


__all__ = [
    "Catalog",
    "License",
    "ModelEntry",
    "OpennessAssessment",
    "assess_openness",
    "estimate_fit",
    "family_tree",
    "get_license",
    "load_catalog",
    "normalize_license",
    "search",
]
