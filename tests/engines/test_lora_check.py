"""A LoRA adapter is matched to its base before llama.cpp sees the pair: a bad one crashed
the process with a segmentation fault, `serve` included (thirteenth probe)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from openscout.engines.gguf import read_header
from openscout.engines.lora_check import check_adapter
from openscout.errors import ModelFileError
from tests.gguf_factory import write_gguf

ADAPTER = {"general.architecture": "llama", "general.type": "adapter"}


def _base(tmp_path: Path):  # type: ignore[no-untyped-def]
    return read_header(
        write_gguf(tmp_path / "base.gguf", tensors=[("blk.0.attn_q.weight", (8, 6), 0)])
    )


def _adapter(tmp_path: Path, tensors, metadata=ADAPTER) -> Path:  # type: ignore[no-untyped-def]
    return write_gguf(tmp_path / "lora.gguf", metadata=metadata, tensors=tensors)


GOOD = [("blk.0.attn_q.weight.lora_a", (8, 2), 0), ("blk.0.attn_q.weight.lora_b", (2, 6), 0)]


def test_an_adapter_for_the_base_passes(tmp_path: Path) -> None:
    assert check_adapter(_adapter(tmp_path, GOOD), _base(tmp_path)).get("general.type") == "adapter"


@pytest.mark.parametrize(
    ("tensors", "metadata", "said"),
    [
        (GOOD, {"general.architecture": "llama"}, "general.type"),
        (GOOD, {**ADAPTER, "general.architecture": "gemma3"}, "architecture"),
        ([("blk.0.attn_q.weight.lora_a", (3, 2), 0), GOOD[1]], ADAPTER, "shape"),
        ([GOOD[0], ("blk.0.attn_q.weight.lora_b", (2, 5), 0)], ADAPTER, "shape"),
        ([*GOOD, ("nonexistent.weight.lora_a", (4, 4), 0)], ADAPTER, "adapts nothing"),
        ([GOOD[0]], ADAPTER, "pair"),
        ([GOOD[0], ("blk.0.attn_q.weight.lora_b", (3, 6), 0)], ADAPTER, "pair"),
        ([], ADAPTER, "no tensors"),
    ],
)
def test_a_bad_adapter_is_refused(tmp_path: Path, tensors, metadata, said: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelFileError, match=said):
        check_adapter(_adapter(tmp_path, tensors, metadata), _base(tmp_path))


@pytest.mark.real_model
def test_generate_with_a_bad_adapter_is_an_error_not_a_crash(
    tmp_path: Path, cli_env: dict[str, str], smollm2_path: Path
) -> None:
    """The real path: a models.yaml entry with a wrong-shape adapter on the bundled SmolLM2."""
    bad = _adapter(
        tmp_path,
        [("blk.0.attn_q.weight.lora_a", (3, 7), 0), ("blk.0.attn_q.weight.lora_b", (9, 5), 0)],
    )
    home = Path(cli_env["OPENSCOUT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "models.yaml").write_text(
        f"version: 1\nmodels:\n  - id: l6\n    engine: llamacpp\n    path: {smollm2_path}\n    lora: {bad}\n"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "openscout.cli.main",
            "generate",
            "hi",
            "-m",
            "l6",
            "--max-tokens",
            "2",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode not in (0, -11, 139), r.stderr
    assert "is not a LoRA adapter" in r.stderr and "unexpected error" not in r.stderr


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("ggml_type", [0, 1])  # F32, F16
def test_non_finite_weights_are_refused(tmp_path: Path, value: float, ggml_type: int) -> None:
    """They loaded and answered nothing ("0 completion tokens"), without an error
    (nineteenth probe)."""
    import numpy as np

    tensors = [(name, shape, ggml_type) for name, shape, _ in GOOD]
    path = _adapter(tmp_path, tensors)
    header = read_header(path)
    good = check_adapter(path, _base(tmp_path))  # zeros: fine
    assert good.get("general.type") == "adapter"
    last = header.tensors[-1]
    dtype = np.float32 if ggml_type == 0 else np.float16
    with path.open("r+b") as f:
        f.seek(header.data_offset + last.offset + 3 * np.dtype(dtype).itemsize)
        f.write(np.array([value], dtype=dtype).tobytes())
    with pytest.raises(ModelFileError, match="holds NaN or infinite values"):
        check_adapter(path, _base(tmp_path))


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), -1e38])
def test_a_scale_that_is_no_number_is_refused(tmp_path: Path, alpha: float) -> None:
    path = _adapter(tmp_path, GOOD, {**ADAPTER, "adapter.lora.alpha": alpha})
    with pytest.raises(ModelFileError, match=r"adapter\.lora\.alpha"):
        check_adapter(path, _base(tmp_path))
    ok = _adapter(tmp_path, GOOD, {**ADAPTER, "adapter.lora.alpha": 16.0})
    assert check_adapter(ok, _base(tmp_path)).get("adapter.lora.alpha") == 16.0
