"""A finished fine-tune becomes a model: in the registry, and in the catalog as an adapter.

Registry (models.yaml): the base's GGUF with the adapter GGUF as `lora`, the base's prompt
format, context and licence; `options` name the base model, the training data and the run.
Catalog (<data dir>/catalog/<name>.yaml, which the web workbench and the CLI read beside the
curated data): `local/<name>`, relation `adapter` of the base's catalog entry, so the family
tree shows it and the openness assessment inherits what the base withholds; its own record
says what the user has: their data, openscout's training code, the logged training metrics,
each with a file: source on this machine. Licence: the base's (an adapter is a derivative).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from openscout import yamlcore
from openscout.config import Settings
from openscout.engines.spec import ModelSpec
from openscout.tune.names import catalog_header, check_catalog_file, stem

CATALOG_ORG = "local"


def catalog_id(name: str) -> str:
    """`local/<name>` with the characters a Hugging Face id allows, one per name."""
    return f"{CATALOG_ORG}/{stem(name)}"


def user_catalog_dir(settings: Settings) -> Path:
    return settings.home / "catalog"


def catalog_path(settings: Settings, name: str) -> Path:
    return user_catalog_dir(settings) / f"{stem(name)}.yaml"


def model_spec(
    base: ModelSpec, name: str, base_file: Path, adapter: Path, info: dict[str, Any]
) -> ModelSpec:
    return ModelSpec(
        id=name,
        engine="llamacpp",
        path=str(base_file),
        lora=str(adapter),
        prompt_format=base.prompt_format,
        n_ctx=base.n_ctx,
        license=base.license,
        catalog_id=catalog_id(name),
        description=f"LoRA fine-tune of {base.id} on {Path(info['data_path']).name} (openscout tune)",
        options={
            "base_model": base.id,
            "training_data": info["data_path"],
            "training_data_sha256": info["data_sha256"],
            "tune_run": info["run_id"],
        },
    )


def _file_url(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def catalog_entry(
    settings: Settings, base: ModelSpec, name: str, info: dict[str, Any]
) -> dict[str, Any]:
    """The user's catalog entry for the fine-tune (a version 1 data file's model)."""
    from openscout.catalog import load_catalog

    base_entry = load_catalog().get(base.catalog_id) if base.catalog_id else None
    code = Path(__file__).with_name("train.py")
    evals = Path(__file__).parent.parent / "evals"
    entry: dict[str, Any] = {
        "id": catalog_id(name),
        "name": name,
        "organisation": "you (local fine-tune)",
        "family": base_entry.family if base_entry else "local fine-tunes",
        "released": dt.date.today().isoformat(),
        "params_b": base_entry.params_b if base_entry else info["params"] / 1e9,
        "license": base_entry.license if base_entry else (base.license or "unknown"),
        "tasks": list(base_entry.tasks) if base_entry else ["text-generation"],
        "languages": list(base_entry.languages) if base_entry else [],
        "description": (
            f"LoRA adapter (rank {info['rank']} on {', '.join(info['targets'])}) of {base.id}, "
            f"tuned with openscout on {info['n_train']} examples of {Path(info['data_path']).name}"
        ),
        "card": None,
        "openness": {
            "training_data": {
                "status": "open",
                "evidence": f"your own examples, {info['n_train']} trained on and "
                f"{info['n_heldout']} held out (sha256 {info['data_sha256'][:16]})",
                "source": _file_url(info["data_path"]),
            },
            "weights": {
                "status": "open",
                "evidence": "the adapter (GGUF) on this machine; the base's weights as the base has them",
                "source": _file_url(info["adapter_gguf"]),
            },
            "evaluation_code": {
                "status": "open",
                "evidence": "openscout eval and compare (Apache-2.0) on this machine",
                "source": _file_url(evals),
            },
            "training_code": {
                "status": "open",
                "evidence": "openscout tune: PEFT LoRA (Apache-2.0), settings in the run record",
                "source": _file_url(code),
            },
            "training_logs": {
                "status": "open",
                "evidence": f"training and held-out loss of every step in the store (tune run {info['run_id']})",
                "source": _file_url(settings.db_path),
            },
        },
    }
    if base_entry is not None:
        entry["base_model"] = base_entry.id
        entry["relation"] = "adapter"
        entry["arch"] = base_entry.arch.model_dump(mode="json", exclude_none=True)
    return entry


def write_catalog_entry(settings: Settings, entry: dict[str, Any], name: str) -> Path:
    """<data dir>/catalog/<name>.yaml, checked by the catalog loader, with every other file
    of the catalog, before it replaces any."""
    from openscout.catalog.loader import check_joined

    folder = user_catalog_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = catalog_path(settings, name)
    text = yamlcore.dump(
        {"version": 1, "models": [entry]}, sort_keys=False, allow_unicode=True, width=100
    )
    check_catalog_file(path, name)
    text = catalog_header(name) + text
    check_joined(folder, path, text)  # refuses an entry the catalog could not load
    # a new file of a random name, no link followed (a link planted at a predictable name
    # would be written through), then renamed into place
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
