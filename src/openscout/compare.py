"""`openscout compare`'s core: quality, speed, memory, cost, openness and licence for each
model, ranked into a recommendation with reasons. Returns data; the CLI prints it.

For the chosen models (default: every registered model) it
1. measures speed and memory (perf.bench: a fresh load per model, warm-up + repeats),
2. runs the default quality suite (evals `quick`, a small item limit) on all of them,
3. computes $/1M tokens from the measured throughput and a price per hour,
4. takes openness, licence and OSI / commercial status from the catalog,
5. asks recommend.py for the Pareto front and the recommended model.

A model that fails one stage keeps the others: the failure is listed under its `errors`.
The result is a `comparison.CompareResult` (typed; its `to_json()` is the JSON of
`openscout compare --json` and report.json).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import platform
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any

from openscout.catalog import Catalog, assess_openness
from openscout.catalog.licenses import get_license
from openscout.catalog.loader import load_catalog, load_user_catalog
from openscout.compare_published import rank_agreements, with_published_and_rent
from openscout.comparison import (
    BenchRecord,
    CompareResult,
    CompareSettings,
    FitFacts,
    HostedPriceRow,
    ModelComparison,
    OpennessFacts,
    PairedTest,
    QualityScore,
    ReferencePrice,
)
from openscout.config import Settings
from openscout.engines.kinds import kind_of
from openscout.errors import ConfigError, DataFileError, EngineError, OpenscoutError
from openscout.evals import run_eval
from openscout.evals.loading import load_suite
from openscout.evals.results import EvalRun, ProgressEvent, answered_from_cache
from openscout.evals.self_judging import self_judged, who
from openscout.models import ModelSpec, get_model, list_models
from openscout.paired_held import held_tests, holm_notes, with_paired
from openscout.perf.bandwidth import ensure_bandwidth
from openscout.perf.bench import ModelBench, bench_one
from openscout.perf.cost import API_PRICES, HOSTED_PRICES, ApiPrice
from openscout.perf.measure import BenchConfig, DepthPoint, Progress, PromptStats
from openscout.recommend import Candidate, Constraints, Weights, recommend
from openscout.recommend_exclude import exclusions, incomplete

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
    use_cache: bool = True  # read quality answers cached by earlier runs (--no-cache: not)
    target: Any = None  # catalog.machine.Target the fit column judges; None: this machine


# -- facts from the catalog ------------------------------------------------------------------


def _commercial(value: str | None) -> bool | None:
    """Catalog values 'yes' / 'conditional' / 'no' / 'unknown' -> allowed?"""
    return {"yes": True, "conditional": True, "no": False}.get((value or "").lower())


def openness_of(spec: ModelSpec, catalog: Catalog) -> tuple[OpennessFacts | None, str | None]:
    """(openness facts, licence) for a registered model, from its catalog entry; without one,
    the licence the user registered still says whether it is OSI-approved."""
    entry = catalog.get(spec.catalog_id) if spec.catalog_id else None
    if entry is None:
        return _licence_only(spec.license), spec.license
    a = assess_openness(entry, catalog)
    facts = OpennessFacts(
        label=a.label,
        mof_class=a.mof_class,
        osi_approved=a.osi_approved,
        commercial_use=_commercial(a.commercial_use),
        commercial_terms=a.commercial_use,
        catalog_id=spec.catalog_id,
        criteria={k: c.status for k, c in a.criteria.items()},
    )
    name = a.license.get("name") if a.license.get("id") != "unknown" else None
    return facts, name or entry.license or spec.license


def _licence_only(name: str | None) -> OpennessFacts | None:
    lic = get_license(name)
    if lic.id == "unknown":
        return None
    return OpennessFacts(
        osi_approved=lic.osi_approved,
        commercial_use=_commercial(lic.commercial_use),
        commercial_terms=lic.commercial_use,
    )


def fit_of(
    spec: ModelSpec,
    settings: Settings,
    catalog: Catalog,
    bandwidth: float | None,
    errors: list[str],
    target: Any = None,
) -> FitFacts | None:
    """Whether the model fits this machine (or `target`) at its context size, or None."""
    if not kind_of(spec).runs_here:
        return None  # remote engines run on someone else's memory
    from openscout.catalog.fit import estimate_fit  # pulls in numpy: only when a fit is asked

    try:
        away = target is not None and not target.here  # this machine's bandwidth is not its
        r = estimate_fit(
            spec.id,
            context=spec.n_ctx,
            settings=settings,
            catalog=catalog,
            bandwidth_gbs=None if away else bandwidth,
            target=target,
        )
    except OpenscoutError as e:  # the model's file or facts: said on its row, not fatal
        errors.append(f"fit estimate failed: {e.message}")
        return None
    return FitFacts(
        verdict=r.verdict,
        required_bytes=r.required_bytes,
        available_bytes=r.available_bytes,
        context=r.context,
        estimated_tps=r.decode_tokens_per_s,
        machine=r.machine_name,
    )


# -- the comparison --------------------------------------------------------------------------


def _model_entry(spec: ModelSpec) -> ModelComparison:
    return ModelComparison(
        id=spec.id,
        engine=spec.engine,
        license=spec.license,
        catalog_id=spec.catalog_id,
        bundled=spec.bundled,
    )


SPEED_FAILED = "speed measurement failed"
SPEED_AGAIN = "(three times, each a failure a rerun may clear)"
BENCH_ATTEMPTS = 3  # a model's whole speed measurement, after a transient failure


def _with_error(m: ModelComparison, error: str) -> ModelComparison:
    return m.model_copy(update={"errors": [*m.errors, error]})


def _add_bench(m: ModelComparison, bench: ModelBench, depth: int = 0) -> ModelComparison:
    record = BenchRecord.of(bench)
    short = record.short
    at = bench.result.at_depth(depth) if depth else None
    if depth and at is None:  # never show depth-0 figures under a depth heading
        m = _with_error(m, f"speed at depth {depth} was not measured")
    speed = (at.output_tps.median, at.ttft_s.median, at.prefill_tps.median) if at else None
    if speed is None and not depth:
        speed = (record.output_tps, record.ttft_s, record.prefill_tps)
    m = m.model_copy(
        update={
            "output_tps": speed[0] if speed else None,
            "ttft_s": speed[1] if speed else None,
            "prefill_tps": speed[2] if speed else None,
            "itl_p50_s": short.itl_p50_s if short else None,
            "itl_p99_s": short.itl_p99_s if short else None,
            "mbu": record.mbu,
            "memory_bytes": record.memory_bytes,
            "cost": record.cost,
            "price_source": record.price_source,
            "bench": record,
        }
    )
    answer = _measured_answer(m, depth)
    if answer is not None and answer[0] < 1:
        # no speed, and not "not measured" either: a server answering nothing to anything
        # passed every negative check and was recommended (47th probe)
        m = _with_error(m, f"{SPEED_FAILED}: the model answered the speed prompt with nothing")
    return m


def candidate(m: ModelComparison, depth: int = 0, quality_asked: bool = False) -> Candidate:
    """The model as the recommendation weighs it; `depth`: compare's --depth, where its
    speed and cost are taken (they were the depth-0 answer's: 42nd probe). Quality asked
    and not measured (every item failed, the suite or its judge failed) is incomplete, as a
    score missing some items is: a server failing every item was recommended (50th probe)."""
    q, o = m.quality, m.openness
    return Candidate(
        id=m.id,
        quality=q.score if q else None,
        quality_low=q.ci_low if q else None,
        quality_high=q.ci_high if q else None,
        suite=q.suite if q else None,
        output_tps=m.output_tps,
        answer_tps=_answer_tps(m, depth),
        request_cost_per_m=_request_cost(m, depth),
        ttft_s=m.ttft_s,
        memory_bytes=m.memory_bytes,
        cost_per_m=m.cost_per_m,
        license=m.license,
        osi_approved=o.osi_approved if o else None,
        commercial_use=o.commercial_use if o else None,
        openness_label=o.label if o else None,
        mof_class=o.mof_class if o else None,
        fits=_fits(m.fit),
        quality_failed=q.failed if q else 0,
        # a model that did not answer the speed prompt was not asked the suite: said once
        quality_missing=quality_asked and q is None and not _speed_failed(m),
        speed_failed=_speed_failed(m),
        speed_retry=any(e.startswith(f"{SPEED_FAILED} {SPEED_AGAIN}") for e in m.errors),
    )


def _speed_failed(m: ModelComparison) -> bool:
    return any(e.startswith(SPEED_FAILED) for e in m.errors)


def _answer_tps(m: ModelComparison, depth: int = 0) -> float | None:
    """The measured answer's tokens over its whole request time (send to last token), at
    compare's depth: a first token held back cannot be made up by sending the rest at once
    (37th probe), and a short answer still has a speed (one under 8 tokens had none: 40th)."""
    answer = _measured_answer(m, depth)
    if answer is None:
        return None
    tokens, seconds = answer
    return float(tokens / seconds) if tokens >= 1 and seconds and seconds > 0 else None


def _measured_answer(m: ModelComparison, depth: int) -> tuple[float, float | None] | None:
    """(tokens, seconds) of the answer at `depth` (0: the short prompt's). The tokens are
    counted in one tokenizer over the text that arrived (perf/reference_tokens): a server's
    own count is its word, and claiming 3.3 times the tokens was 3.3 times the speed (42nd
    probe); the engine's count only where that tokenizer is not installed."""
    if m.bench is None:
        return None
    at: DepthPoint | PromptStats | None
    if depth:
        at = next((p for p in m.bench.depths if p.depth == depth), None)
        if at is None or at.e2e_s is None or at.completion_tokens is None:
            return None
    else:
        at = m.bench.short
        if at is None:
            return None
    ref, own = at.reference_tokens, at.completion_tokens
    return (ref if ref is not None else float(own or 0)), at.e2e_s.median


def _request_cost(m: ModelComparison, depth: int = 0) -> float | None:
    """The machine's price for the time a request takes, per 1M answer tokens: one client's
    whole request (send to last token), or at `--cost-at N` all N clients' round over all
    their answer tokens. Prompt tokens are left out: their count is the server's word, and a
    server claiming 590 for a 19-token prompt was 15 times cheaper (40th probe); the input
    rate (prompt over TTFT) is the server's first delta, faked by one early character (39th)."""
    if m.cost is None or m.bench is None:
        return None
    price_per_s = m.cost.price_per_hour / 3600
    clients = m.bench.cost_concurrency or 1
    if clients > 1:
        point = next((p for p in m.bench.sweep if p.concurrency == clients), None)
        rate = point and (point.aggregate_reference_tps or point.aggregate_output_tps)
    else:
        rate = _answer_tps(m, depth)
    return float(price_per_s / rate * 1e6) if rate and rate > 0 else None


def _fits(fit: FitFacts | None) -> bool | None:
    if fit is None or fit.verdict in (None, "unknown"):
        return None
    return fit.verdict != "does not fit"


def _catalog_for(settings: Settings) -> tuple[Catalog, str | None]:
    """The catalog with the user's own entries (fine-tunes); a bad file among those costs its
    entries, with a note, not the whole comparison (nineteenth probe)."""
    try:
        return load_user_catalog(settings.home), None
    except DataFileError as e:
        return load_catalog(), f"the user's catalog files were not read: {e.message[:300]}"


def compare(
    settings: Settings,
    model_ids: list[str] | None = None,
    options: CompareOptions | None = None,
    progress: Progress | None = None,
) -> CompareResult:
    opt = options or CompareOptions()
    t0 = time.perf_counter()
    if model_ids and len(set(model_ids)) != len(model_ids):  # benched twice, its own rival
        raise ConfigError("a model is listed twice", hint="give each -m once")
    specs = [get_model(settings, m) for m in model_ids] if model_ids else list_models(settings)
    if not specs:
        raise ConfigError(
            "there are no models to compare", hint="add one with `openscout models add`"
        )
    cut = not opt.skip_quality and _check_suite(settings, opt, specs)
    catalog, catalog_note = _catalog_for(settings)
    bandwidth = ensure_bandwidth(settings)
    models = []
    for spec in specs:
        m = _model_entry(spec)
        openness, licence = openness_of(spec, catalog)
        errors: list[str] = []
        fit = fit_of(spec, settings, catalog, bandwidth, errors, opt.target)
        models.append(
            m.model_copy(
                update={"openness": openness, "license": licence, "fit": fit, "errors": errors}
            )
        )
    models = [
        _bench_stage(m, spec, settings, opt, bandwidth, progress)
        for spec, m in zip(specs, models, strict=True)
    ]
    notes: list[str] = [catalog_note] if catalog_note else []
    items = None
    paired: list[PairedTest] = []
    if not opt.skip_quality:
        models, notes, items, paired = _add_quality(settings, specs, models, opt, progress)
        if cut and items is not None:  # a 30-test file was cut to 20 unsaid
            notes.append(
                f"quality was measured on the first {items} items of {opt.suite!r} (--limit);"
                " a larger --limit asks more of them"
            )

    models, published_notes = with_published_and_rent(models, settings.home)
    notes += published_notes
    asked = not opt.skip_quality
    cands = [candidate(m, opt.speed_depth, asked) for m in models]
    # only pairs of models that can be the pick are held to Holm's correction together: a
    # dear model excluded by --max-cost raised the bound and junk was recommended (52nd)
    out = {c.id for c in cands if incomplete(c, opt.constraints) or exclusions(c, opt.constraints)}
    deciding = [t for t in paired if out.isdisjoint((t.model_a, t.model_b))]
    held = held_tests(deciding)
    cands = with_paired(cands, deciding, held)
    notes += holm_notes(deciding, held)
    rec = recommend(cands, opt.constraints, opt.weights)
    return CompareResult(
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        machine=f"{platform.node()} ({platform.machine()}, {os.cpu_count() or 1} cores)",
        wall_s=round(time.perf_counter() - t0, 2),
        bandwidth_gbs=bandwidth,
        settings=CompareSettings(
            suite=None if opt.skip_quality else opt.suite,
            limit=opt.limit,
            items=items,
            seed=opt.seed,
            repeats=opt.bench.repeats,
            warmup=opt.bench.warmup,
            max_tokens=opt.bench.max_tokens,
            speed_depth=opt.speed_depth,
            price_per_hour=opt.price_per_hour,
            cost_concurrency=opt.cost_concurrency,
            weights=opt.weights,
        ),
        models=models,
        reference_prices=[ReferencePrice.of(p) for p in [*API_PRICES, *opt.api_prices]],
        recommendation=rec,
        notes=notes,
        hosted_prices=[HostedPriceRow.of(p) for p in HOSTED_PRICES],
        rank_agreement=rank_agreements(models, seed=opt.seed),
        paired=paired,
    )


def _bench_stage(
    m: ModelComparison,
    spec: ModelSpec,
    settings: Settings,
    opt: CompareOptions,
    bandwidth: float | None,
    progress: Progress | None,
) -> ModelComparison:
    config = (
        dataclasses.replace(opt.bench, depths=(0, opt.speed_depth))
        if opt.speed_depth
        else opt.bench
    )
    attempt = 1
    while True:
        try:
            bench = bench_one(
                spec,
                settings,
                config,
                price_per_hour=opt.price_per_hour,
                cost_concurrency=opt.cost_concurrency,
                bandwidth_gbs=bandwidth,
                progress=progress,
            )
            return _add_bench(m, bench, opt.speed_depth)
        except OpenscoutError as e:  # an engine that fails: said on its row, the others go on
            transient = isinstance(e, EngineError) and e.transient
            if not transient or attempt == BENCH_ATTEMPTS:
                again = f" {SPEED_AGAIN}" if transient else ""
                return _with_error(m, f"{SPEED_FAILED}{again}: {e.message}")
            # one 429 on the speed prompt excluded a model and handed the pick to junk
            # (52nd probe): measured again whole, after the wait the server asked for
            time.sleep(min(e.retry_after or 2.0 * attempt, 30.0))
            attempt += 1


def quality_of(run: EvalRun, model_id: str, suite: str) -> QualityScore | None:
    """One model's score from run_eval's EvalRun."""
    rec = run.results.get(model_id)
    if rec is None or rec.score is None:
        return None
    return QualityScore(
        suite=suite,
        score=float(rec.score),
        n=rec.n,
        ci_low=rec.ci_low,
        ci_high=rec.ci_high,
        failed=rec.errors,
        scoring=rec.scoring.get("multiple_choice"),
    )


def _check_suite(settings: Settings, opt: CompareOptions, specs: list[ModelSpec]) -> bool:
    """A suite that cannot run stops compare before the speed runs, as it stops `eval`: a
    `python` assertion without --trust-python, or an unknown judge, let every model's quality
    fail and the pick go on speed and cost alone (50th probe); so does a judge that is one of
    the models compared (54th). True where --limit left items of it out (a built-in suite
    is made to the size asked: any --limit)."""
    suite = load_suite(opt.suite, seed=opt.seed, limit=opt.limit, trust_python=opt.trust_python)
    judges = [get_model(settings, judge) for judge in sorted(suite.judges)]
    if pairs := self_judged(judges, specs, settings):
        judge, model = pairs[0]
        raise ConfigError(
            f"{who(judge, model)}: it would judge its own answers and its rivals', and the"
            " pick would rest on its word",
            hint=f"choose a judge that is not compared (`judge:` in the suite), or leave"
            f" {model} out of -m",
        )
    if opt.limit is None:
        return False
    return suite.whole is None or suite.whole > len(suite.items)


def _add_quality(
    settings: Settings,
    specs: list[ModelSpec],
    models: list[ModelComparison],
    opt: CompareOptions,
    progress: Progress | None,
) -> tuple[list[ModelComparison], list[str], int | None, list[PairedTest]]:
    """Each model with its quality score, the run's notes (e.g. scoring methods differ), how
    many items of the suite were asked (None when the suite did not run) and the paired tests
    of each two models on the items both answered. A model that could not answer the speed
    prompt is left out: a file that does not load failed the suite for every model."""
    answered = [s.id for s, m in zip(specs, models, strict=True) if not _speed_failed(m)]
    if not answered:
        return models, [], None, []
    try:
        run = run_eval(
            settings,
            opt.suite,
            answered,
            limit=opt.limit,
            seed=opt.seed,
            progress=_EvalProgress(progress) if progress else None,
            trust_python=opt.trust_python,
            # --no-cache asks every item again and caches those answers for later runs
            refresh=not opt.use_cache,
            resume=opt.use_cache,
        )
    except OpenscoutError as e:  # a suite that cannot run: every row says so
        failed = f"quality suite {opt.suite!r} failed: {e.message}"
        return [_with_error(m, failed) for m in models], [], None, []
    out = []
    for m in models:
        if m.id not in answered:
            out.append(m)
            continue
        m = m.model_copy(update={"quality": quality_of(run, m.id, opt.suite)})
        rec = run.results.get(m.id)
        failed = [r for r in (rec.items if rec else []) if r.get("error")]
        if failed:
            m = _with_error(
                m,
                f"{len(failed)} quality item(s) failed and are left out of the score "
                f"(first: {_first_line(failed[0]['error'])})",
            )
        if m.quality is None:
            m = _with_error(m, f"no quality score on {opt.suite!r}")
        out.append(m)
    items = max((len(r.items) for r in run.results.values()), default=None)
    paired = [PairedTest.model_validate(c, from_attributes=True) for c in run.comparisons]
    notes = list(run.notes) + _cached_notes(run, specs)
    return out, notes, items, paired


def _first_line(error: str, most: int = 300) -> str:
    """An error's first line, cut between words and marked: cut at 200 characters, a
    judge's "answered HTTP 400" read "answered HTTP 40)" (54th probe)."""
    return textwrap.shorten(error.splitlines()[0] if error else "", most, placeholder=" ...")


def _cached_notes(run: EvalRun, specs: list[ModelSpec]) -> list[str]:
    """Say where a server's quality comes from answers cached by an earlier run while its
    speed was measured now: a server answering well once and junk at once later kept its
    old quality beside its new speed, and was recommended (51st probe). A file's answers
    are cached under its digest, so they are its own."""
    out = []
    for spec in specs:
        rec = run.results.get(spec.id)
        if rec is None or kind_of(spec).runs_here:
            continue
        cached = sum(1 for r in rec.items if answered_from_cache(r))
        if run.resumed:  # answered by the earlier command of the same run, kept (52nd probe)
            out.append(
                f"{spec.id}: its quality run was resumed, and the answers an earlier command"
                " got are kept, its speed measured now; if the server may serve another model"
                " now, run again with --no-cache"
            )
        elif cached:
            out.append(
                f"{spec.id}: {cached} of {len(rec.items)} quality answers were read from the"
                " cache of an earlier run, its speed measured now; if the server may serve"
                " another model now, run again with --no-cache"
            )
    return out


class _EvalProgress:
    """Adapts the eval runner's ProgressEvent(model_id, done, total, item_id, cached) to ours."""

    def __init__(self, sink: Progress) -> None:
        self.sink = sink

    def __call__(self, event: ProgressEvent) -> None:
        if event.item_id is None:  # a model starts: its items become known
            self.sink.plan(event.total)
        else:
            self.sink.advance(f"{event.model_id}: quality {event.done}/{event.total}")
