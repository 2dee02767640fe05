"""The base `tune` starts from is the registered GGUF file and nothing beside it: given the
file's folder, transformers read an `adapter_config.json` there and loaded the base it names
(another folder, or a Hub repo it would fetch) in its place, and the run trained on those
weights without a word (twenty-second probe)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
