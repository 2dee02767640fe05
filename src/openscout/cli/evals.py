"""`openscout eval` and `openscout runs`: run suites on models, and look at stored runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from openscout.cli.output import console, esc, fmt, plain, print_json, print_table, progress_bar
from openscout.config import get_settings
from openscout.evals.suite import MAX_ITEMS

if TYPE_CHECKING:
    from openscout.evals.results import ProgressEvent


def _ci(d: dict[str, Any]) -> str:
    if d.get("n") == 0:
        return "-"
    return f"[{d['ci_low']:.3f}, {d['ci_high']:.3f}]"


METHOD_LABELS = {
    "loglikelihood": "log-likelihood",
    "generate": "generated letter",
    "mixed": "mixed",
}


def _score_cell(r: dict[str, Any]) -> str:
    if r.get("score") is None:
        return "failed" if r.get("errors") else "-"
    return f"{r['score']:.3f}"


def _mc_method(r: dict[str, Any]) -> str:
    method = (r.get("scoring") or {}).get("multiple_choice")
    return METHOD_LABELS.get(method, "-") if method else "-"


def _pacing_line(r: dict[str, Any]) -> str | None:
    """What the model's server went through: retries and the concurrency used."""
    parts = []
    if r.get("retries"):
        causes = ", ".join(f"{k} {v}" for k, v in (r.get("retry_causes") or {}).items())
        parts.append(f"{r['retries']} requests asked again ({causes})")
    c = r.get("concurrency")
    if c and c.get("cap", 1) > 1:
        low = min([h[1] for h in c.get("history") or []] or [c["final"]])
        parts.append(
            f"requests in flight kept between {low} and {c['peak_limit']} (started at "
            f"{c['start']}, cap {c['cap']}, ended at {c['final']}; at most "
            f"{c['peak_in_flight']} at once)"
        )
    return f"{r['model_id']}: " + "; ".join(parts) if parts else None


def _print_run(run: dict[str, Any]) -> None:
    head = f"{run['suite']} v{run['suite_version']}  seed {run['seed']}  run {run['run_id']}"
    console.print(plain(head + ("  (resumed)" if run.get("resumed") else ""), style="bold"))
    with_mc = any(_mc_method(r) != "-" for r in run["results"])
    columns = ["model", "score", "95% interval", "n", "failed"]
    columns += ["multiple choice by"] if with_mc else []
    table = Table(*columns, "calls (cached)", "seconds")
    for r in run["results"]:
        cells = [plain(r["model_id"]), _score_cell(r), _ci(r), str(r["n"]), str(r["errors"])]
        cells += [_mc_method(r)] if with_mc else []
        table.add_row(
            *cells,
            f"{r['engine_calls']} ({r['cached_calls']})",
            fmt(r.get("seconds"), 1),
        )
    print_table(table, drop=("calls (cached)", "seconds"))
    for note in run.get("notes") or []:
        console.print(plain("note: " + note, style="yellow"))
    for r in run["results"]:
        extra = ", ".join(
            f"{k} {v['score']:.3f} {_ci(v)}"
            for k, v in r["metrics"].items()
            if k not in ("acc", "prompt_level")
        )
        if extra:
            console.print(plain(f"{r['model_id']}: {extra}"))
        if line := _pacing_line(r):
            console.print(plain(line))
        if r.get("errors"):
            console.print(
                plain(
                    f"{r['model_id']}: {r['errors']} item(s) failed; they are left out of the "
                    "score and asked again when the same command runs again",
                    style="yellow",
                )
            )
    for c in run["comparisons"]:
        differs = c.get("scoring_differs_on") or 0
        tail = f" ({differs} of the items scored by different methods)" if differs else ""
        console.print(plain(f"paired ({c['method']}): {c['verdict']}{tail}"))
    stop = run.get("early_stop")
    if stop:
        state = "settled" if stop["settled"] else "not settled"
        if failed := stop.get("failed_items"):
            state += (
                " (not while items failed: "
                + ", ".join(f"{m} {k}" for m, k in failed.items())
                + ")"
            )
        console.print(
            plain(
                f"early stop: ranking {state} after {stop['items_used']} of "
                f"{stop['items_available']} items (error rate <= {stop['alpha']}): "
                + " > ".join(stop["order"])
            )
        )


def _progress_runner(
    settings: Any,
    suite: str,
    models: list[str],
    limit: int | None,
    seed: int,
    quiet: bool,
    **kw: Any,
) -> Any:
    from openscout.evals import run_eval

    if quiet:
        return run_eval(settings, suite, models, limit, seed, None, **kw)
    with progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def on_progress(ev: ProgressEvent) -> None:
            if ev.model_id not in tasks:
                tasks[ev.model_id] = bar.add_task(esc(ev.model_id), total=ev.total)
            bar.update(tasks[ev.model_id], completed=ev.done)

        return run_eval(settings, suite, models, limit, seed, on_progress, **kw)


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        suite: str = typer.Option(
            None,
            "--suite",
            "-s",
            help="built-in suite name, YAML suite file or lm-eval JSON(L)/YAML task file",
        ),
        model: list[str] = typer.Option(
            None, "-m", "--model", help="model id (repeat; default: all registered)"
        ),
        limit: int = typer.Option(
            None,
            "--limit",
            "-n",
            min=1,
            max=MAX_ITEMS,
            help="suite size (built-ins) or first N items (files)",
        ),
        seed: int = typer.Option(
            0, "--seed", min=0, max=2**32 - 1, help="seed of the generated suites"
        ),
        list_: bool = typer.Option(False, "--list", help="list the built-in suites"),
        no_cache: bool = typer.Option(
            False, "--no-cache", help="do not read or write the output cache"
        ),
        no_resume: bool = typer.Option(
            False, "--no-resume", help="start a new run even if an identical one is unfinished"
        ),
        parallel: int = typer.Option(
            None,
            "--parallel",
            min=1,
            max=256,
            help="items in flight per model (default: what the engine declares)",
        ),
        early_stop: float = typer.Option(
            None,
            "--early-stop",
            min=0.0001,
            max=0.5,
            help="stop once the ranking is settled at this error rate (e.g. 0.05)",
        ),
        trust_python: bool = typer.Option(
            False,
            "--trust-python",
            help="run the suite's `python` assertions (its author's code, as you; limited "
            "child process). Only for suites you trust",
        ),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
        items: bool = typer.Option(False, "--items", help="with --json: include every item record"),
    ) -> None:
        """Evaluate models on a suite: scores with 95% intervals and a paired comparison."""
        from openscout.errors import OpenscoutError
        from openscout.evals import list_suites
        from openscout.models import list_models

        if list_:
            suites = list_suites()
            if json_out:
                print_json(suites)
            else:
                for s in suites:
                    console.print(
                        f"[bold]{esc(s['name'])}[/] (v{s['version']}, {s['default_size']} items): "
                        f"{esc(s['description'])}",
                        highlight=False,
                    )
            return
        if not suite:
            raise OpenscoutError(
                "no suite given",
                hint="pass --suite NAME|FILE; `openscout eval --list` shows the built-ins",
            )
        settings = get_settings()
        models = list(model) if model else [m.id for m in list_models(settings)]
        run = _progress_runner(
            settings,
            suite,
            models,
            limit,
            seed,
            quiet=json_out,
            use_cache=not no_cache,
            resume=not no_resume,
            parallel=parallel,
            early_stop=early_stop,
            trust_python=trust_python,
        )
        data = run.as_dict(with_items=items)
        if json_out:
            print_json(data)
        else:
            _print_run(data)
            console.print(
                plain(
                    f"every item, and why the failed ones failed: openscout runs show {run.run_id}"
                ),
                style="dim",
            )

    runs_app = typer.Typer(help="Stored evaluation runs.", no_args_is_help=True)
    app.add_typer(runs_app, name="runs")

    @runs_app.command("list")
    def runs_list(
        limit: int = typer.Option(50, "--limit", min=1, max=10_000),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """List evaluation runs, newest first."""
        from openscout.evals import list_runs

        runs = list_runs(get_settings(), limit)
        if json_out:
            print_json(runs)
            return
        # the run id starts with its UTC start time, so no separate date column
        table = Table("run", "suite", "seed", "status", "models: score")
        for r in runs:
            scores = r["summary"]["models"] if r["summary"] else {}
            marks = _judge_marks(r["summary"], r["models"])
            cells = "\n".join(
                f"{m} {fmt(scores[m]['score'], 3) if m in scores else '-'}{marks.get(m, '')}"
                for m in r["models"]
            )
            table.add_row(
                plain(r["id"]),
                plain(f"{r['suite']} v{r['suite_version']}"),
                str(r["seed"]),
                plain(r["status"]),
                plain(cells),
            )
        print_table(table, wrap=("models: score",))

    @runs_app.command("show")
    def runs_show(
        run_id: str = typer.Argument(..., help="run id (a unique prefix is enough)"),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Show a run: scores, comparisons and every item."""
        from openscout.evals import get_run

        run = get_run(get_settings(), run_id)
        if json_out:
            print_json(run)
            return
        console.print(
            plain(
                f"{run['id']}  {run['suite']} v{run['suite_version']}  seed {run['seed']}  "
                f"{run['status']}  created {run['created_at']}"
            )
        )
        if run["summary"]:
            _print_run(
                {
                    "run_id": run["id"],
                    "suite": run["suite"],
                    "suite_version": run["suite_version"],
                    "seed": run["seed"],
                    "results": list(run["summary"]["models"].values()),
                    "comparisons": run["summary"]["comparisons"],
                    "notes": run["summary"].get("notes") or [],
                }
            )
        _print_items(run["items"])


def _judge_marks(summary: dict[str, Any] | None, models: list[str]) -> dict[str, str]:
    """A score a compared model's judging gave: its own marked, and its rivals' too (the
    leaderboard marked the judge's own score alone, `runs list` neither: 56th probe)."""
    from openscout.evals.self_judging import judged_itself

    own = judged_itself((summary or {}).get("notes") or [])
    if not own:
        return {}
    return {m: " (judged by itself)" if m in own else " (judged by a rival)" for m in models}


# At most this many failed items are explained under the table; --json has them all.
WHY_SHOWN = 50


def _item_seconds(it: dict[str, Any]) -> str:
    """The item's time; an answer taken from the result cache says so instead."""
    from openscout.evals.results import answered_from_cache

    if answered_from_cache(it):
        return "cached"
    return fmt(it["latency_s"], 2)


def _print_items(items: list[dict[str, Any]]) -> None:
    """Every item (score, answer, time), then why each failed item failed."""
    from openscout.evals.explain import failure_reasons

    table = Table("model", "item", "score", "output", "error", "s")
    for it in items:
        out = (it["output"] or "").replace("\n", " ")
        # model output is untrusted: plain() keeps it from acting on the terminal or Rich
        table.add_row(
            plain(it["model_id"]),
            plain(it["item_id"]),
            "failed" if it["error"] else fmt(it["score"], 2),
            plain(out[:60] + ("…" if len(out) > 60 else "")),
            plain((it["error"] or "")[:40]),
            _item_seconds(it),
        )
    print_table(table, wrap=("output", "error"))
    console.print(
        "[dim]s: seconds per item; answers generated together in one batch share the "
        "batch's time equally[/]",
        highlight=False,
    )
    why = [(it, r) for it in items if (r := failure_reasons(it))]
    if not why:
        return
    console.print(plain("Why items did not pass", style="bold"))
    for it, reasons in why[:WHY_SHOWN]:
        console.print(plain(f"{it['model_id']} {it['item_id']}:"))
        for reason in reasons:
            console.print(plain(f"  - {reason}"))
    if len(why) > WHY_SHOWN:
        console.print(
            plain(f"… and {len(why) - WHY_SHOWN} more items (all in `runs show RUN --json`)")
        )
