"""`openscout models list|add|remove|show`: the registry the user owns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from openscout.cli.output import console, esc, human_bytes, plain, print_json, print_table
from openscout.cli.params import finite
from openscout.config import get_settings
from openscout.engines.http_bounds import public_url
from openscout.engines.spec import MAX_CONTEXT, MAX_PRICE_PER_HOUR
from openscout.errors import ModelFileError

if TYPE_CHECKING:
    from openscout.config import Settings
    from openscout.engines.spec import ModelSpec


def model_row(spec: ModelSpec, settings: Settings) -> dict[str, Any]:
    from openscout.engines.kinds import kind_of

    row: dict[str, Any] = {
        "id": spec.id,
        "engine": spec.engine,
        "prompt_format": spec.prompt_format,
        "license": spec.license,
        "catalog_id": spec.catalog_id,
        "bundled": spec.bundled,
        "file_size": None,
        "path": None,
        # without `user:password@` and the query, as everywhere else (59th probe, low):
        # models.yaml alone holds the URL whole
        "base_url": public_url(spec.base_url) if spec.base_url else None,
        "status": "ok",
    }
    try:
        path = kind_of(spec).local_file(spec, settings)
    except ModelFileError as e:
        row["status"] = e.message
        return row
    if path is not None:
        row["path"] = str(path)
        row["file_size"] = path.stat().st_size if path.exists() else None
        if not path.exists():
            row["status"] = "file missing"
    return row


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(
        help="List, add, remove and inspect the models openscout can run.", no_args_is_help=True
    )
    app.add_typer(models_app, name="models")

    @models_app.command("list")
    def list_cmd(json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
        """List registered models (the embedded ones and those you added)."""
        from openscout.models import list_models

        settings = get_settings()
        rows = [model_row(m, settings) for m in list_models(settings)]
        if json_out:
            print_json(rows)
            return
        table = Table("id", "engine", "format", "licence", "size", "source / status")
        for r in rows:
            where = r["base_url"] or ("embedded" if r["bundled"] else r["path"]) or r["engine"]
            status = "" if r["status"] == "ok" else f" ({r['status']})"
            # ids, licences, paths and errors come from files and users: never markup
            table.add_row(
                plain(r["id"]),
                plain(r["engine"]),
                plain(r["prompt_format"]),
                plain(r["license"] or "-"),
                human_bytes(r["file_size"]),
                Text.assemble(plain(where), plain(status, "red")),
            )
        print_table(table, drop=("format", "engine", "licence"))

    @models_app.command("add")
    def add_cmd(
        model_id: str = typer.Argument(..., help="the name you will use for this model"),
        path: str = typer.Option(None, "--path", help="a local GGUF file"),
        url: str = typer.Option(
            None,
            "--url",
            help="base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1",
        ),
        remote_model: str = typer.Option(
            None, "--remote-model", help="the model name the server knows (default: the id)"
        ),
        api_key_env: str = typer.Option(
            None, "--api-key-env", help="environment variable that holds the API key"
        ),
        completion: bool = typer.Option(
            False, "--completion", help="prompt as a base (completion) model, not chat"
        ),
        n_ctx: int = typer.Option(
            2048, "--n-ctx", min=128, max=MAX_CONTEXT, help="context size to load a GGUF with"
        ),
        license_: str = typer.Option(None, "--license", help="licence, for the comparison"),
        catalog_id: str = typer.Option(
            None, "--catalog-id", help="Hugging Face id, to link catalog facts"
        ),
        loglikelihood: bool = typer.Option(
            None,
            "--logprobs/--no-logprobs",
            help="the endpoint's echo+logprobs are right (or not); default: probe it on first use",
        ),
        price_per_hour: float = typer.Option(
            None,
            "--price-per-hour",
            min=0.0,
            max=MAX_PRICE_PER_HOUR,
            callback=finite,
            help="$ per hour of the machine or endpoint",
        ),
        opens_thinking: bool = typer.Option(
            False,
            "--opens-thinking",
            help="--url: the server's chat template opens <think> and its answers carry the"
            " thinking inline (no reasoning parser): an answer cut off while thinking scores"
            " as empty",
        ),
        replace: bool = typer.Option(False, "--replace", help="overwrite a model with the same id"),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Register a local GGUF file (--path) or an OpenAI-compatible endpoint (--url)."""
        from openscout.errors import ConfigError
        from openscout.models import add_model

        if bool(path) == bool(url):
            raise ConfigError("give exactly one of --path (a GGUF file) or --url (an endpoint)")
        if opens_thinking and path:
            raise ConfigError(
                "--opens-thinking is for --url models: a GGUF file's own template is read"
            )
        if opens_thinking and completion:
            raise ConfigError(
                "--opens-thinking is for chat models: a --completion prompt is openscout's"
                " own, read as it is sent"
            )
        spec = _spec_from_options(
            id=model_id,
            engine="llamacpp" if path else "openai",
            path=path,
            base_url=url,
            model=remote_model,
            api_key_env=api_key_env,
            prompt_format="completion" if completion else "chat",
            n_ctx=n_ctx,
            license=license_,
            catalog_id=catalog_id,
            loglikelihood=loglikelihood,
            price_per_hour=price_per_hour,
            options={"opens_thinking": True} if opens_thinking else {},
        )
        saved = add_model(get_settings(), spec, replace=replace)
        if json_out:
            print_json(saved.model_dump(mode="json"))
        else:
            console.print(f"added [bold]{esc(saved.id)}[/] ({esc(saved.engine)})")

    @models_app.command("remove")
    def remove_cmd(model_id: str, json_out: bool = typer.Option(False, "--json")) -> None:
        """Remove a model you added (the embedded ones stay)."""
        from openscout.models import remove_model

        remove_model(get_settings(), model_id)
        if json_out:
            print_json({"removed": model_id})
        else:
            console.print(plain(f"removed {model_id}"))

    @models_app.command("show")
    def show_cmd(model_id: str, json_out: bool = typer.Option(False, "--json")) -> None:
        """Show a model; for GGUF files, what the header says (without loading weights)."""
        from openscout.engines.gguf import read_header
        from openscout.models import get_model

        settings = get_settings()
        spec = get_model(settings, model_id)
        info: dict[str, Any] = {**model_row(spec, settings), "spec": spec.model_dump(mode="json")}
        info["spec"]["base_url"] = info["base_url"]
        if info["path"]:  # a local model file: what its header says
            info["gguf"] = read_header(info["path"]).summary()
        if json_out:
            print_json(info)
            return
        table = Table(show_header=False)
        for k in ("id", "engine", "prompt_format", "license", "catalog_id", "path", "base_url"):
            if info.get(k) is not None:
                table.add_row(k, plain(info[k]))
        table.add_row("file_size", human_bytes(info["file_size"]))
        if spec.lora:  # a fine-tune (openscout tune): its base, adapter and training data
            table.add_row("base_model", plain(spec.options.get("base_model", "?")))
            table.add_row("adapter", plain(spec.lora))
            table.add_row("training_data", plain(spec.options.get("training_data", "?")))
        for k, v in (info.get("gguf") or {}).items():
            if k != "path":
                # a GGUF header is written by whoever made the file
                table.add_row(
                    plain(f"gguf.{k}"),
                    f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else plain(v),
                )
        print_table(table)


def _spec_from_options(**fields: Any) -> Any:
    """A ModelSpec from `models add`'s options; a value it refuses names the option (it was
    "unexpected error: ValidationError", sixteenth probe)."""
    from pydantic import ValidationError

    from openscout.errors import ConfigError
    from openscout.models import ModelSpec

    try:
        return ModelSpec(**fields)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        where = "the model id" if name == "id" else f"--{name.replace('_', '-')}"
        raise ConfigError(f"{where}: {first['msg']}") from e
