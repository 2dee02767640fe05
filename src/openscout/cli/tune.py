"""`openscout tune`: fine-tune a local model on your examples (LoRA); `tune-demo-data`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from openscout.cli.output import console, esc, fmt, plain, print_json, print_table, progress_bar
from openscout.config import get_settings


def _print_result(r: dict[str, Any]) -> None:
    table = Table(show_header=False)
    rows = [
        ("model", r["name"]),
        ("base", r["base"]),
        (
            "training data",
            f"{r['data_path']} ({r['n_train']} trained on, {r['n_heldout']} held out)",
        ),
        (
            "steps",
            f"{r['steps']}"
            + (f" (resumed after {r['resumed_from']})" if r["resumed_from"] else ""),
        ),
        ("training loss", f"{fmt(r['first_train_loss'], 3)} -> {fmt(r['last_train_loss'], 3)}"),
        ("held-out loss", f"{fmt(r['first_heldout_loss'], 3)} -> {fmt(r['last_heldout_loss'], 3)}"),
        (
            "time",
            f"{r['seconds']:.0f} s, {fmt(r['seconds_per_step'], 2)} s a step on {r['device']}",
        ),
        ("adapter (GGUF)", r["adapter_gguf"]),
        ("catalog", f"{r['catalog_id']} (adapter of the base)" if r["catalog_id"] else "-"),
        ("run", r["run_id"]),
    ]
    for k, v in rows:
        table.add_row(k, plain(v))
    print_table(table)
    for note in r.get("notes") or []:
        console.print(f"[yellow]note:[/] {esc(note)}")
    console.print(
        f"[dim]next: openscout compare -m {esc(r['base'])} -m {esc(r['name'])} --suite SUITE[/]"
    )


def register(app: typer.Typer) -> None:
    @app.command("tune")
    def tune_cmd(
        base: str = typer.Argument(..., help="registered base model (a local GGUF)"),
        data: str = typer.Option(..., "--data", help="JSONL: chat messages or prompt/completion"),
        name: str = typer.Option(..., "--name", help="register the fine-tune under this id"),
        seed: int = typer.Option(
            0, "--seed", min=0, max=2**32 - 1, help="split, data order and adapter init"
        ),
        steps: int = typer.Option(
            None, "--steps", min=1, max=10_000_000, help="optimizer steps (default: --epochs)"
        ),
        epochs: float = typer.Option(
            1.0, "--epochs", min=0.01, max=1000.0, help="passes over the training split"
        ),
        rank: int = typer.Option(8, "--rank", min=1, max=256, help="LoRA rank"),
        alpha: float = typer.Option(
            None, "--alpha", min=0.0, max=1e6, help="LoRA alpha (default 2 x rank)"
        ),
        lr: float = typer.Option(1e-3, "--lr", min=1e-7, max=1.0, help="peak learning rate"),
        batch: int = typer.Option(8, "--batch", min=1, max=1024, help="examples per step"),
        holdout: float = typer.Option(
            0.1, "--holdout", min=0.0, max=0.9, help="share of examples held out (0: none)"
        ),
        save_every: int = typer.Option(10, "--save-every", min=1, help="checkpoint every N steps"),
        eval_every: int = typer.Option(
            1, "--eval-every", min=1, help="held-out loss every N steps"
        ),
        target: list[str] = typer.Option(
            None, "--target", help="module to adapt (repeat; default q_proj and v_proj)"
        ),
        resume: bool = typer.Option(
            None,
            "--resume/--restart",
            help="resume the checkpoint a killed run left (default: when there is one) "
            "or discard it",
        ),
        replace: bool = typer.Option(False, "--replace", help="overwrite a model of that name"),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Fine-tune a local model on your examples (LoRA, PEFT) and register the result."""
        from openscout.tune.run import DEFAULT_TARGETS, TuneRequest, require_extra, tune

        require_extra()  # before anything slow: say how to install the extra
        req = TuneRequest(
            base=base,
            data=data,
            name=name,
            seed=seed,
            steps=steps,
            epochs=epochs,
            rank=rank,
            alpha=alpha,
            lr=lr,
            batch=batch,
            holdout=holdout,
            save_every=save_every,
            eval_every=eval_every,
            targets=tuple(target) if target else DEFAULT_TARGETS,
            resume=resume,
            replace=replace,
        )
        with progress_bar(transient=True) as bar:
            task = bar.add_task("checking the data", total=None)

            def progress(phase: str, s: Any, total: int) -> None:
                if s is None:
                    bar.update(task, description=phase, total=total or None)
                    return
                held = f", held-out {s.heldout_loss:.3f}" if s.heldout_loss is not None else ""
                bar.update(
                    task,
                    completed=s.step,
                    total=total,
                    description=f"training: loss {s.train_loss:.3f}{held}",
                )

            result = tune(get_settings(), req, None if json_out else progress)
        if json_out:
            print_json(result.to_dict())
        else:
            _print_result(result.to_dict())

    @app.command("tune-demo-data")
    def demo_data_cmd(
        out: Path = typer.Argument(..., help="JSONL file to write"),
        n: int = typer.Option(160, "--n", min=1, max=100_000, help="examples"),
        seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1),
        replace: bool = typer.Option(False, "--replace", help="overwrite a file of other data"),
    ) -> None:
        """Write the training split of the `city-json` demo task (its held-out split is the
        built-in suite `city-json`)."""
        from openscout.errors import ConfigError
        from openscout.evals.tasks.cityjson import train_examples
        from openscout.outfile import make_folder, write_text

        lines = [json.dumps(e, ensure_ascii=False) for e in train_examples(seed, n)]
        text = "\n".join(lines) + "\n"
        hint = "give a file path you may write, e.g. city_train.jsonl"
        # the user's own examples are one slip away (docs name them examples.jsonl): a file
        # of other data is kept unless asked (42nd probe); the same demo data again is fine
        if out.is_file() and not replace and out.read_bytes() != text.encode():
            raise ConfigError(
                f"{out} exists and holds other data", hint="pass --replace, or give another path"
            )
        make_folder(out.parent, hint)
        write_text(out, text, hint)
        console.print(f"wrote {n} training examples to {esc(out)}")
