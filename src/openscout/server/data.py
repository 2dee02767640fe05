"""What the pages show from the other packages: catalog, openness, lineage, fit, evaluation and
benchmark results, comparison charts. Errors in a user's data (a bad catalog file, a model
file that cannot be read, a stored report that is not one) leave their part of the page
empty and are logged; anything else is a bug and fails like one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openscout import datafile
from openscout.catalog.loader import Catalog
from openscout.catalog.loader import load_catalog as _read_catalog
from openscout.catalog.machine import Target
from openscout.catalog.schema import ModelEntry
from openscout.catalog.views import search_view, show_model
from openscout.comparison import CompareResult
from openscout.config import Settings
from openscout.engines.kinds import kind_of
from openscout.engines.spec import MAX_CONTEXT
from openscout.errors import OpenscoutError, StoreError
from openscout.evals.results import StoredRun
from openscout.evals.self_judging import judged_itself
from openscout.evals.store import current_model_keys, list_runs
from openscout.models import ModelSpec
from openscout.perf.bench import recent_results
from openscout.report.charts import quality_vs_cost, quality_vs_speed
from openscout.server.shown import page_error
from openscout.units import human_bytes

if TYPE_CHECKING:
    from openscout.catalog.fit import FitReport
    from openscout.server.pool import ModelPool

log = logging.getLogger("openscout.server")

MAX_RESULTS = 200


def load_catalog(settings: Settings | None = None) -> Catalog | None:
    """The curated catalog plus the user's own entries in <data dir>/catalog/*.yaml."""
    extra = settings.home / "catalog" if settings is not None else None
    for where in ([extra] if extra is not None and extra.is_dir() else []) + [None]:
        try:
            return _read_catalog(where)
        except OpenscoutError as e:  # a bad user file: say so, and serve the curated catalog
            log.warning("the catalog could not be loaded: %s", e)
    return None


def catalog_size(settings: Settings | None = None) -> int | None:
    cat = load_catalog(settings)
    return len(cat) if cat is not None else None


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
    machine: MachineParams = field(default_factory=lambda: MachineParams())
    context_asked: bool = False  # then models trained for less context are left out

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CatalogQuery:
        def num(name: str) -> float | None:
            try:
                v = float(params.get(name) or "nan")
            except ValueError:
                return None
            return v if math.isfinite(v) and v >= 0 else None  # NaN, inf, negatives: no filter

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
            context=min(max(context, 128), MAX_CONTEXT),
            sort=sort if sort in SORTS else "relevance",
            text={k: (params.get(k) or "")[:100] for k in TEXT_FILTERS if params.get(k)},
            machine=MachineParams.from_params(params),
            context_asked=bool(params.get("context")),
        )

    def filters(self) -> dict[str, str | int | float | bool | None]:
        """Keyword arguments for catalog.views.search_view."""
        out: dict[str, str | int | float | bool | None] = {
            "text": self.q or None,
            "limit": MAX_RESULTS,
            "fits": self.fits or self.machine.tight,
            "tight": self.machine.tight,
            "context": self.context,
            "min_context": self.context if self.context_asked else None,
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


@dataclass(frozen=True)
class MachineParams:
    """The target machine of the query string (machine, memory, gpu, gpus, tight), as the
    CLI's --machine/--memory/--gpu/--gpus/--tight; empty: this machine."""

    machine: str = ""
    memory: str = ""
    gpu: str = ""
    gpus: int | None = None
    tight: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> MachineParams:
        gpus = params.get("gpus") or ""
        return cls(
            machine=(params.get("machine") or "")[:60],
            memory=(params.get("memory") or "")[:20],
            gpu=(params.get("gpu") or "")[:20],
            gpus=min(int(gpus), 64)
            if gpus.isascii() and gpus.isdigit() and len(gpus) <= 6
            else None,
            tight=params.get("tight") in ("1", "on", "true"),
        )

    def target(self, settings: Settings) -> Target:
        """The named target; a bad size or unknown name raises FitError for the page."""
        from openscout.catalog.machine import resolve_target

        return resolve_target(
            machine=self.machine or None,
            memory=self.memory or None,
            gpu=self.gpu or None,
            gpus=self.gpus,
            home=settings.home,
        )


@dataclass(frozen=True)
class FitView:
    """What the pages show of a fit estimate (catalog.fit.FitReport)."""

    verdict: str | None = None
    required_bytes: int | None = None
    available_bytes: int | None = None
    target: str | None = None
    context: int | None = None
    decode_tokens_per_s: float | None = None
    efficiency_source: str | None = None
    measured_tokens_per_s: float | None = None
    measured_model: str | None = None
    machine_name: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def required(self) -> str:
        return human_bytes(self.required_bytes)

    @property
    def available(self) -> str:
        return human_bytes(self.available_bytes)

    @classmethod
    def of(cls, report: FitReport | Mapping[str, Any]) -> FitView:
        """From a FitReport, or from its to_dict() as catalog.views.show_model gives it."""
        d = report if isinstance(report, Mapping) else report.to_dict()
        names = [f.name for f in fields(cls) if f.name != "notes"]
        return cls(**{n: d.get(n) for n in names}, notes=list(d.get("notes") or []))


class _FitJudge:
    """Fit verdicts for many entries: the machine is read once, not once per row."""

    def __init__(self, settings: Settings, target: Target | None = None) -> None:
        from openscout.catalog import fit  # pulls in numpy: only for pages that show a fit
        from openscout.perf.calibration import Calibration, load_calibration

        self.settings = settings
        self.fit = fit
        self.target = target
        self.machine = fit.machine_memory() if target is None or target.here else None
        # a page must not stall on a bandwidth measurement: stored figure or default
        self.bandwidth = fit.default_bandwidth(settings, measure=False)[0]
        self.calibration: Calibration | None = None
        try:
            self.calibration = load_calibration(settings)
        except StoreError as e:  # a store that cannot be opened: estimates go uncalibrated
            log.warning("bench calibration could not be read: %s", e)

    def verdict(self, entry: ModelEntry, context: int = 4096) -> FitView | None:
        try:
            shape = self.fit.shape_from_entry(entry, "Q4_K_M")
            report = self.fit.estimate(
                shape,
                context,
                machine=self.machine,
                bandwidth_gbs=self.bandwidth if self.machine else None,
                settings=self.settings,
                model=entry.id,
                catalog_id=entry.id,
                calibration=self.calibration if self.machine else None,
                target=self.target,
            )
        except OpenscoutError as e:  # an entry without the facts a fit needs (parameters)
            log.debug("fit failed for %s: %s", entry.id, e)
            return None
        return FitView.of(report)


@dataclass(frozen=True)
class CatalogResults:
    """The catalog page's table: search rows (with a fit verdict each) or why there are none."""

    available: bool
    rows: list[dict[str, Any]] = field(default_factory=list)  # catalog.search items + "fit"
    total: int = 0
    error: str | None = None
    machine: str = "this machine"


def search_catalog(query: CatalogQuery, settings: Settings) -> CatalogResults:
    catalog = load_catalog(settings)
    if catalog is None:
        return CatalogResults(available=False)
    try:
        target = query.machine.target(settings)
        result = search_view(settings=settings, catalog=catalog, target=target, **query.filters())
    except OpenscoutError as e:  # a bad filter or machine (SearchError, FitError): on the page
        return CatalogResults(available=True, error=page_error(e, settings))
    judge = _FitJudge(settings, target)
    rows = []
    for item in result.get("items", []):
        entry = catalog.get(item["id"])
        rows.append({**item, "fit": judge.verdict(entry, query.context) if entry else None})
    return CatalogResults(
        available=True,
        rows=rows,
        total=result.get("total", len(rows)),
        machine=target.describe(),
    )


# -- the model page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelView:
    """Everything the model page shows; its fields are the template's names."""

    model_id: str
    specs: list[ModelSpec]
    entry: dict[str, Any] | None  # catalog.views.show_model's facts
    card_excerpt: str | None
    openness: dict[str, Any] | None
    licences: dict[str, Any] | None  # catalog.views.licences: what the CLI states too
    tree: dict[str, Any] | None
    fit: FitView | None
    evals: list[EvalRow]
    bench: list[BenchRow]
    published: list[dict[str, Any]] = field(default_factory=list)  # labelled "published"

    def context(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def model_view(pool: ModelPool, model_id: str, target: Target | None = None) -> ModelView | None:
    """Everything openscout holds about one model: registered spec(s), catalog facts, openness,
    family tree, fit (on this machine or `target`), evaluation and benchmark results. None if
    it is unknown."""
    settings = pool.settings
    specs = [s for s in pool.specs() if model_id in (s.id, s.catalog_id)]
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
    shown: dict[str, Any] = {}
    if entry is not None:
        try:
            shown = show_model(
                entry.id, settings=settings, catalog=catalog, target=target, may_measure=False
            )
        except OpenscoutError as e:  # a user's entry the views cannot show: the rest still can
            log.warning("catalog view of %s failed: %s", entry.id, e)
    catalog_fit = shown.get("fit")
    fit = _registered_fit(specs, settings, target) or (
        FitView.of(catalog_fit) if catalog_fit and "error" not in catalog_fit else None
    )
    ids = [s.id for s in specs]
    return ModelView(
        model_id=model_id,
        specs=specs,
        entry=shown.get("facts"),
        card_excerpt=entry.card_excerpt if entry is not None else None,
        openness=shown.get("openness"),
        licences=shown.get("licences"),
        tree=shown.get("tree"),
        fit=fit,
        evals=[r for r in eval_rows(settings, pool.specs()) if r.model in ids],
        bench=bench_rows(settings, ids),
        published=shown.get("published") or [],
    )


def _registered_fit(
    specs: list[ModelSpec], settings: Settings, target: Target | None = None
) -> FitView | None:
    """A registered local model's fit comes from its own file, not from catalog figures."""
    from openscout.catalog.fit import estimate_fit  # pulls in numpy

    local = [s for s in specs if kind_of(s).runs_here]
    if not local:
        return None
    try:
        return FitView.of(
            estimate_fit(
                local[0].id,
                context=local[0].n_ctx,
                settings=settings,
                target=target,
                may_measure=False,
            )
        )
    except OpenscoutError as e:  # its file is missing or unreadable: the page says no fit
        log.debug("fit of %s failed: %s", local[0].id, e)
        return None


# -- measurements ------------------------------------------------------------------------------


def _fmt(v: float | int | None, digits: int = 3) -> str:
    return "-" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


@dataclass(frozen=True)
class EvalRow:
    """One finished (run, model): suite, score with its 95% interval and sample size."""

    suite: str
    model: str
    score: str
    interval: str
    n: int | str
    failed: int  # items left out of the score: a score without them is incomplete
    when: str
    changed: bool = False  # the id names another model (file, server, context) since


def eval_rows(settings: Settings, specs: list[ModelSpec]) -> list[EvalRow]:
    """One row per finished (run, model), newest runs first; `specs`: the registered models,
    to tell a result of a model since replaced under the same id."""
    try:
        runs = [StoredRun.from_row(row) for row in list_runs(settings, 50)]
        now = current_model_keys(settings, specs)
    except StoreError as e:  # a store that cannot be opened: the page says there are none
        log.warning("evaluation results could not be read: %s", e)
        return []
    out: list[EvalRow] = []
    for run in runs:
        own = judged_itself(run.summary.notes if run.summary else [])
        for model, res in (run.summary.models if run.summary else {}).items():
            lo, hi = res.ci_low, res.ci_high
            out.append(
                EvalRow(
                    suite=run.suite_label,
                    model=model,
                    score=_fmt(res.score) + (" (judged by itself)" if model in own else ""),
                    interval=f"{_fmt(lo)} – {_fmt(hi)}" if lo is not None else "-",
                    n=res.n if res.n is not None else "-",
                    failed=res.errors,
                    when=(run.created_at or "")[:19],
                    changed=run.model_since_changed(model, now),
                )
            )
    return out


@dataclass(frozen=True)
class BenchRow:
    """A stored speed measurement, as the figures a reader compares."""

    HEADERS = ("model", "when", "host", "output tok/s", "TTFT s", "memory MB")

    model: str
    when: str
    host: str | None
    output_tps: str
    ttft_s: str
    memory_mb: str

    def cells(self) -> tuple[str, ...]:
        return (
            self.model,
            self.when,
            str(self.host),
            self.output_tps,
            self.ttft_s,
            self.memory_mb,
        )


def bench_rows(settings: Settings, model_ids: list[str]) -> list[BenchRow]:
    """Recent speed measurements of these models (perf.bench.recent_results rows)."""
    rows: list[BenchRow] = []
    try:
        for mid in model_ids:
            for r in recent_results(settings, mid, 5):
                memory = r["memory_bytes"]
                rows.append(
                    BenchRow(
                        model=r["model_id"],
                        when=str(r["created_at"] or "")[:19],
                        host=r["host"],
                        output_tps=_fmt(r["output_tps"], 1),
                        ttft_s=_fmt(r["ttft_s"], 3),
                        memory_mb=_fmt(memory / 2**20, 0) if memory else "-",
                    )
                )
    except StoreError as e:  # a store that cannot be opened: the page says there are none
        log.warning("benchmark results could not be read: %s", e)
    return rows


@dataclass(frozen=True)
class PublishedRow:
    """One registered model's published score beside its latest own score on each suite."""

    model: str
    catalog_id: str
    benchmark: str
    published: str
    source: str
    date: str
    yours: str


def _yours(e: EvalRow) -> str:
    """One suite's score for the published-scores table, with its failed items: a score
    of 1.000 (n=5) whose 5 other items failed looked complete there (37th probe)."""
    failed = f", {e.failed} failed" if e.failed else ""
    return f"{e.score} on {e.suite} (n={e.n}{failed})"


def published_rows(
    settings: Settings, specs: list[ModelSpec], evals: list[EvalRow]
) -> list[PublishedRow]:
    """For the leaderboard page: published scores of registered models (by catalog id) in one
    column, the user's newest result per suite in another; never combined."""
    from openscout.catalog.published import all_scores, curated_scores, scores_for

    try:
        scores = all_scores(settings.home)
    except OpenscoutError as e:  # a damaged import cache: curated scores still show
        log.warning("imported published results could not be read: %s", e)
        scores = list(curated_scores())
    # one pass over what may be 60,000 imported scores, not one per registered model
    wanted = {spec.catalog_id.lower() for spec in specs if spec.catalog_id}
    scores = [s for s in scores if s.model.lower() in wanted]
    rows = []
    for spec in specs:
        if not spec.catalog_id:
            continue
        latest: dict[str, EvalRow] = {}
        for e in evals:  # newest first: keep the first row per suite
            if e.model == spec.id and not e.changed:
                latest.setdefault(e.suite, e)
        yours = "; ".join(_yours(e) for e in latest.values()) or "-"
        for p in scores_for(spec.catalog_id, scores):
            rows.append(
                PublishedRow(
                    model=spec.id,
                    catalog_id=spec.catalog_id,
                    benchmark=f"{p.benchmark} ({p.publisher})",
                    published=f"{p.value:g}",
                    source=str(p.source),
                    date=p.date,
                    yours=yours,
                )
            )
    return rows


REPORT_BYTES = 8 * 2**20  # a comparison of many models and suites is well under 1 MB


def latest_comparison(settings: Settings) -> CompareResult | None:
    """The newest report.json written by `openscout compare` under the reports dir."""
    root = settings.reports_dir
    if not root.is_dir():
        return None
    found = sorted(root.glob("*/report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in found[:5]:
        try:  # through the data-file reader: a pipe held a page's thread for ever, 100,000
            # levels of nesting were a 500, and 600 MB were read on every view (31st probe)
            text = datafile.read_text(path, REPORT_BYTES)
            return CompareResult.from_json(datafile.parse_json(text, str(path)))
        except (OpenscoutError, ValueError) as e:  # unreadable, or not a report (pydantic's
            # ValidationError is a ValueError): try the next newest
            log.warning("%s is not a comparison report: %s", path, e)
    return None


def comparison_charts(settings: Settings) -> dict[str, dict[str, Any]] | None:
    """Quality against cost and against speed (Plotly JSON), from the latest comparison."""
    result = latest_comparison(settings)
    if result is None:
        return None
    return {
        "quality_vs_cost": quality_vs_cost(result),
        "quality_vs_speed": quality_vs_speed(result),
    }


def plotly_js_path() -> Path | None:
    """plotly.min.js inside the installed plotly package (found without importing plotly)."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None
