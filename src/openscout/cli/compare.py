"""`openscout bench` (speed, memory, cost) and `openscout compare` (the main job: which model?)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from openscout.cli.output import (
    console,
    esc,
    fmt,
    human_bytes,
    inert,
    plain,
    print_json,
    print_table,
    progress_bar,
)
from openscout.cli.params import finite
from openscout.cli.target import GPU, GPUS, MACHINE, MEMORY, target_from
from openscout.config import get_settings
from openscout.engines.spec import MAX_PRICE_PER_HOUR
from openscout.errors import OpenscoutError
from openscout.evals.suite import MAX_ITEMS

if TYPE_CHECKING:  # imported when a command runs, so `openscout --help` stays instant
    from rich.progress import Progress

    from openscout.comparison import CompareResult
    from openscout.perf.bench import ModelBench
    from openscout.perf.measure import BenchConfig
    from openscout.recommend import Weights


class _Bar:
    """A Rich progress bar behind perf.measure.Progress (its total grows as work is planned)."""

    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task = progress.add_task("starting", total=0)

    def plan(self, units: int) -> None:
        total = self.p.tasks[0].total or 0
        self.p.update(self.task, total=total + units)

    def advance(self, description: str) -> None:
        task = self.p.tasks[0]
        if task.total is not None and task.completed + 1 > task.total:
            self.p.update(self.task, total=task.completed + 1)  # unplanned work (eval items)
        self.p.update(self.task, advance=1, description=esc(description))


def _price_per_hour() -> Any:
    """The --price-per-hour option of `bench` and `compare`: finite, up to a bound."""
    return typer.Option(
        None,
        "--price-per-hour",
        min=0.0,
        max=MAX_PRICE_PER_HOUR,
        callback=finite,
        help="$ per hour of this machine",
    )


@contextmanager
def _progress(enabled: bool) -> Iterator[_Bar | None]:
    if not enabled:
        yield None
        return
    with progress_bar(transient=True) as p:
        yield _Bar(p)


BENCH_DEPTHS = (0, 1024)  # `openscout bench` without --depth: a chat turn and a short document


def _bench_config(
    repeats: int,
    warmup: int,
    max_tokens: int,
    concurrency: list[int] | None,
    sweep_default: bool = True,
    depths: list[int] | None = None,
) -> BenchConfig:
    from openscout.perf.measure import BenchConfig

    # without a sweep asked for or refused, BenchConfig's default client counts apply
    sweep = {"concurrency": tuple(concurrency or ())} if concurrency or not sweep_default else {}
    depth_set = tuple(sorted({0, *(BENCH_DEPTHS if depths is None else depths)}))
    return BenchConfig(
        repeats=repeats, warmup=warmup, max_tokens=max_tokens, depths=depth_set, **sweep
    )


def _print_depths(benches: list[ModelBench]) -> None:
    if not any(len(b.result.depths) > 1 for b in benches):
        return
    table = Table(
        "model",
        "depth",
        "prompt tok",
        "TTFT ms",
        "tok/s",
        "prefill tok/s",
        title="At depth: the short question after that many tokens of context (median)",
    )
    for b in benches:
        for d in b.result.depths:
            table.add_row(
                plain(b.result.model_id),
                str(d.depth),
                str(d.prompt_tokens),
                fmt(_ms(d.ttft_s.median), 0),
                fmt(d.output_tps.median, 1),
                fmt(d.prefill_tps.median, 0),
            )
    print_table(table)


def _print_speed(benches: list[ModelBench]) -> None:
    table = Table(
        "model",
        "prompt",
        "TTFT ms",
        "tok/s",
        "prefill tok/s",
        "ITL p50/p99 ms",
        "e2e s",
        "MBU*",
        title="Speed (median [min-max] of timed runs)",
    )
    for b in benches:
        for name, p in b.result.prompts.items():
            t, o = p.ttft_s, p.output_tps
            table.add_row(
                plain(b.result.model_id),
                plain(f"{name} ({p.prompt_tokens} tok)"),
                f"{fmt(_ms(t.median), 0)} [{fmt(_ms(t.min), 0)}-{fmt(_ms(t.max), 0)}]",
                f"{fmt(o.median, 1)} [{fmt(o.min, 1)}-{fmt(o.max, 1)}]",
                fmt(p.prefill_tps.median, 0),
                f"{fmt(_ms(p.itl_p50_s), 1)} / {fmt(_ms(p.itl_p99_s), 1)}",
                fmt(p.e2e_s.median, 2),
                "-" if p.mbu is None else f"{p.mbu * 100:.1f}%",
            )
    print_table(table, drop=("e2e s", "ITL p50/p99 ms", "MBU*"))
    for b in benches:
        r = b.result
        if r.mbu is None:
            continue
        rated = (
            f"{r.mbu_rated * 100:.1f}% of the rated peak {r.rated_bandwidth_gbs:g} GB/s"
            if r.mbu_rated is not None and r.rated_bandwidth_gbs is not None
            else "rated peak unknown (set OPENSCOUT_RATED_BANDWIDTH_GBS)"
        )
        console.print(
            f"[dim]* MBU of {esc(r.model_id)}: against the bandwidth measured here "
            f"({r.bandwidth_gbs or 0:.1f} GB/s, see docs/metrics.md); {rated}[/]",
            highlight=False,
        )


def _print_bench(benches: list[ModelBench]) -> None:
    _print_speed(benches)
    _print_depths(benches)
    cost = Table(
        "model",
        "peak memory",
        "load s",
        "$/h",
        "$/1M in",
        "$/1M out",
        "$/1M blended",
        "price from",
        title="Memory and cost",
    )
    for b in benches:
        prices = ("price_per_hour", "input_per_m", "output_per_m", "blended_per_m")
        cost.add_row(
            plain(b.result.model_id),
            human_bytes(b.result.memory_bytes),
            fmt(b.result.load_s, 2),
            *(fmt(getattr(b.cost, p, None), 4) for p in prices),  # no cost: unpriced
            plain(b.price_source),
        )
    print_table(cost, wrap=("price from",), drop=("load s", "$/h"))
    from openscout.report.tables import MEMORY_MEANS, workload

    for b in benches:
        if b.result.memory_bytes is not None:
            most = max((s.concurrency for s in b.result.sweep), default=1)
            console.print(
                plain(
                    f"peak memory of {b.result.model_id}: measured running "
                    f"{workload(b.result.config, most)}",
                    style="dim",
                )
            )
    if any(b.result.memory_bytes is not None for b in benches):
        console.print(plain(MEMORY_MEANS, style="dim"))
    for b in benches:
        if b.result.sweep:
            sweep = Table(
                "clients",
                "aggregate tok/s",
                "latency median s",
                "TTFT median ms",
                title=f"Concurrency sweep: {esc(b.result.model_id)}",
            )
            for s in b.result.sweep:
                sweep.add_row(
                    str(s.concurrency),
                    fmt(s.aggregate_output_tps, 1),
                    fmt(s.latency_s.median, 2),
                    fmt(_ms(s.ttft_s.median), 0),
                )
            print_table(sweep)


def _ms(v: float | None) -> float | None:
    return None if v is None else v * 1000


def _print_compare(result: CompareResult, paths: dict[str, Path] | None) -> None:
    from openscout.report.tables import COLUMNS, cost_assumption, memory_note, rows

    table = Table(*[label for _, label in COLUMNS], title="Which model should I use?")
    for r in rows(result):
        style = (
            "bold green"
            if r["status"] == "recommended"
            else "dim"
            if r["status"] == "excluded"
            else None
        )
        table.add_row(*[plain(r[k]) for k, _ in COLUMNS], style=style)
    print_table(table, drop=("openness", "licence", "TTFT", "#"))
    for line in (cost_assumption(result), memory_note(result)):
        if line:
            console.print(plain(line, style="dim"))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {esc(note)}", highlight=False)
    for test in result.paired:  # is the quality difference more than chance?
        console.print(plain(f"paired test: {test.verdict()}"))
    rec = result.recommendation
    colour = "green" if rec.recommended else "red"
    console.print(f"[bold {colour}]{esc(rec.message)}[/]", highlight=False)
    for reason in rec.reasons:
        console.print(f"  - {inert(reason)}", markup=False, highlight=False)
    for m in result.models:
        for e in m.errors:
            console.print(f"[yellow]warning:[/] {esc(m.id)}: {esc(e)}", highlight=False)
    _print_outside_view(result)
    if paths:
        console.print(
            inert(f"report: {paths['html']} (also {paths['markdown'].name}, {paths['json'].name})"),
            markup=False,
            highlight=False,
        )
    depth = result.settings.speed_depth
    if depth:
        console.print(f"tokens/s and TTFT measured after {depth} tokens of context", style="dim")
    console.print(f"took {result.wall_s or 0:.1f} s", style="dim")


def _print_outside_view(result: CompareResult) -> None:
    """Rent vs run, published vs yours and the rank correlation, each labelled."""
    from openscout.report import outside_view as ov

    for title, headers, body in (
        (
            "Rent it (provider list price) or run it here (measured)",
            ov.RENT_HEADERS,
            ov.rent_rows(result),
        ),
        (
            "Published (leaderboards, cards) beside yours (measured here)",
            ov.PUBLISHED_HEADERS,
            ov.published_rows(result),
        ),
        ("How far to trust the leaderboard for your task", ov.TAU_HEADERS, ov.tau_rows(result)),
    ):
        if not body:
            continue
        table = Table(*headers, title=title)
        for row in body:
            table.add_row(*[esc(c) for c in row])
        print_table(table, wrap=(headers[-1],))
    note = ov.tau_missing_note(result)
    if note:
        console.print(f"[dim]{esc(note)}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench_cmd(
        model: list[str] = typer.Option(
            None, "-m", "--model", help="model id (repeat; default: all registered)"
        ),
        repeats: int = typer.Option(3, "--repeats", min=1, max=100, help="timed runs per prompt"),
        warmup: int = typer.Option(1, "--warmup", min=0, max=20, help="untimed runs first"),
        max_tokens: int = typer.Option(
            64, "--max-tokens", min=2, max=4096, help="tokens to generate per run"
        ),
        concurrency: list[int] = typer.Option(
            None,
            "--concurrency",
            min=1,
            max=256,
            help="client counts for the sweep (repeat; engines that batch)",
        ),
        no_sweep: bool = typer.Option(False, "--no-sweep", help="skip the concurrency sweep"),
        depth: list[int] = typer.Option(
            None,
            "--depth",
            min=0,
            max=131072,
            help="context tokens before the question (repeat; default 0 and 1024)",
        ),
        price_per_hour: float = _price_per_hour(),
        cost_concurrency: int = typer.Option(
            1, "--cost-at", min=1, help="price tokens at this many clients"
        ),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Measure TTFT, tokens/s, prefill, inter-token latency, memory and $/1M tokens here."""
        from openscout.perf.bench import bench_models

        settings = get_settings()
        if no_sweep and concurrency:
            raise typer.BadParameter("--no-sweep and --concurrency contradict each other")
        config = _bench_config(
            repeats, warmup, max_tokens, concurrency, sweep_default=not no_sweep, depths=depth
        )
        with _progress(not json_out) as bar:
            results = bench_models(
                settings,
                model or None,
                config,
                price_per_hour=price_per_hour,
                cost_concurrency=cost_concurrency,
                progress=bar,
            )
        if json_out:
            print_json([r.as_dict() for r in results])
        else:
            _print_bench(results)

    @app.command("compare")
    def compare_cmd(
        model: list[str] = typer.Option(
            None, "-m", "--model", help="model id (repeat; default: all registered)"
        ),
        suite: str = typer.Option("quick", "--suite", help="quality suite"),
        limit: int = typer.Option(
            20, "--limit", min=1, max=MAX_ITEMS, help="items of the quality suite"
        ),
        no_quality: bool = typer.Option(False, "--no-quality", help="skip the quality suite"),
        no_cache: bool = typer.Option(
            False,
            "--no-cache",
            help="ask every quality item again; the answers replace those cached by earlier runs",
        ),
        trust_python: bool = typer.Option(
            False,
            "--trust-python",
            help="run the suite's `python` assertions (its author's code, as you; limited "
            "child process). Only for suites you trust",
        ),
        repeats: int = typer.Option(
            2, "--repeats", min=1, max=100, help="timed runs per bench prompt"
        ),
        max_tokens: int = typer.Option(
            64, "--max-tokens", min=2, max=4096, help="tokens per bench run"
        ),
        concurrency: list[int] = typer.Option(
            None, "--concurrency", min=1, max=256, help="sweep client counts"
        ),
        price_per_hour: float = _price_per_hour(),
        cost_concurrency: int = typer.Option(
            1, "--cost-at", min=1, help="price tokens at this many clients"
        ),
        api_price: list[str] = typer.Option(
            None, "--api-price", help="hosted API for comparison: NAME=IN/OUT $ per 1M"
        ),
        depth: int = typer.Option(
            0,
            "--depth",
            min=0,
            max=131072,
            help="rank speed and TTFT after this many tokens of context (a RAG document)",
        ),
        min_quality: float = typer.Option(
            None, "--min-quality", min=0.0, max=1.0, help="minimum quality score"
        ),
        max_cost: float = typer.Option(
            None,
            "--max-cost",
            min=0.0,
            callback=finite,
            help="maximum $ per 1M answer tokens of whole requests (docs/metrics.md)",
        ),
        min_tps: float = typer.Option(
            None,
            "--min-tps",
            min=0.0,
            callback=finite,
            help="minimum tokens/s over a whole answer, first token included",
        ),
        max_memory: float = typer.Option(
            None, "--max-memory", min=0.0, callback=finite, help="maximum memory in MB"
        ),
        osi: bool = typer.Option(False, "--osi", help="require an OSI-approved licence"),
        commercial: bool = typer.Option(
            False, "--commercial", help="require commercial use to be allowed"
        ),
        min_openness: str = typer.Option(
            None,
            "--min-openness",
            help="MOF class I/II/III, or open source / open weights (open-source works too)",
        ),
        weight: list[str] = typer.Option(
            None, "--weight", help="NAME=W for quality, cost, speed, memory (repeat)"
        ),
        machine: str = MACHINE,
        memory: str = MEMORY,
        gpu: str = GPU,
        gpus: int = GPUS,
        out: str = typer.Option(
            None, "--out", help="folder for report.html/.md/.json (default: data dir reports/)"
        ),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Compare models on quality, speed, memory, cost, openness and licence; recommend one."""
        import datetime as dt

        from openscout.compare import CompareOptions, compare
        from openscout.perf.cost import parse_api_price
        from openscout.recommend import Constraints

        settings = get_settings()
        constraints = Constraints(
            min_quality=min_quality,
            suite=None if no_quality else suite,
            max_cost_per_m=max_cost,
            min_tps=min_tps,
            max_memory_bytes=int(max_memory * 2**20) if max_memory is not None else None,
            osi_required=osi,
            commercial_required=commercial,
            min_openness=min_openness,
        )
        options = CompareOptions(
            suite=suite,
            limit=limit,
            skip_quality=no_quality,
            bench=_bench_config(
                repeats, 1, max_tokens, concurrency or [], sweep_default=False, depths=[]
            ),
            price_per_hour=price_per_hour,
            cost_concurrency=cost_concurrency,
            api_prices=[parse_api_price(p) for p in api_price or []],
            constraints=constraints,
            weights=_weights(weight or []),
            speed_depth=depth,
            trust_python=trust_python,
            use_cache=not no_cache,
            target=target_from(machine, memory, gpu, gpus),
        )
        from openscout.report import check_folder, new_folder, write_report

        if out is not None:
            check_folder(out)
        with _progress(not json_out) as bar:
            result = compare(settings, model or None, options, progress=bar)

        stem = dt.datetime.now().strftime("compare-%Y%m%d-%H%M%S")
        folder = out or new_folder(settings.reports_dir, stem)
        try:
            paths = write_report(result, folder)
        except OpenscoutError:
            # minutes of measuring are shown before the error, not lost with the report (51st)
            _show_compare(result, None, json_out)
            raise
        result = result.model_copy(update={"report": {k: str(v) for k, v in paths.items()}})
        _show_compare(result, paths, json_out)


def _show_compare(result: CompareResult, paths: dict[str, Path] | None, json_out: bool) -> None:
    if json_out:
        print_json(result.to_json())
    else:
        _print_compare(result, paths)


def _weights(items: list[str]) -> Weights:
    from pydantic import ValidationError

    from openscout.errors import ConstraintError
    from openscout.recommend import MAX_WEIGHT, Weights

    values: dict[str, float] = {}
    for item in items:
        name, sep, num = item.partition("=")
        try:
            if not sep or not math.isfinite(value := float(num)):  # inf made every score NaN
                raise ValueError
            values[name.strip()] = value
        except ValueError:
            raise ConstraintError(
                f"cannot read the weight {item!r}", hint="write NAME=NUMBER, e.g. quality=2"
            ) from None
    unknown = set(values) - set(Weights.model_fields)
    if unknown:
        raise ConstraintError(
            f"unknown weight {sorted(unknown)}", hint=f"known: {', '.join(Weights.model_fields)}"
        )
    try:
        return Weights(**values)
    except ValidationError as e:
        err = e.errors()[0]
        said = str(err["msg"]).removeprefix("Value error, ")
        where = f"weight {err['loc'][0]}" if err["loc"] else "weights"
        raise ConstraintError(
            f"bad {where}: {said}",
            hint=f"weights are from 0 to {MAX_WEIGHT:g}, one above 0; only their shares count",
        ) from None
