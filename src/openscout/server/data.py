"""What the pages show from the other packages: catalog, openness, lineage, fit, evaluation and
benchmark results, comparison charts. Every import is guarded: a package that is missing or
fails leaves its part of the page empty with a note, and the server keeps working.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openscout.config import Settings

log = logging.getLogger("openscout.server")

MAX_RESULTS = 200


def _attr(module: str, name: str) -> Any:
    """module.name, or None when the module or the name is not there (yet)."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except Exception as e:  # a half-built package must not take the server down
        log.debug("optional %s.%s unavailable: %s", module, name, e)
        return None


def _first(*candidates: tuple[str, str]) -> Any:
    for module, name in candidates:
        found = _attr(module, name)
        if found is not None:
            return found
    return None


def load_catalog() -> Any:
    loader = _first(
        ("openscout.catalog", "load_catalog"), ("openscout.catalog.loader", "load_catalog")
    )
    if loader is None:
        return None
    try:
        return loader()
    except Exception as e:
        log.warning("the catalog could not be loaded: %s", e)
        return None


def catalog_size() -> int | None:
    cat = load_catalog()
    return len(cat) if cat is not None else None


def _dump(obj: Any) -> Any:
    if obj is None:
        return None
    for method in ("to_dict", "as_dict", "model_dump"):
        fn = getattr(obj, method, None)
        if callable(fn):
            try:
                return fn(mode="json") if method == "model_dump" else fn()
            except TypeError:
                return fn()
    return obj


def safe_url(url: Any) -> str | None:
    """Only http(s) links reach an href: a javascript: URL in a card stays text."""
    text = str(url) if url is not None else ""
    return text if text.startswith(("https://", "http://")) else None


# -- catalog search ----------------------------------------------------------------------------


@dataclass
class CatalogQuery:
    q: str = ""
    license: str = ""  # licence kind: permissive, copyleft, open-data, restricted, non-commercial
    openness: str = ""  # minimum label: open source, open weights
    max_params_b: float | None = None
    task: str = ""
    fits: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CatalogQuery:
        def num(v: str | None) -> float | None:
            try:
                return float(v) if v not in (None, "") else None
            except ValueError:
                return None

        return cls(
            q=(params.get("q") or "")[:200],
            license=(params.get("license") or "")[:40],
            openness=(params.get("openness") or "")[:40],
            max_params_b=num(params.get("max_params_b")),
            task=(params.get("task") or "")[:40],
            fits=params.get("fits") in ("1", "on", "true"),
        )


def _fit_verdict(entry: Any) -> dict[str, Any] | None:
    fit = _first(
        ("openscout.catalog", "assess_fit"),
        ("openscout.catalog.fit", "assess_fit"),
        ("openscout.catalog.fit", "fit_entry"),
    )
    if fit is None:
        return None
    try:
        return _dump(fit(entry))  # type: ignore[no-any-return]
    except Exception as e:
        log.debug("fit failed for %s: %s", getattr(entry, "id", "?"), e)
        return None


def _openness(entry: Any, catalog: Any) -> dict[str, Any] | None:
    assess = _first(
        ("openscout.catalog", "assess_openness"), ("openscout.catalog.openness", "assess_openness")
    )
    if assess is None:
        return None
    try:
        return _dump(assess(entry, catalog))  # type: ignore[no-any-return]
    except Exception as e:
        log.debug("openness failed for %s: %s", getattr(entry, "id", "?"), e)
        return None


def _license_kind(entry: Any) -> str | None:
    get = _first(
        ("openscout.catalog", "get_license"), ("openscout.catalog.licenses", "get_license")
    )
    if get is None:
        return None
    try:
        return str(getattr(get(entry.license), "kind", "") or "") or None
    except Exception:
        return None


def _matches(entry: Any, q: CatalogQuery) -> bool:
    if q.q:
        hay = " ".join(
            str(x)
            for x in (
                entry.id,
                entry.name,
                entry.organisation,
                entry.family,
                entry.description or "",
                " ".join(entry.tasks),
            )
        ).lower()
        if not all(word in hay for word in q.q.lower().split()):
            return False
    if q.max_params_b is not None and entry.params_b > q.max_params_b:
        return False
    if q.task and q.task.lower() not in entry.tasks:
        return False
    return not (q.license and _license_kind(entry) != q.license)


def search_catalog(query: CatalogQuery, settings: Settings) -> dict[str, Any]:
    catalog = load_catalog()
    if catalog is None:
        return {"available": False, "rows": [], "total": 0}
    search = _first(("openscout.catalog", "search"), ("openscout.catalog.search", "search"))
    entries: list[Any] = list(catalog)
    rest = query
    if search is not None and query.q:
        try:  # the catalog's own search ranks by relevance; our filters then apply
            entries = [getattr(e, "entry", e) for e in search(catalog, query.q)]
            rest = CatalogQuery(**{**query.__dict__, "q": ""})
        except Exception as e:
            log.debug("catalog search failed: %s", e)
    entries = [e for e in entries if _matches(e, rest)]
    rows = []
    rank = {"open source": 2, "open weights": 1, "restricted weights": 0}
    for e in entries:
        op = _openness(e, catalog)
        label = (op or {}).get("label")
        if query.openness and rank.get(str(label), -1) < rank.get(query.openness, 0):
            continue
        fit = _fit_verdict(e)
        if query.fits and fit is not None and str(fit.get("verdict", "")).startswith("does"):
            continue
        rows.append(
            {
                "id": e.id,
                "name": e.name,
                "organisation": e.organisation,
                "params_b": e.params_b,
                "license": e.license,
                "tasks": list(e.tasks),
                "openness": op,
                "fit": fit,
                "description": e.description,
            }
        )
        if len(rows) >= MAX_RESULTS:
            break
    return {"available": True, "rows": rows, "total": len(entries)}


# -- the model page ----------------------------------------------------------------------------


def model_view(hub: Any, model_id: str) -> dict[str, Any] | None:
    """Everything openscout holds about one model: registered spec(s), catalog facts, openness,
    family tree, fit, evaluation and benchmark results, arena rating. None if it is unknown."""
    specs = [s for s in hub.specs() if model_id in (s.id, s.catalog_id)]
    catalog = load_catalog()
    entry = None
    if catalog is not None:
        entry = catalog.get(model_id) or next(
            (
                catalog.get(s.catalog_id)
                for s in specs
                if s.catalog_id and catalog.get(s.catalog_id)
            ),
            None,
        )
    if not specs and entry is None:
        return None
    tree = None
    if entry is not None and catalog is not None:
        family_tree = _first(
            ("openscout.catalog", "family_tree"), ("openscout.catalog.lineage", "family_tree")
        )
        try:
            tree = family_tree(catalog, entry.id) if family_tree else None
        except Exception:
            tree = None
    ids = [s.id for s in specs]
    return {
        "model_id": model_id,
        "specs": [s.model_dump() for s in specs],
        "entry": _dump(entry) if entry is not None else None,
        "openness": _openness(entry, catalog) if entry is not None else None,
        "tree": tree,
        "fit": _fit_verdict(entry) if entry is not None else None,
        "evals": [r for r in eval_rows(hub.settings) if r["model"] in ids],
        "bench": bench_rows(hub.settings, ids),
        "safe_url": safe_url,
    }


# -- measurements ------------------------------------------------------------------------------


def _fmt(v: Any, digits: int = 3) -> str:
    return "-" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def eval_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per (run, model): suite, score with its 95% interval and sample size."""
    list_runs = _attr("openscout.evals.store", "list_runs")
    get_run = _attr("openscout.evals.store", "get_run")
    if list_runs is None:
        return []
    out: list[dict[str, Any]] = []
    try:
        for run in list_runs(settings, 50):
            detail = get_run(settings, run["id"]) if get_run else run
            for model, res in (detail.get("results") or {}).items():
                est = res.get("estimate") or res
                lo, hi = est.get("lower"), est.get("upper")
                out.append(
                    {
                        "suite": detail.get("suite", run.get("suite", "?")),
                        "model": model,
                        "score": _fmt(est.get("mean", est.get("score"))),
                        "interval": f"{_fmt(lo)} – {_fmt(hi)}" if lo is not None else "-",
                        "n": est.get("n", "-"),
                        "when": str(run.get("created_at", ""))[:19],
                    }
                )
    except Exception as e:
        log.warning("evaluation results could not be read: %s", e)
    return out


def bench_rows(settings: Settings, model_ids: list[str]) -> list[dict[str, Any]]:
    recent = _attr("openscout.perf.bench", "recent_results")
    if recent is None:
        return []
    rows: list[dict[str, Any]] = []
    try:
        for mid in model_ids:
            rows.extend(recent(settings, mid, 5))
    except Exception as e:
        log.warning("benchmark results could not be read: %s", e)
    return rows


def comparison_charts(settings: Settings) -> dict[str, Any] | None:
    """Quality-against-cost and quality-against-speed from the latest stored comparison."""
    latest = _first(("openscout.compare", "latest_result"), ("openscout.compare", "load_latest"))
    charts = _attr("openscout.report.charts", "quality_vs_cost")
    speed = _attr("openscout.report.charts", "quality_vs_speed")
    if latest is None or charts is None or speed is None:
        return None
    try:
        result = latest(settings)
        if not result:
            return None
        return {"quality_vs_cost": charts(result), "quality_vs_speed": speed(result)}
    except Exception as e:
        log.warning("comparison charts could not be built: %s", e)
        return None
