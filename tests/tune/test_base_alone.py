"""The base `tune` starts from is the registered GGUF file and nothing beside it: given the
file's folder, transformers read an `adapter_config.json` there and loaded the base it names
(another folder, or a Hub repo it would fetch) in its place, and the run trained on those
weights without a word (twenty-second probe)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from openscout.tune.base import load_float

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def test_an_adapter_config_beside_the_file_is_not_followed(
    tmp_path: Path, smollm2_path: Path, gemma_path: Path
) -> None:
    pytest.importorskip("peft")  # the `tune` extra; scripts/setup-test.sh installs it
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    shutil.copy(smollm2_path, mine / "base.gguf")
    shutil.copy(gemma_path, other / "base.gguf")  # what the adapter config points at
    (mine / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(other), "peft_type": "LORA", "r": 4,
                    "lora_alpha": 8, "target_modules": ["q_proj"], "task_type": "CAUSAL_LM"})
    )  # fmt: skip
    (mine / "adapter_model.safetensors").write_bytes(b"\x02\0\0\0\0\0\0\0{}")
    model = load_float(mine / "base.gguf", tmp_path / "float-cache", "0" * 64)
    assert model.config.model_type == "llama"  # SmolLM2's own, not Gemma's
    assert not hasattr(model, "peft_config")


@pytest.mark.parametrize("meanwhile", ["renamed over", "written in place"])
def test_the_float_weights_are_read_from_the_bytes_hashed(
    tmp_path: Path, smollm2_path: Path, monkeypatch: pytest.MonkeyPatch, meanwhile: str
) -> None:
    """A base file swapped between its digest and its load put other weights in the float
    cache under the genuine file's digest, and every later fine-tune of the genuine file
    trained on them (31st probe, medium). transformers is faked here to say what it read;
    the real load through the pinned descriptor runs in every real tune test."""
    import hashlib
    import os

    transformers = pytest.importorskip("transformers")
    from openscout.engines.pinned import PinnedFile
    from openscout.errors import TuneError
    from openscout.tune import base as tune_base

    read: list[str] = []

    def reading(folder: str, gguf_file: str, **kwargs: Any) -> object:
        read.append(hashlib.sha256((Path(folder) / gguf_file).read_bytes()).hexdigest())
        return object()

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", reading)
    cached: list[str] = []
    monkeypatch.setattr(tune_base, "_to_cache", lambda model, root, digest: cached.append(digest))
    path = tmp_path / "b.gguf"
    shutil.copy(smollm2_path, path)
    with PinnedFile(path) as pinned:
        digest = pinned.sha256()
        if meanwhile == "renamed over":
            other = tmp_path / "e.gguf"
            other.write_bytes(path.read_bytes()[:-4096] + b"\0" * 4096)
            os.replace(other, path)
            tune_base.load_float(Path(pinned.opened), tmp_path / "cache", digest, pinned.changed)
            assert read == [digest] and cached == [digest]  # the bytes hashed, and only those
        else:
            with path.open("r+b") as f:
                f.seek(-1, os.SEEK_END)
                f.write(b"\1")
            with pytest.raises(TuneError, match="changed while it was read"):
                tune_base.load_float(
                    Path(pinned.opened), tmp_path / "cache", digest, pinned.changed
                )
            assert cached == []  # nothing cached under a digest the weights do not match
