"""The `llamacpp` engine kind: a GGUF file on this machine, run by llama-cpp-python."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from openscout.engines import bundled
from openscout.engines.gguf import read_header
from openscout.engines.kind import EngineKind, FileDigest
from openscout.engines.lora_check import check_adapter
from openscout.engines.pinned import version_of
from openscout.errors import ConfigError

if TYPE_CHECKING:
    from openscout.config import Settings
    from openscout.engines.base import Engine
    from openscout.engines.spec import ModelSpec

BUNDLED_PREFIX = "bundled:"  # paths of the embedded models, located or assembled on use


class LlamaCppKind(EngineKind):
    name = "llamacpp"
    runs_here = True

    def create(self, spec: ModelSpec, settings: Settings) -> Engine:
        from openscout.engines.llamacpp import LlamaCppEngine

        _no_options(spec)
        return LlamaCppEngine(
            spec.id,
            self.file(spec, settings),
            n_ctx=spec.n_ctx,
            n_threads=settings.threads,
            prompt_format=spec.prompt_format,
            lora_path=spec.lora,
        )

    def validate(self, spec: ModelSpec) -> ModelSpec:
        _no_options(spec)
        if not spec.path:
            raise ConfigError("a llamacpp model needs --path to a GGUF file")
        if "\x00" in spec.path:
            raise ConfigError("the model path contains a NUL byte", hint="give a real file path")
        path = Path(spec.path).expanduser().resolve()
        header = read_header(path)  # raises ModelFileError for missing / not GGUF / truncated
        update = {"path": str(path)}
        if spec.lora:
            lora = Path(spec.lora).expanduser().resolve()
            check_adapter(lora, header)
            update["lora"] = str(lora)
        return spec.model_copy(update=update)

    def local_file(self, spec: ModelSpec, settings: Settings) -> Path | None:
        return self.file(spec, settings) if spec.path else None

    def file(self, spec: ModelSpec, settings: Settings) -> Path:
        """The real file behind a spec's path (bundled models are located or assembled here)."""
        if spec.path is None:
            raise ConfigError(f"model {spec.id!r} has no file path")
        if spec.path == BUNDLED_PREFIX + bundled.SMOLLM2_ID:
            return bundled.smollm2_path()
        if spec.path == BUNDLED_PREFIX + bundled.GEMMA3_ID:
            return bundled.gemma3_path(settings.models_dir)
        return Path(spec.path).expanduser()

    def loaded_identity(self, spec: ModelSpec) -> str:
        """The files' versions: a file replaced at the same path and registered again was
        served from the old one while it stayed loaded (twenty-fifth probe)."""
        names = [p for p in (spec.path, spec.lora) if p and not p.startswith(BUNDLED_PREFIX)]
        versions = []
        for name in names:
            try:
                versions.append(version_of(os.stat(Path(name).expanduser())))
            except OSError:
                versions.append(None)  # opening it says what is wrong
        return repr(versions) if versions else ""

    def cache_identity(self, spec: ModelSpec, settings: Settings, digest: FileDigest) -> str:
        base = f"gguf:{digest(self.file(spec, settings))}:ctx{spec.n_ctx}"
        return base + (f":lora:{digest(Path(spec.lora))}" if spec.lora else "")


# what `openscout tune` records of a fine-tune (tune/register.py): provenance, read by nobody
TUNE_PROVENANCE = frozenset({"base_model", "training_data", "training_data_sha256", "tune_run"})


def _no_options(spec: ModelSpec) -> None:
    """A GGUF model takes no options but a fine-tune's provenance: `opens_thinking: false`
    written by hand to correct what its template says was taken without a word, and did
    nothing (44th probe, low)."""
    unknown = sorted(set(spec.options) - TUNE_PROVENANCE)
    if unknown or not all(isinstance(v, str) for v in spec.options.values()):
        raise ConfigError(
            f"model {spec.id!r}: a llamacpp model takes no options"
            f" ({unknown[:5] or 'provenance that is not text'})",
            hint="remove them from its entry in models.yaml; the GGUF file's own chat"
            " template says whether it opens thinking",
        )
