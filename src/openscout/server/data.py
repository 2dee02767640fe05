"""What the pages show from the other packages: catalog, openness, lineage, fit, evaluation and
benchmark results, comparison charts. Every import is guarded: a package that is missing or
fails leaves its part of the page empty with a note, and the server keeps working.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
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


def load_catalog(settings: Settings | None = None) -> Any:
    """The curated catalog plus the user's own entries in <data dir>/catalog/*.yaml."""
    loader = _attr("openscout.catalog", "load_catalog")
    if loader is None:
        return None
    extra = settings.home / "catalog" if settings is not None else None
    for where in ([extra] if extra is not None and extra.is_dir() else []) + [None]:
        try:
            return loader(where)
        except Exception as e:  # a bad user file: say so, and serve the curated catalog
            log.warning("the catalog could not be loaded: %s", e)
    return None


def catalog_size(settings: Settings | None = None) -> int | None:
    cat = load_catalog(settings)
    return len(cat) if cat is not None else None


def safe_url(url: Any) -> str | None:
    """Only http(s) links reach an href: a javascript: URL in a card stays text."""
    text = str(url) if url is not None else ""
    return text if text.startswith(("https://", "http://")) else None


# -- catalog search ----------------------------------------------------------------------------

LICENSE_FILTERS = (
    ("", "any"),
    ("osi", "OSI-approved"),
    ("open", "no use restrictions"),
    ("commercial", "commercial use allowed"),
)
LABELS = ("open source", "open weights", "restricted weights")


TEXT_FILTERS = ("task", "family", "organisation", "language", "domain", "derived_from")
SORTS = ("relevance", "openness", "size", "-size", "date", "name")
MOF_CLASSES = ("I", "II", "III")


@dataclass
class CatalogQuery:
    """The catalog page's form, with the filters of `openscout catalog search`."""

    q: str = ""
    license: str = ""
    label: str = ""
    mof_class: str = ""
    min_params_b: float | None = None
    max_params_b: float | None = None
    fits: bool = False
    context: int = 4096
    sort: str = "relevance"
    text: dict[str, str] = field(default_factory=dict)  # task, family, organisation, ...

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CatalogQuery:
        def num(name: str) -> float | None:
            try:
                v = float(params.get(name) or "nan")
            except ValueError:
                return None
            return v if v == v and v >= 0 else None  # NaN and negatives: no filter

        label = params.get("label") or ""
        mof = params.get("mof_class") or ""
        sort = params.get("sort") or "relevance"
        context = int(num("context") or 4096)
        return cls(
            q=(params.get("q") or "")[:200],
            license=(params.get("license") or "")[:60],
            label=label if label in LABELS else "",
            mof_class=mof if mof in MOF_CLASSES else "",
            min_params_b=num("min_params_b"),
            max_params_b=num("max_params_b"),
            fits=params.get("fits") in ("1", "on", "true"),
            context=min(max(context, 128), 1_048_576),
            sort=sort if sort in SORTS else "relevance",
            text={k: (params.get(k) or "")[:100] for k in TEXT_FILTERS if params.get(k)},
        )

    def filters(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.q or None,
            "limit": MAX_RESULTS,
            "fits": self.fits,
            "context": self.context,
            "sort": self.sort,
            **self.text,
        }
        for key in ("license", "label", "mof_class"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("min_params_b", "max_params_b"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class _FitJudge:
    """Fit verdicts for many entries: the machine is read once, not once per row."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        fit = _import("openscout.catalog.fit")
        self.fit = fit
        self.machine = None
        self.bandwidth: float | None = None
        self.calibration = None
        if fit is not None:
            try:
                self.machine = fit.machine_memory()
                # a page must not stall on a bandwidth measurement: stored figure or default
                self.bandwidth = fit.default_bandwidth(settings, measure=False)[0]
                self.calibration = fit.load_calibration(settings)
            except Exception as e:
                log.debug("machine memory unknown: %s", e)

    def verdict(self, entry: Any, context: int = 4096) -> dict[str, Any] | None:
        if self.fit is None or self.machine is None:
            return None
        try:
            shape = self.fit.shape_from_entry(entry, "Q4_K_M")
            report = self.fit.estimate(
                shape,
                context,
                machine=self.machine,
                bandwidth_gbs=self.bandwidth,
                settings=self.settings,
                model=entry.id,
                catalog_id=entry.id,
                calibration=self.calibration,
            )
            return _fit_dict(report)
        except Exception as e:
            log.debug("fit failed for %s: %s", getattr(entry, "id", "?"), e)
            return None


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception:
        return None


def _fit_dict(report: Any) -> dict[str, Any]:
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    return {
        "verdict": d.get("verdict"),
        "required_bytes": d.get("required_bytes"),
        "available_bytes": d.get("available_bytes"),
        "target": d.get("target"),
        "context": d.get("context"),
        "decode_tokens_per_s": d.get("decode_tokens_per_s"),
        "efficiency_source": d.get("efficiency_source"),
        "measured_tokens_per_s": d.get("measured_tokens_per_s"),
        "measured_model": d.get("measured_model"),
        "notes": list(d.get("notes") or []),
    }


def search_catalog(query: CatalogQuery, settings: Settings) -> dict[str, Any]:
    catalog = load_catalog(settings)
    search_view = _attr("openscout.catalog.views", "search_view")
    if catalog is None or search_view is None:
        return {"available": False, "rows": [], "total": 0, "error": None}
    try:
        result = search_view(settings=settings, catalog=catalog, **query.filters())
    except Exception as e:  # a bad filter value: say so on the page
        message = getattr(e, "message", None) or "the search could not be run"
        return {"available": True, "rows": [], "total": 0, "error": str(message)}
    judge = _FitJudge(settings)
    rows = []
    for item in result.get("items", []):
        entry = catalog.get(item["id"])
        rows.append({**item, "fit": judge.verdict(entry, query.context) if entry else None})
    return {"available": True, "rows": rows, "total": result.get("total", len(rows)), "error": None}


# -- the model page ----------------------------------------------------------------------------


def model_view(hub: Any, model_id: str) -> dict[str, Any] | None:
    """Everything openscout holds about one model: registered spec(s), catalog facts, openness,
    family tree, fit, evaluation and benchmark results. None if it is unknown."""
    settings = hub.settings
    specs = [s for s in hub.specs() if model_id in (s.id, s.catalog_id)]
    catalog = load_catalog(settings)
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
    shown = None
    show_model = _attr("openscout.catalog.views", "show_model")
    if entry is not None and show_model is not None:
        try:
            shown = show_model(entry.id, settings=settings, catalog=catalog)
        except Exception as e:
            log.warning("catalog view of %s failed: %s", entry.id, e)
    fit = _registered_fit(specs, settings) or (shown or {}).get("fit")
    ids = [s.id for s in specs]
    return {
        "model_id": model_id,
        "specs": [s.model_dump() for s in specs],
        "entry": (shown or {}).get("facts"),
        "card_excerpt": getattr(entry, "card_excerpt", None),
        "openness": (shown or {}).get("openness"),
        "license_terms": (shown or {}).get("license_terms"),
        "tree": (shown or {}).get("tree"),
        "fit": fit if fit and "error" not in fit else None,
        "evals": [r for r in eval_rows(settings) if r["model"] in ids],
        "bench": bench_rows(settings, ids),
        "safe_url": safe_url,
    }


def _registered_fit(specs: list[Any], settings: Settings) -> dict[str, Any] | None:
    """A registered local model's fit comes from its own file, not from catalog figures."""
    estimate_fit = _attr("openscout.catalog", "estimate_fit")
    local = [s for s in specs if s.engine == "llamacpp"]
    if estimate_fit is None or not local:
        return None
    try:
        return _fit_dict(estimate_fit(local[0].id, context=local[0].n_ctx, settings=settings))
    except Exception as e:
        log.debug("fit of %s failed: %s", local[0].id, e)
        return None


# -- measurements ------------------------------------------------------------------------------


def _fmt(v: Any, digits: int = 3) -> str:
    return "-" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def eval_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per finished (run, model): suite, score with its 95% interval and sample size."""
    list_runs = _attr("openscout.evals.store", "list_runs")
    if list_runs is None:
        return []
    out: list[dict[str, Any]] = []
    try:
        for run in list_runs(settings, 50):
            models = ((run.get("summary") or {}).get("models")) or {}
            for model, res in models.items():
                lo, hi = res.get("ci_low"), res.get("ci_high")
                out.append(
                    {
                        "suite": run.get("suite", "?"),
                        "model": model,
                        "score": _fmt(res.get("score")),
                        "interval": f"{_fmt(lo)} – {_fmt(hi)}" if lo is not None else "-",
                        "n": res.get("n", "-"),
                        "when": str(run.get("created_at", ""))[:19],
                    }
                )
    except Exception as e:
        log.warning("evaluation results could not be read: %s", e)
    return out


def bench_rows(settings: Settings, model_ids: list[str]) -> list[dict[str, Any]]:
    """Recent speed measurements, flattened to the figures a reader compares."""
    recent = _attr("openscout.perf.bench", "recent_results")
    if recent is None:
        return []
    rows: list[dict[str, Any]] = []
    try:
        for mid in model_ids:
            for r in recent(settings, mid, 5):
                rows.append(
                    {
                        "model": r.get("model_id"),
                        "when": str(r.get("created_at", ""))[:19],
                        "host": r.get("host"),
                        "output tok/s": _fmt(r.get("output_tps"), 1),
                        "TTFT s": _fmt(r.get("ttft_s"), 3),
                        "memory MB": _fmt((r.get("memory_bytes") or 0) / 2**20, 0)
                        if r.get("memory_bytes")
                        else "-",
                    }
                )
    except Exception as e:
        log.warning("benchmark results could not be read: %s", e)
    return rows


def latest_comparison(settings: Settings) -> dict[str, Any] | None:
    """The newest report.json written by `openscout compare` under the reports dir."""
    import json

    root = settings.reports_dir
    if not root.is_dir():
        return None
    found = sorted(root.glob("*/report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in found[:5]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("models"), list):
            return data
    return None


def comparison_charts(settings: Settings) -> dict[str, Any] | None:
    """Quality against cost and against speed, from the latest stored comparison."""
    cost = _attr("openscout.report.charts", "quality_vs_cost")
    speed = _attr("openscout.report.charts", "quality_vs_speed")
    if cost is None or speed is None:
        return None
    result = latest_comparison(settings)
    if result is None:
        return None
    try:
        return {"quality_vs_cost": cost(result), "quality_vs_speed": speed(result)}
    except Exception as e:
        log.warning("comparison charts could not be built: %s", e)
        return None


def plotly_js_path() -> Path | None:
    """plotly.min.js inside the installed plotly package (found without importing plotly)."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None
