"""Fit arithmetic, machine detection parsing, verdicts, speed and model resolution."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openscout.catalog import load_catalog
from openscout.catalog.fit import (
    GPU,
    FitError,
    MachineMemory,
    bits_per_weight,
    estimate,
    estimate_fit,
    kv_cache_bytes,
    parse_nvidia_smi,
    read_meminfo,
    shape_from_entry,
    shape_from_gguf,
    verdict_for,
)
from openscout.config import Settings
from openscout.errors import ModelNotFoundError
from openscout.perf.calibration import DEFAULT_EFFICIENCY, DEFAULT_OVERHEAD_S
from tests.gguf_factory import write_gguf

GB = 10**9
BIG = MachineMemory(64 * GB, 60 * GB)
SMALL = MachineMemory(16 * GB, 12 * GB)


def test_kv_cache_matches_llama_cpp_figures() -> None:
    # llama.cpp reports (f16) 2048 MiB for Llama 2 7B at 4096 tokens, 4096 MiB for Mistral 7B at 32k
    assert kv_cache_bytes(32, 32, 128, 4096) == 2048 * 2**20
    assert kv_cache_bytes(32, 8, 128, 32768) == 4096 * 2**20
    cat = load_catalog()
    r = estimate(
        shape_from_entry(cat.get("meta-llama/Llama-2-7b-hf"), "Q4_K_M"),
        4096,
        machine=BIG,
        bandwidth_gbs=20,
    )
    assert r.kv_cache_bytes == 2048 * 2**20


def test_weights_scale_with_quantization() -> None:
    e = load_catalog().get("mistralai/Mistral-7B-v0.1")
    q4 = shape_from_entry(e, "Q4_K_M").weights_bytes
    q8 = shape_from_entry(e, "q8_0").weights_bytes
    f16 = shape_from_entry(e, "F16").weights_bytes
    assert f16 == pytest.approx(7.24e9 * 2, rel=1e-6)
    assert q4 < q8 < f16
    assert q8 / q4 == pytest.approx(bits_per_weight("Q8_0") / bits_per_weight("Q4_K_M"))
    with pytest.raises(FitError):
        shape_from_entry(e, "Q9_X")


def test_verdicts() -> None:
    assert verdict_for(50, 100) == "fits comfortably"
    assert verdict_for(90, 100) == "tight"
    assert verdict_for(101, 100) == "does not fit"
    assert verdict_for(None, 100) == "unknown"
    cat = load_catalog()
    big = estimate(
        shape_from_entry(cat.get("meta-llama/Llama-2-70b-hf"), "Q4_K_M"),
        4096,
        machine=SMALL,
        bandwidth_gbs=20,
    )
    assert big.verdict == "does not fit" and big.target == "ram"
    small = estimate(
        shape_from_entry(cat.get("HuggingFaceTB/SmolLM2-135M-Instruct"), "Q4_K_M"),
        4096,
        machine=SMALL,
        bandwidth_gbs=20,
    )
    assert small.verdict == "fits comfortably"


def test_gpu_is_used_when_the_model_fits_there() -> None:
    cat = load_catalog()
    shape = shape_from_entry(cat.get("meta-llama/Meta-Llama-3-8B"), "Q4_K_M")
    gpu = MachineMemory(32 * GB, 20 * GB, [GPU("Test GPU", 80 * GB, 70 * GB)])
    r = estimate(shape, 8192, machine=gpu)
    assert r.target == "gpu" and r.available_bytes == 70 * GB
    assert r.bandwidth_source.startswith("conservative GPU")
    tiny_gpu = MachineMemory(32 * GB, 20 * GB, [GPU("Small", 4 * GB, 3 * GB)])
    assert estimate(shape, 8192, machine=tiny_gpu, bandwidth_gbs=20).target == "ram"


def test_decode_speed_from_bandwidth_and_active_params() -> None:
    cat = load_catalog()
    dense = shape_from_entry(cat.get("mistralai/Mistral-7B-v0.1"), "Q4_K_M")
    r = estimate(dense, 4096, machine=BIG, bandwidth_gbs=40)
    per_token = dense.weights_bytes + r.kv_cache_bytes / 2
    assert r.decode_ceiling_tokens_per_s == pytest.approx(40e9 / per_token, abs=0.1)
    # the expected speed follows the line measured here (default: nothing benched yet in
    # this test's fresh data dir): bytes over bandwidth x efficiency, plus a cost a token
    assert (r.decode_efficiency, r.decode_overhead_s) == (DEFAULT_EFFICIENCY, DEFAULT_OVERHEAD_S)
    seconds = per_token / (40e9 * DEFAULT_EFFICIENCY) + DEFAULT_OVERHEAD_S
    assert r.decode_tokens_per_s == pytest.approx(1 / seconds, abs=0.1)
    # twice the bandwidth: twice the ceiling, and faster, though not twice (the cost a token)
    double = estimate(dense, 4096, machine=BIG, bandwidth_gbs=80)
    assert double.decode_ceiling_tokens_per_s == pytest.approx(
        2 * r.decode_ceiling_tokens_per_s, abs=0.2
    )
    assert r.decode_tokens_per_s < double.decode_tokens_per_s < 2 * r.decode_tokens_per_s
    moe = shape_from_entry(cat.get("mistralai/Mixtral-8x7B-v0.1"), "Q4_K_M")
    m = estimate(moe, 4096, machine=BIG, bandwidth_gbs=40)
    # Mixtral reads ~12.9B of its 46.7B parameters per token: faster than its size suggests
    assert m.required_bytes > 5 * r.weights_bytes * 0.9
    assert m.decode_tokens_per_s > r.decode_tokens_per_s * 0.4


def test_bandwidth_comes_from_perf_when_measured(settings: Settings) -> None:
    from openscout.perf.bandwidth import (
        METHOD,
        Bandwidth,
        cached_bandwidth_gbs,
        host_key,
        store_bandwidth,
    )

    cat = load_catalog()
    shape = shape_from_entry(cat.get("mistralai/Mistral-7B-v0.1"), "Q4_K_M")
    # nothing stored yet: the first estimate measures this machine once and keeps the figure
    first = estimate(shape, 2048, machine=BIG, settings=settings)
    assert first.bandwidth_source.startswith("measured on this machine")
    assert cached_bandwidth_gbs(settings) == first.bandwidth_gbs > 0
    # the best figure stored for this host is used (a reading taken while busy reads low)
    store_bandwidth(settings, Bandwidth(3350.0, host_key(), METHOD, 10**8))
    r = estimate(shape, 2048, machine=BIG, settings=settings)
    assert r.bandwidth_gbs == 3350.0 and "measured" in r.bandwidth_source
    assert (
        estimate(shape, 2048, machine=BIG, settings=settings, bandwidth_gbs=5).bandwidth_source
        == "given"
    )


def test_meminfo_and_nvidia_smi_parsing(tmp_path: Path) -> None:
    p = tmp_path / "meminfo"
    p.write_text(
        "MemTotal:       16318480 kB\nMemFree:         1000000 kB\nMemAvailable:   12000000 kB\n"
    )
    assert read_meminfo(str(p)) == (16318480 * 1024, 12000000 * 1024)
    assert read_meminfo(str(tmp_path / "missing")) == (None, None)
    gpus = parse_nvidia_smi("NVIDIA H100 80GB HBM3, 81559, 80900\nNVIDIA A10, 23028, 22000\n")
    assert [g.name for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA A10"]
    assert gpus[0].total_bytes == 81559 * 2**20 and gpus[1].free_bytes == 22000 * 2**20
    assert parse_nvidia_smi("No devices were found\n") == []


def test_this_machine_is_read() -> None:
    from openscout.catalog.fit import machine_memory

    m = machine_memory()
    assert (
        m.ram_total_bytes and m.ram_available_bytes and m.ram_available_bytes <= m.ram_total_bytes
    )


def test_gguf_header_gives_the_shape(tmp_path: Path) -> None:
    meta = {
        "general.architecture": "llama",
        "general.file_type": 1,
        "llama.block_count": 4,
        "llama.attention.head_count": 8,
        "llama.attention.head_count_kv": 2,
        "llama.embedding_length": 256,
        "llama.context_length": 1024,
        "tokenizer.ggml.tokens": [f"t{i}" for i in range(50)],  # strings, as llama.cpp needs
    }
    path = write_gguf(tmp_path / "tiny.gguf", metadata=meta, tensors=[("w", (256, 64), 1)])
    shape = shape_from_gguf(path)
    assert (shape.layers, shape.heads, shape.kv_heads, shape.head_dim) == (4, 8, 2, 32)
    assert shape.weights_bytes == 256 * 64 * 2 and shape.quant == "F16" and shape.vocab == 50
    r = estimate_fit(str(path), context=512, quant="Q4_K_M", machine=BIG, bandwidth_gbs=20)
    assert r.kv_cache_bytes == 4 * 512 * 2 * 32 * 2 * 2
    assert any("F16" in n for n in r.notes)  # the file's real size is used, not the asked quant


def test_resolution_of_model_references(settings: Settings) -> None:
    r = estimate_fit(
        "smollm2-135m-instruct", context=2048, settings=settings, machine=BIG, bandwidth_gbs=20
    )
    assert r.catalog_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert r.shape.source == "gguf header" and r.shape.quant == "Q4_1" and r.shape.layers == 30
    r = estimate_fit(
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        context=2048,
        settings=settings,
        machine=BIG,
        bandwidth_gbs=20,
    )
    assert r.shape.source == "catalog" and r.shape.quant == "Q4_K_M"
    with pytest.raises(ModelNotFoundError):
        estimate_fit("nobody/nothing", settings=settings, machine=BIG)
    with pytest.raises(FitError):
        estimate_fit(
            "HuggingFaceTB/SmolLM2-135M-Instruct", context=0, settings=settings, machine=BIG
        )


def test_unknown_facts_stay_unknown() -> None:
    e = load_catalog().get("deepseek-ai/DeepSeek-V3")
    r = estimate(shape_from_entry(e, "Q4_K_M"), 4096, machine=BIG, bandwidth_gbs=20)
    assert r.kv_cache_bytes is None and r.required_bytes is None and r.verdict == "unknown"
    assert any("latent attention" in n for n in r.notes)


def test_fit_cli_json(cli_env: dict[str, str]) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "openscout.cli.main",
            "fit",
            "smollm2-135m-instruct",
            "--context",
            "8192",
            "--quant",
            "Q4_K_M",
            "--json",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["context"] == 8192 and data["verdict"] in (
        "fits comfortably",
        "tight",
        "does not fit",
    )
    assert data["kv_cache_bytes"] == 30 * 8192 * 3 * 64 * 2 * 2
    assert data["catalog_id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    bad = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "fit", "nobody/nothing"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "nobody/nothing" in bad.stderr


@pytest.mark.parametrize(
    ("fixture", "hf_id"),
    [
        ("smollm2_path", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("gemma_path", "google/gemma-3-270m"),
    ],
)
def test_curated_architecture_agrees_with_the_embedded_gguf(
    fixture: str, hf_id: str, request: pytest.FixtureRequest
) -> None:
    shape = shape_from_gguf(request.getfixturevalue(fixture))
    e = load_catalog().get(hf_id)
    a = e.arch
    assert (a.layers, a.heads, a.kv_heads, a.head_dim, a.hidden, a.vocab, a.context) == (
        shape.layers,
        shape.heads,
        shape.kv_heads,
        shape.head_dim,
        shape.hidden,
        shape.vocab,
        shape.context_length,
    )
    assert e.params_b == pytest.approx(shape.params / 1e9, rel=0.01)
