"""Data for the CLI and the web UI: one call per view, each returning plain JSON-ready dicts."""

from __future__ import annotations

from typing import Any

from openscout.catalog.licenses import get_license
from openscout.catalog.loader import Catalog, load_catalog
from openscout.catalog.openness import assess_openness
from openscout.catalog.provenance import stated_facts
from openscout.catalog.schema import FACT_FIELDS, ModelEntry
from openscout.errors import ModelNotFoundError


def _fact_value(data: dict[str, Any], key: str) -> Any:
    head, _, tail = key.partition(".")
    if head == "openness":
        return data["openness"][tail]["status"]
    return data[head][tail] if tail else data[head]


def provenance(entry: ModelEntry) -> dict[str, dict[str, Any]]:
    """For each fact the entry states: its value and whether (and where) it was checked."""
    data = entry.model_dump(mode="json")
    out: dict[str, dict[str, Any]] = {}
    for key in stated_facts(data):
        row: dict[str, Any] = {"value": _fact_value(data, key)}
        check = entry.checks.get(key)
        if check is None:
            row["status"] = "unverified"
            if entry.origin == "hub":
                row["note"] = "read from the Hugging Face Hub's metadata, not checked"
        else:
            row |= {"status": "checked", **check.model_dump(mode="json", exclude_none=True)}
        out[key] = row
    return out


def facts(entry: ModelEntry) -> dict[str, Any]:
    """Every fact of an entry with the URL that supports it, and its provenance."""
    data = entry.model_dump(
        mode="json", exclude={"openness", "sources", "card_excerpt", "checks", "unverified"}
    )
    cited = {f: entry.source_of(f) for f in sorted(FACT_FIELDS) if data.get(f) is not None}
    cited["arch"] = entry.source_of("arch")
    data["sources"] = cited
    data["provenance"] = prov = provenance(entry)
    data["checked"] = sorted(k for k, v in prov.items() if v["status"] == "checked")
    data["unverified"] = sorted(k for k, v in prov.items() if v["status"] == "unverified")
    return data


def licences(openness: dict[str, Any]) -> dict[str, Any]:
    """Every licence that binds a model and what they allow together, as the CLI and the web
    model page both state it. The model's own terms alone can say "commercial use: yes" (MIT)
    where a base model's licence binds too (Llama 3.1), so the verdict is the openness one."""
    own = {**openness["license"], "heading": "licence"}
    inherited = [
        {**lic, "heading": "also binding (from the base model)"}
        for lic in openness["inherited_licenses"]
    ]
    return {
        "binding": [own, *inherited],
        "commercial_use": openness["commercial_use"],
        "osi_approved": openness["osi_approved"],
    }


def require(catalog: Catalog, hf_id: str) -> ModelEntry:
    entry = catalog.get(hf_id)
    if entry is None:
        close = [i for i in catalog.ids if hf_id.lower().split("/")[-1][:6] in i.lower()][:5]
        raise ModelNotFoundError(
            f"{hf_id!r} is not in the catalog",
            hint=(f"did you mean: {', '.join(close)}? " if close else "")
            + "search with `openscout catalog search`, or add --hub to ask the Hugging Face Hub",
        )
    return entry


def show_model(
    hf_id: str,
    *,
    settings: Any,
    context: int = 4096,
    quant: str = "Q4_K_M",
    hub: bool = False,
    offline: bool = False,
    catalog: Catalog | None = None,
    target: Any = None,
    may_measure: bool = True,
) -> dict[str, Any]:
    """Facts, openness with evidence, licence terms, family tree and fit (on this machine or
    `target`, a catalog.machine.Target) for one model. `may_measure=False` (pages): the fit
    uses the stored bandwidth figure and never measures it."""
    from openscout.catalog.fit import FitError, estimate_fit
    from openscout.catalog.lineage import family_tree

    catalog = catalog or load_catalog()
    live = None
    if hub:
        from openscout.catalog.hub import hub_model

        got = hub_model(hf_id, settings=settings, catalog=catalog, offline=offline)
        entry, live = got["entry"], {"source": got["source"], **got["hub"]}
        if entry.origin == "hub":
            catalog = catalog.with_entries([entry])
    else:
        entry = require(catalog, hf_id)
    assessment = assess_openness(entry, catalog)
    openness = assessment.to_dict()
    try:
        fit: dict[str, Any] | None = estimate_fit(
            entry.id,
            context=context,
            quant=quant,
            settings=settings,
            catalog=catalog,
            target=target,
            may_measure=may_measure,
        ).to_dict()
    except FitError as e:
        fit = {"error": e.message}
    return {
        "facts": facts(entry),
        "openness": openness,
        "license_terms": get_license(entry.license).to_dict(),
        "licences": licences(openness),
        "tree": family_tree(catalog, entry.id),
        "fit": fit,
        "hub": live,
        **published_and_yours(entry.id, settings),
    }


def published_and_yours(hf_id: str, settings: Any) -> dict[str, Any]:
    """What leaderboards and cards publish for a model ("published", with sources) and what
    the user measured with the registered models that point at it ("yours"): side by side,
    never merged. A damaged import cache or store is said under "notes", not fatal."""
    from openscout.catalog.published import all_scores, as_row, curated_scores, scores_for
    from openscout.errors import OpenscoutError

    notes: list[str] = []
    home = getattr(settings, "home", None)
    try:
        scores = all_scores(home)
    except OpenscoutError as e:
        notes.append(f"imported results not read: {e.message}")
        scores = list(curated_scores())
    yours: list[dict[str, Any]] = []
    if home is not None:
        try:
            yours = _your_results(hf_id, settings)
        except OpenscoutError as e:
            notes.append(f"your results not read: {e.message}")
    return {
        "published": [as_row(s) for s in scores_for(hf_id, scores)],
        "yours": yours,
        "published_notes": notes,
    }


def _your_results(hf_id: str, settings: Any) -> list[dict[str, Any]]:
    """Finished evaluation results of registered models whose catalog id is this model."""
    from openscout.evals.results import StoredRun
    from openscout.evals.store import current_model_keys, list_runs
    from openscout.models import list_models

    if not settings.db_path.exists():
        return []
    specs = [s for s in list_models(settings) if (s.catalog_id or "").lower() == hf_id.lower()]
    mine = {s.id for s in specs}
    now = current_model_keys(settings, specs) if mine else {}
    out: list[dict[str, Any]] = []
    for row in list_runs(settings, 50) if mine else []:
        run = StoredRun.from_row(row)
        for model, res in (run.summary.models if run.summary else {}).items():
            # not a result of another model registered under this id before (38th probe)
            changed = run.model_since_changed(model, now)
            if model in mine and res.score is not None and not changed:
                out.append(
                    {
                        "kind": "yours",
                        "model": model,
                        "suite": run.suite,
                        "score": res.score,
                        "ci_low": res.ci_low,
                        "ci_high": res.ci_high,
                        "n": res.n,
                        "when": (run.created_at or "")[:19],
                    }
                )
    return out


HUB_PAGE = 100  # Hub models asked for at most in one search, however many are shown


def search_view(
    *,
    settings: Any,
    hub_text: str | None = None,
    offline: bool = False,
    catalog: Catalog | None = None,
    target: Any = None,
    **filters: Any,
) -> dict[str, Any]:
    """Search the curated catalog; with `hub_text`, first merge the Hub's answers for that text.
    `target` (catalog.machine.Target): the machine the 'fits' filter judges; default this one."""
    from pydantic import ValidationError

    from openscout.catalog.search import SearchError, SearchIndex, SearchQuery, index_for

    catalog = catalog or load_catalog()
    try:
        q = SearchQuery(**filters)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise SearchError(f"bad search filter {field!r}: {err['msg']}") from e
    if q.fits and q.memory_bytes is None:
        from openscout.catalog.machine import HERE

        m = (target or HERE).memory()
        gpu_free = sum(g.free_bytes for g in m.gpus)  # layers split over every GPU
        q = q.model_copy(update={"memory_bytes": max(m.ram_available_bytes or 0, gpu_free)})
    source = "curated"
    if hub_text is not None:
        from openscout.catalog.hub import hub_search

        got = hub_search(
            hub_text,
            settings=settings,
            catalog=catalog,
            limit=min(max(q.limit, 20), HUB_PAGE),
            offline=offline,
        )
        extra = [e for e in got["entries"] if e.origin == "hub"]
        source = f"curated + hub ({got['source']})"
        if extra:
            catalog = catalog.with_entries(extra)
        index = SearchIndex(catalog)
    else:
        index = index_for(catalog)
    result = index.search(q)
    result["source"] = source
    result["machine"] = target.describe() if target is not None else "this machine"
    return result
