"""`openscout compare`'s core: quality, speed, memory, cost, openness and licence for each
model, ranked into a recommendation with reasons. Returns data; the CLI prints it.

For the chosen models (default: every registered model) it
1. measures speed and memory (perf.bench: a fresh load per model, warm-up + repeats),
2. runs the default quality suite (evals `quick`, a small item limit) on all of them,
3. computes $/1M tokens from the measured throughput and a price per hour,
4. takes openness, licence and OSI / commercial status from the catalog,
5. asks recommend.py for the Pareto front and the recommended model.

A model that fails one stage keeps the others: the failure is listed under its `errors`.
The result (a JSON-ready dict, version RESULT_VERSION):

    {version, created_at, machine, wall_s, bandwidth_gbs, settings{...},
     models: [{id, engine, license, catalog_id,
               quality{suite, score, n, ci_low, ci_high, failed, scoring} | null,
               output_tps, ttft_s, prefill_tps, itl_p50_s, itl_p99_s, mbu, memory_bytes,
               cost{price_per_hour, input_per_m, output_per_m, blended_per_m}, price_source,
               openness{label, mof_class, osi_approved, commercial_use, criteria} | null,
               fit{verdict, required_bytes, available_bytes, context, estimated_tps} | null,
               bench{...}, errors[]}],
     reference_prices: [{name, input_per_m, output_per_m, blended_per_m, source, date}],
     recommendation: {recommended, pareto_front, ranking, excluded, reasons, message, constraints},
     notes: [plain sentences, e.g. that two models' multiple choice was scored differently]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import time
from dataclasses import dataclass, field
from typing import Any

from openscout.config import Settings
from openscout.errors import ConfigError, OpenscoutError
from openscout.perf.cost import API_PRICES, ApiPrice
from openscout.perf.measure import BenchConfig, Progress
from openscout.recommend import Candidate, Constraints, Weights, recommend

RESULT_VERSION = 1
DEFAULT_SUITE = "quick"
DEFAULT_LIMIT = 20  # items of the suite: keeps two small models on 2 cores within ~2 minutes
# no concurrency sweep by default (ask with --concurrency): compare stays within ~2 minutes
DEFAULT_BENCH = BenchConfig(repeats=2, warmup=1, max_tokens=64, concurrency=())


@dataclass
class CompareOptions:
    suite: str = DEFAULT_SUITE
    limit: int | None = DEFAULT_LIMIT
    seed: int = 0
    bench: BenchConfig = field(default_factory=lambda: DEFAULT_BENCH)
    price_per_hour: float | None = None
    cost_concurrency: int = 1
    api_prices: list[ApiPrice] = field(default_factory=list)
    constraints: Constraints = field(default_factory=Constraints)
    weights: Weights = field(default_factory=Weights)
    skip_quality: bool = False
    speed_depth: int = 0  # rank speed and TTFT after this many tokens of context
    trust_python: bool = False  # run the suite's `python` assertions (SECURITY.md)


# -- the pieces other packages provide -------------------------------------------------------


def _catalog_api() -> tuple[Any, Any]:
    try:
        from openscout.catalog import assess_openness, load_catalog
    except ImportError as e:
        raise ConfigError(
            f"the catalog is not available ({e})",
            hint="openness and licence facts need openscout.catalog; reinstall openscout",
        ) from e
    return load_catalog, assess_openness


def _run_eval_api() -> Any:
    try:
        from openscout.evals import run_eval
    except ImportError as e:
        raise ConfigError(
            f"the evaluation runner is not available ({e})",
            hint="quality scores need openscout.evals; --no-quality compares speed and cost only",
        ) from e
    return run_eval


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _commercial(value: Any) -> bool | None:
    """Catalog values 'yes' / 'conditional' / 'no' / 'unknown' (or a bool) -> allowed?"""
    if isinstance(value, bool) or value is None:
        return value
    return {"yes": True, "conditional": True, "no": False}.get(str(value).lower())


def openness_of(spec: Any, catalog: Any, assess: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(openness facts, licence) for a registered model, from its catalog entry; without one,
    the licence the user registered still says whether it is OSI-approved."""
    entry = catalog.get(spec.catalog_id) if spec.catalog_id else None
    if entry is None:
        return _licence_only(spec.license), spec.license
    a = assess(entry, catalog)
    raw_commercial = _field(a, "commercial_use")
    facts = {
        "label": _field(a, "label"),
        "mof_class": _field(a, "mof_class"),  # "I" | "II" | "III" | "none"
        "osi_approved": _field(a, "osi_approved"),
        "commercial_use": _commercial(raw_commercial),
        "commercial_terms": raw_commercial if isinstance(raw_commercial, str) else None,
        "catalog_id": spec.catalog_id,
        "criteria": {k: _field(v, "status") for k, v in (_field(a, "criteria") or {}).items()},
    }
    lic = _field(a, "license") or {}
    name = lic.get("name") if isinstance(lic, dict) and lic.get("id") != "unknown" else None
    return facts, name or getattr(entry, "license", None) or spec.license


def _licence_only(name: str | None) -> dict[str, Any] | None:
    try:
        from openscout.catalog.licenses import get_license
    except ImportError:
        return None
    lic = get_license(name)
    if lic.id == "unknown":
        return None
    return {
        "label": None,
        "mof_class": None,
        "osi_approved": lic.osi_approved,
        "commercial_use": _commercial(lic.commercial_use),
        "commercial_terms": lic.commercial_use,
        "catalog_id": None,
        "criteria": {},
    }


def quality_of(results: Any, model_id: str, suite: str) -> dict[str, Any] | None:
    """One model's score from run_eval's EvalRun (its `results` dict by model id)."""
    rec = None
    results = getattr(results, "results", results)
    if isinstance(results, dict):
        rec = results.get(model_id)
    else:
        rec = next((r for r in results or [] if _field(r, "model_id") == model_id), None)
    if rec is None or _field(rec, "score") is None:
        return None
    scoring = _field(rec, "scoring") or {}
    return {
        "suite": suite,
        "score": float(_field(rec, "score")),
        "n": _field(rec, "n"),
        "ci_low": _field(rec, "ci_low"),
        "ci_high": _field(rec, "ci_high"),
        "failed": _field(rec, "errors") or 0,  # items left out of the score
        # how multiple-choice items were scored: loglikelihood | generate | mixed | None
        "scoring": scoring.get("multiple_choice"),
    }


def fit_of(
    spec: Any, settings: Settings, catalog: Any, bandwidth: float | None, errors: list[str]
) -> dict[str, Any] | None:
    """Whether the model fits this machine at its context size (catalog.fit), or None."""
    if spec.engine != "llamacpp":
        return None  # remote engines run on someone else's memory
    try:
        from openscout.catalog import estimate_fit

        r = estimate_fit(
            spec.id, context=spec.n_ctx, settings=settings, catalog=catalog, bandwidth_gbs=bandwidth
        )
    except (ImportError, OpenscoutError) as e:
        errors.append(f"fit estimate failed: {getattr(e, 'message', e)}")
        return None
    return {
        "verdict": r.verdict,
        "required_bytes": r.required_bytes,
        "available_bytes": r.available_bytes,
        "context": r.context,
        "estimated_tps": r.decode_tokens_per_s,
    }


# -- the comparison --------------------------------------------------------------------------


def _model_entry(spec: Any) -> dict[str, Any]:
    return {
        "id": spec.id,
        "engine": spec.engine,
        "license": spec.license,
        "catalog_id": spec.catalog_id,
        "bundled": spec.bundled,
        "quality": None,
        "output_tps": None,
        "ttft_s": None,
        "prefill_tps": None,
        "itl_p50_s": None,
        "itl_p99_s": None,
        "mbu": None,
        "memory_bytes": None,
        "cost": None,
        "price_source": None,
        "openness": None,
        "fit": None,
        "bench": None,
        "errors": [],
    }


def _add_bench(m: dict[str, Any], bench: Any, depth: int = 0) -> None:
    d = bench.as_dict()
    short = d["prompts"].get("short") or next(iter(d["prompts"].values()))
    at = bench.result.at_depth(depth) if depth else None
    if depth and at is None:  # never show depth-0 figures under a depth heading
        m["errors"].append(f"speed at depth {depth} was not measured")
    speed = (at.output_tps.median, at.ttft_s.median, at.prefill_tps.median) if at else None
    if speed is None and not depth:
        speed = (d["output_tps"], d["ttft_s"], d["prefill_tps"])
    m.update(
        output_tps=speed[0] if speed else None,
        ttft_s=speed[1] if speed else None,
        prefill_tps=speed[2] if speed else None,
        itl_p50_s=short["itl_p50_s"],
        itl_p99_s=short["itl_p99_s"],
        mbu=d["mbu"],
        memory_bytes=d["memory_bytes"],
        cost=d["cost"],
        price_source=d["price_source"],
        bench=d,
    )


def candidate(m: dict[str, Any]) -> Candidate:
    q = m.get("quality") or {}
    o = m.get("openness") or {}
    return Candidate(
        id=m["id"],
        quality=q.get("score"),
        quality_low=q.get("ci_low"),
        quality_high=q.get("ci_high"),
        suite=q.get("suite"),
        output_tps=m.get("output_tps"),
        memory_bytes=m.get("memory_bytes"),
        cost_per_m=(m.get("cost") or {}).get("blended_per_m"),
        license=m.get("license"),
        osi_approved=o.get("osi_approved"),
        commercial_use=o.get("commercial_use"),
        openness_label=o.get("label"),
        mof_class=o.get("mof_class"),
        fits=_fits(m.get("fit")),
    )


def _fits(fit: dict[str, Any] | None) -> bool | None:
    if not fit or fit.get("verdict") in (None, "unknown"):
        return None
    return fit["verdict"] != "does not fit"


def compare(
    settings: Settings,
    model_ids: list[str] | None = None,
    options: CompareOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from openscout.models import get_model, list_models
    from openscout.perf.bandwidth import ensure_bandwidth
    from openscout.perf.bench import bench_one

    opt = options or CompareOptions()
    t0 = time.perf_counter()
    specs = [get_model(settings, m) for m in model_ids] if model_ids else list_models(settings)
    if not specs:
        raise ConfigError(
            "there are no models to compare", hint="add one with `openscout models add`"
        )
    models = [_model_entry(s) for s in specs]
    load_catalog, assess = _catalog_api()
    catalog = load_catalog()
    bandwidth = ensure_bandwidth(settings)
    for spec, m in zip(specs, models, strict=True):
        m["openness"], m["license"] = openness_of(spec, catalog, assess)
        m["fit"] = fit_of(spec, settings, catalog, bandwidth, m["errors"])
    bench_config = (
        dataclasses.replace(opt.bench, depths=(0, opt.speed_depth))
        if opt.speed_depth
        else opt.bench
    )
    for spec, m in zip(specs, models, strict=True):
        try:
            _add_bench(
                m,
                bench_one(
                    spec,
                    settings,
                    bench_config,
                    price_per_hour=opt.price_per_hour,
                    cost_concurrency=opt.cost_concurrency,
                    bandwidth_gbs=bandwidth,
                    progress=progress,
                ),
                opt.speed_depth,
            )
        except OpenscoutError as e:
            m["errors"].append(f"speed measurement failed: {e.message}")

    notes: list[str] = []
    if not opt.skip_quality:
        notes = _add_quality(settings, specs, models, opt, progress)

    rec = recommend([candidate(m) for m in models], opt.constraints, opt.weights)
    refs = [*API_PRICES, *opt.api_prices]
    return {
        "version": RESULT_VERSION,
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.node()} ({platform.machine()}, {_cores()} cores)",
        "wall_s": round(time.perf_counter() - t0, 2),
        "bandwidth_gbs": bandwidth,
        "settings": {
            "suite": None if opt.skip_quality else opt.suite,
            "limit": opt.limit,
            "seed": opt.seed,
            "repeats": opt.bench.repeats,
            "warmup": opt.bench.warmup,
            "max_tokens": opt.bench.max_tokens,
            "speed_depth": opt.speed_depth,
            "price_per_hour": opt.price_per_hour,
            "cost_concurrency": opt.cost_concurrency,
            "weights": opt.weights.model_dump(),
        },
        "models": models,
        "reference_prices": [
            {
                "name": p.name,
                "input_per_m": p.input_per_m,
                "output_per_m": p.output_per_m,
                "blended_per_m": p.blended_per_m,
                "source": p.source,
                "date": p.date,
            }
            for p in refs
        ],
        "recommendation": rec.as_dict(),
        "notes": notes,
    }


def _add_quality(
    settings: Settings,
    specs: list[Any],
    models: list[dict[str, Any]],
    opt: CompareOptions,
    progress: Progress | None,
) -> list[str]:
    """Each model's quality score; returns the run's notes (e.g. scoring methods differ)."""
    run_eval = _run_eval_api()
    try:
        results = run_eval(
            settings,
            opt.suite,
            [s.id for s in specs],
            limit=opt.limit,
            seed=opt.seed,
            progress=_EvalProgress(progress) if progress else None,
            trust_python=opt.trust_python,
        )
    except OpenscoutError as e:
        for m in models:
            m["errors"].append(f"quality suite {opt.suite!r} failed: {e.message}")
        return []
    by_id = getattr(results, "results", {}) or {}
    for m in models:
        m["quality"] = quality_of(results, m["id"], opt.suite)
        rec = by_id.get(m["id"]) if isinstance(by_id, dict) else None
        failed = [r for r in (_field(rec, "items") or []) if r.get("error")]
        if failed:
            m["errors"].append(
                f"{len(failed)} quality item(s) failed and are left out of the score "
                f"(first: {failed[0]['error'].splitlines()[0][:200]})"
            )
        if m["quality"] is None:
            m["errors"].append(f"no quality score on {opt.suite!r}")
    return list(getattr(results, "notes", []) or [])


class _EvalProgress:
    """Adapts the eval runner's ProgressEvent(model_id, done, total, item_id, cached) to ours."""

    def __init__(self, sink: Progress) -> None:
        self.sink = sink

    def __call__(self, event: Any) -> None:
        if getattr(event, "item_id", None) is None:  # a model starts: its items become known
            self.sink.plan(int(getattr(event, "total", 0) or 0))
        else:
            self.sink.advance(f"{event.model_id}: quality {event.done}/{event.total}")


def _cores() -> int:
    import os

    return os.cpu_count() or 1
