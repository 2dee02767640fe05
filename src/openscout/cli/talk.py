"""`openscout run`, `openscout chat` and `openscout logs`: talking to models from the terminal."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from openscout.cli.output import console, esc, fmt, plain, print_json, print_table
from openscout.config import get_settings


def _params(
    max_tokens: int, temperature: float, top_p: float, seed: int | None, stop: list[str] | None
) -> Any:
    from openscout.engines.base import SamplingParams

    return SamplingParams(
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        stop=tuple(stop or ()),
        seed=seed,
    )


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate_cmd(
        prompt: str = typer.Argument(..., help="the prompt"),
        model: list[str] = typer.Option(
            None, "-m", "--model", help="model id (repeat for several; default: all registered)"
        ),
        system: str = typer.Option(None, "--system", help="system prompt (chat models)"),
        max_tokens: int = typer.Option(64, "--max-tokens", min=1, max=32768),
        temperature: float = typer.Option(0.0, "--temperature", min=0.0, max=5.0),
        top_p: float = typer.Option(1.0, "--top-p", min=0.0, max=1.0),
        seed: int = typer.Option(None, "--seed"),
        stop: list[str] = typer.Option(None, "--stop", help="stop string (repeatable)"),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Answer PROMPT with each model; print each answer with TTFT, tokens/s and token counts."""
        from openscout.chat_prompt import BASE_MARK
        from openscout.engines.base import Chunk
        from openscout.engines.loader import open_engine
        from openscout.generation import GenerationResult, as_messages, stream_generate
        from openscout.models import get_model, list_models

        settings = get_settings()
        specs = [get_model(settings, m) for m in model] if model else list_models(settings)
        params = _params(max_tokens, temperature, top_p, seed, stop)
        results = []
        for spec in specs:
            engine = open_engine(spec, settings)
            chat = spec.prompt_format == "chat"
            kwargs: dict[str, Any] = (
                {"messages": as_messages(prompt, system)}
                if chat
                else {"prompt": (system + "\n\n" + prompt) if system else prompt}
            )
            if not json_out:
                mode = "chat" if chat else f"{BASE_MARK}: the prompt is continued as it stands"
                console.rule(f"[bold]{esc(spec.id)}[/] ({mode})")
            result = None
            for ev in stream_generate(
                engine, params=params, settings=settings, engine_name=spec.engine, **kwargs
            ):
                if isinstance(ev, Chunk) and not json_out:
                    console.print(plain(ev.text), end="", highlight=False, soft_wrap=True)
                elif isinstance(ev, GenerationResult):
                    result = ev
            assert result is not None
            results.append(result.as_dict())
            if not json_out:
                console.print()
                console.print(
                    f"[dim]TTFT {fmt(result.ttft_s, 3, ' s')} · {fmt(result.output_tps, 1, ' tok/s')} · "
                    f"{result.prompt_tokens} prompt + {result.completion_tokens} completion tokens · "
                    f"finish: {esc(result.finish_reason)}[/]"
                )
        if json_out:
            print_json(results)

    # `run` was this command's first name; `runs` are evaluation runs, so it is `generate` now
    app.command("run", hidden=True, help="old name of `generate`")(generate_cmd)

    @app.command("chat")
    def chat_cmd(
        model: str = typer.Option(..., "-m", "--model", help="model id"),
        system: str = typer.Option(None, "--system", help="system prompt"),
        max_tokens: int = typer.Option(256, "--max-tokens", min=1, max=32768),
        temperature: float = typer.Option(0.7, "--temperature", min=0.0, max=5.0),
        seed: int = typer.Option(None, "--seed"),
    ) -> None:
        """A streaming multi-turn chat in the terminal. Empty line or /exit to leave."""
        from openscout.chat_prompt import BASE_MARK, chat_request, is_base
        from openscout.engines.base import Chunk, Message
        from openscout.engines.loader import open_engine
        from openscout.generation import GenerationResult, stream_generate
        from openscout.models import get_model

        settings = get_settings()
        spec = get_model(settings, model)
        engine = open_engine(spec, settings)
        params = _params(max_tokens, temperature, 1.0, seed, None)
        history: list[Message] = [{"role": "system", "content": system}] if system else []
        console.print(f"[bold]{esc(spec.id)}[/] · type a message; /exit or an empty line leaves")
        if is_base(spec.prompt_format):
            console.print(
                f"[yellow]{BASE_MARK}[/]: not trained to chat; each turn is sent as a"
                " Question/Answer prompt and the answer ends at a blank line"
            )
        while True:
            try:
                line = console.input("[bold cyan]you>[/] ")
            except (EOFError, RuntimeError):  # RuntimeError: no stdin at all (`<&-`)
                break
            if not line.strip() or line.strip() in ("/exit", "/quit"):
                break
            history.append({"role": "user", "content": line})
            kwargs, turn_params = chat_request(spec.prompt_format, history, params)
            console.print("[bold magenta]model>[/] ", end="")
            result = None
            for ev in stream_generate(
                engine,
                params=turn_params,
                settings=settings,
                engine_name=spec.engine,
                source="chat",
                **kwargs,
            ):
                if isinstance(ev, Chunk):  # the model's words: shown, never obeyed
                    console.print(plain(ev.text), end="", highlight=False, soft_wrap=True)
                elif isinstance(ev, GenerationResult):
                    result = ev
            assert result is not None
            console.print(
                f"\n[dim]{fmt(result.output_tps, 1, ' tok/s')} · TTFT {fmt(result.ttft_s, 3, ' s')}[/]"
            )
            history.append({"role": "assistant", "content": result.text})

    @app.command("logs")
    def logs_cmd(
        limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000),
        model: str = typer.Option(None, "-m", "--model", help="only this model"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """List recent generations made through openscout."""
        from openscout.generation import recent_generations

        rows = recent_generations(get_settings(), limit, model)
        if json_out:
            print_json(rows)
            return
        table = Table("id", "when", "model", "source", "output", "tokens", "tok/s", "TTFT")
        for r in rows:
            out = str(r["output"]).replace("\n", " ")
            # stored model output and ids: Text cells, so Rich reads no markup from them
            table.add_row(
                str(r["id"]),
                str(r["created_at"])[:19],
                plain(r["model_id"]),
                plain(r["source"]),
                plain(out[:60] + ("…" if len(out) > 60 else "")),
                str(r["completion_tokens"]),
                fmt(r["output_tps"], 1),
                fmt(r["ttft_s"], 3),
            )
        print_table(table, wrap=("output",), drop=("source", "when"))
