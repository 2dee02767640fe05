"""Will it fit? Memory a model needs at a quantization and context, what this machine has,
a verdict, and a decode-speed estimate from memory bandwidth.

Memory model (llama.cpp, CPU, the way openscout loads GGUF files):
  weights     parameters x bits per weight / 8 (exact file size for a local GGUF)
  KV cache    2 (K and V) x layers x n_ctx x kv_heads x head_dim x 2 bytes (f16), allocated and
              zeroed at load, so it is resident at once
  compute     the working buffers of one prompt batch (n_ubatch tokens) against the full
              context: attention scores and their softmax (2 x n_ctx x n_ubatch x heads x 4
              bytes; llama-cpp-python runs without flash attention) plus per-token
              activations, and one row of logits
  vocabulary  the tokenizer's tables: ~VOCAB_BYTES_PER_TOKEN per token plus ~MERGE_BYTES per
              BPE merge rule (the GGUF header gives the counts; for catalog entries we assume a
              BPE tokenizer with as many merges as tokens, the larger case)
Checked against the resident memory of loading the bundled models and running a prompt that
fills the context (tests/catalog/test_fit_real.py).
The formula works on floats and on numpy arrays alike, so search filters 100k entries at once.

Decode speed: each generated token reads every active weight once plus the KV cache filled so
far, so tokens/s <= bandwidth / bytes read per token (the ceiling). The bandwidth is, in order:
the caller's figure, the perf module's measured figure, or DEFAULT_CPU_BANDWIDTH_GBS (a
conservative figure for a desktop/laptop with dual-channel DDR4: ~40 GB/s theoretical, about
half achieved). Decoding reaches only part of the ceiling, so the expected speed follows the
line that `openscout bench` results on this machine draw (perf.calibration): bytes per token
over the bandwidth times an efficiency, plus a fixed cost a token. The report says which line
it used and, for a model benched here, what was measured.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openscout.catalog.schema import ModelEntry
from openscout.config import get_settings
from openscout.errors import FitError, ModelNotFoundError, OpenscoutError
from openscout.perf.bandwidth import cached_bandwidth_gbs, ensure_bandwidth, kv_cache_bytes
from openscout.perf.calibration import (
    DEFAULT_EFFICIENCY,
    DEFAULT_OVERHEAD_S,
    Calibration,
    load_calibration,
)

DEFAULT_CPU_BANDWIDTH_GBS = 20.0
DEFAULT_GPU_BANDWIDTH_GBS = 300.0  # conservative for a data-centre or recent consumer GPU
N_UBATCH = 512
VOCAB_BYTES_PER_TOKEN = 200  # token text, id<->text maps and piece cache in llama.cpp's vocabulary
MERGE_BYTES = 250  # one BPE merge rule in llama.cpp's ranked-pair map
COMFORT = 0.75  # needing at most this share of available memory is "fits comfortably"

# Effective bits per weight of llama.cpp quantizations (block sizes from ggml; K-quant mixes as
# measured on 7-8B models, where the embedding/output tensors stay at higher precision).
QUANT_BPW: dict[str, float] = {
    "F32": 32.0,
    "F16": 16.0,
    "BF16": 16.0,
    "Q8_0": 8.5,
    "Q6_K": 6.56,
    "Q5_K_M": 5.69,
    "Q5_K_S": 5.54,
    "Q5_1": 6.0,
    "Q5_0": 5.5,
    "Q4_K_M": 4.85,
    "Q4_K_S": 4.58,
    "Q4_1": 5.0,
    "Q4_0": 4.5,
    "IQ4_XS": 4.25,
    "IQ4_NL": 4.5,
    "Q3_K_L": 4.27,
    "Q3_K_M": 3.91,
    "Q3_K_S": 3.5,
    "Q2_K": 3.35,
    "IQ3_M": 3.66,
    "IQ2_M": 2.7,
    "IQ2_XS": 2.31,
}


def normalize_quant(q: str) -> str:
    key = q.strip().upper().replace("-", "_")
    if key not in QUANT_BPW:
        raise FitError(f"unknown quantization {q!r}", hint=f"known: {', '.join(QUANT_BPW)}")
    return key


def bits_per_weight(quant: str) -> float:
    return QUANT_BPW[normalize_quant(quant)]


def compute_bytes(n_ctx: int, heads: Any, hidden: Any, vocab: Any, n_ubatch: int = N_UBATCH) -> Any:
    """Working buffers of one full prompt batch against the whole context (see module doc)."""
    t = min(n_ubatch, n_ctx)
    scores = 2 * n_ctx * t * heads * 4  # KQ and softmax(KQ), f32
    activations = t * hidden * 4 * 12  # residual, norms, Q/K/V, FFN up/gate/down (~3-4x hidden)
    return scores + activations + vocab * 4 * 2


def vocab_bytes(vocab: Any, merges: Any = None) -> Any:
    return vocab * VOCAB_BYTES_PER_TOKEN + (vocab if merges is None else merges) * MERGE_BYTES


def required_bytes(
    *,
    params: Any,
    bpw: float,
    layers: Any,
    kv_heads: Any,
    head_dim: Any,
    n_ctx: int,
    heads: Any,
    hidden: Any,
    vocab: Any,
    weights_bytes: Any = None,
) -> Any:
    """Total resident memory; NaN where an architecture fact is unknown (never guessed)."""
    weights = params * bpw / 8 if weights_bytes is None else weights_bytes
    return (
        weights
        + kv_cache_bytes(layers, kv_heads, head_dim, n_ctx)
        + compute_bytes(n_ctx, heads, hidden, vocab)
        + vocab_bytes(vocab)
    )


# -- the model's shape -------------------------------------------------------------------------


@dataclass
class ModelShape:
    source: str  # "gguf header" or "catalog"
    params: int
    quant: str
    weights_bytes: int
    layers: int | None
    heads: int | None
    kv_heads: int | None
    head_dim: int | None
    v_head_dim: int | None
    hidden: int | None
    vocab: int | None
    context_length: int | None
    active_params: int | None = None
    merges: int | None = None  # BPE merge rules (GGUF only)
    path: str | None = None
    notes: list[str] = field(default_factory=list)


def shape_from_gguf(path: str | Path) -> ModelShape:
    from openscout.engines.gguf import read_header

    h = read_header(path)  # its typed fields: a key of the wrong type is refused there
    weights = sum((t.n_bytes() or 0) for t in h.tensors) or (h.file_size - h.data_offset)
    experts, used = h.expert_count, h.expert_used_count
    active = None
    if experts and used:
        expert_params = sum(t.n_elements for t in h.tensors if "_exps" in t.name)
        active = h.parameter_count - expert_params + expert_params * used // experts
    return ModelShape(
        source="gguf header",
        params=h.parameter_count,
        quant=h.quantization or "unknown",
        weights_bytes=int(weights),
        layers=h.n_layers,
        heads=h.n_heads,
        kv_heads=h.n_kv_heads,
        head_dim=h.head_dim,
        v_head_dim=h.value_head_dim,
        hidden=h.embedding_length,
        vocab=h.vocab_size,
        context_length=h.context_length,
        active_params=active,
        merges=h.merge_count or 0,
        path=str(path),
    )


def shape_from_entry(entry: ModelEntry, quant: str) -> ModelShape:
    q = normalize_quant(quant)
    a = entry.arch
    if not entry.params:
        raise FitError(f"{entry.id}: parameter count unknown, so its memory cannot be estimated")
    notes = []
    if a.attention == "mla":
        notes.append(
            "multi-head latent attention compresses the KV cache; its size is not modelled here"
        )
    if not (a.layers and a.kv_heads and a.head_dim):
        notes.append("layer count, KV heads or head size unknown: KV cache not estimated")
    return ModelShape(
        source="catalog",
        params=entry.params,
        quant=q,
        weights_bytes=int(entry.params * QUANT_BPW[q] / 8),
        layers=a.layers,
        heads=a.heads,
        kv_heads=a.kv_heads,
        head_dim=a.head_dim,
        v_head_dim=a.head_dim,
        hidden=a.hidden,
        vocab=a.vocab,
        context_length=a.context,
        active_params=round(entry.active_params_b * 1e9) if entry.active_params_b else None,
        notes=notes,
    )


# -- the machine -------------------------------------------------------------------------------


@dataclass
class GPU:
    name: str
    total_bytes: int
    free_bytes: int


@dataclass
class MachineMemory:
    ram_total_bytes: int | None
    ram_available_bytes: int | None
    gpus: list[GPU] = field(default_factory=list)


def read_meminfo(path: str = "/proc/meminfo") -> tuple[int | None, int | None]:
    try:
        text = Path(path).read_text()
    except OSError:
        return None, None
    vals = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            vals[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return vals.get("MemTotal"), vals.get("MemAvailable", vals.get("MemFree"))


def parse_nvidia_smi(text: str) -> list[GPU]:
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and parts[1].isdigit() and parts[2].isdigit():
            gpus.append(GPU(parts[0], int(parts[1]) * 2**20, int(parts[2]) * 2**20))
    return gpus


def detect_gpus() -> list[GPU]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out.stdout) if out.returncode == 0 else []


def machine_memory() -> MachineMemory:
    total, avail = read_meminfo()
    return MachineMemory(total, avail, detect_gpus())


def default_bandwidth(
    settings: Any = None, on_gpu: bool = False, measure: bool = True
) -> tuple[float, str]:
    """The GPU default, or this machine's measured bandwidth: measured now (about a second,
    every core) when none is stored and `measure` allows it (the server only reads)."""
    if on_gpu:
        return DEFAULT_GPU_BANDWIDTH_GBS, "conservative GPU figure"
    try:
        s = settings or get_settings()
        measured = ensure_bandwidth(s) if measure else cached_bandwidth_gbs(s)
    except OpenscoutError:  # an unreadable store must not stop a fit estimate
        measured = None
    if measured:
        return float(measured), "measured on this machine (STREAM-style copy, docs/metrics.md)"
    return DEFAULT_CPU_BANDWIDTH_GBS, "conservative CPU figure, DDR4 dual channel"


# -- the estimate ------------------------------------------------------------------------------


@dataclass
class FitReport:
    model: str
    catalog_id: str | None
    shape: ModelShape
    context: int
    weights_bytes: int
    kv_cache_bytes: int | None
    compute_bytes: int | None
    vocab_bytes: int | None
    required_bytes: int | None
    machine: MachineMemory
    target: str  # "gpu" or "ram"
    available_bytes: int | None
    verdict: str  # "fits comfortably" | "tight" | "does not fit" | "unknown"
    bandwidth_gbs: float
    bandwidth_source: str
    decode_tokens_per_s: float | None  # expected: the ceiling times the measured efficiency
    notes: list[str]
    decode_ceiling_tokens_per_s: float | None = None  # bandwidth / bytes read per token
    decode_efficiency: float | None = None  # share of the bandwidth that decoding reaches
    decode_overhead_s: float | None = None  # per token, whatever the size
    efficiency_source: str | None = None
    measured_tokens_per_s: float | None = None  # `openscout bench` here, for this model
    measured_model: str | None = None
    machine_name: str = "this machine"  # or the target it was judged for (catalog.machine)
    trained_context: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict_for(required: int | None, available: int | None) -> str:
    if required is None or available is None:
        return "unknown"
    if required <= COMFORT * available:
        return "fits comfortably"
    return "tight" if required <= available else "does not fit"


def estimate(
    shape: ModelShape,
    context: int,
    *,
    machine: MachineMemory | None = None,
    bandwidth_gbs: float | None = None,
    settings: Any = None,
    model: str = "",
    catalog_id: str | None = None,
    calibration: Calibration | None = None,
    measured_ids: tuple[str, ...] = (),
    target: Any = None,
    may_measure: bool = True,
) -> FitReport:
    """The fit of one model shape on one machine (pure, given `machine`, `bandwidth_gbs` and
    `calibration`). `measured_ids`: registered models whose bench results belong to this shape.
    `may_measure=False` (the server): never measure the bandwidth, use the stored figure.
    `target` (catalog.machine.Target), when not this machine: its memory and bandwidth, and the
    default speed line, since what was measured here says nothing about it."""
    away = target is not None and not target.here
    if away:
        machine = target.memory()
        bandwidth_gbs = bandwidth_gbs or target.bandwidth_gbs
        calibration = calibration or Calibration(
            DEFAULT_EFFICIENCY, DEFAULT_OVERHEAD_S, "default speed line (not measured there)", {}
        )
        measured_ids = ()
    if context < 1:
        raise FitError(f"context must be positive, got {context}")
    machine = machine or machine_memory()
    notes = list(shape.notes)
    known = shape.layers and shape.kv_heads and shape.head_dim
    kv = (
        int(kv_cache_bytes(shape.layers, shape.kv_heads, shape.head_dim, context, shape.v_head_dim))
        if known
        else None
    )
    vocab = shape.vocab or 32000
    if not shape.vocab:
        notes.append("vocabulary size unknown: 32000 assumed for the buffers")
    comp = (
        int(compute_bytes(context, shape.heads, shape.hidden, vocab))
        if shape.heads and shape.hidden
        else None
    )
    vocab_b = int(vocab_bytes(vocab, shape.merges))
    required = (
        shape.weights_bytes + kv + comp + vocab_b if kv is not None and comp is not None else None
    )
    if shape.context_length and context > shape.context_length:
        notes.append(
            f"context {context} exceeds the model's trained context {shape.context_length}"
        )
    # llama.cpp splits the layers over every GPU it is given, so their memory adds up
    gpu_free = sum(g.free_bytes for g in machine.gpus) if machine.gpus else None
    on_gpu = gpu_free is not None and required is not None and required <= gpu_free
    available = gpu_free if on_gpu else machine.ram_available_bytes
    if bandwidth_gbs is None and away:
        bandwidth_gbs, bw_source = (
            (DEFAULT_GPU_BANDWIDTH_GBS, "conservative GPU figure")
            if on_gpu
            else (DEFAULT_CPU_BANDWIDTH_GBS, "conservative CPU figure")
        )
    elif bandwidth_gbs is None:
        bandwidth_gbs, bw_source = default_bandwidth(settings, on_gpu, may_measure)
    else:
        bw_source = "given"
    active_frac = (
        (shape.active_params / shape.params) if shape.active_params and shape.params else 1.0
    )
    per_token = (
        shape.weights_bytes * active_frac + (kv or 0) / 2
    )  # on average half the context is filled
    ceiling = bandwidth_gbs * 1e9 / per_token if per_token > 0 else None
    if calibration is None:
        calibration = load_calibration(settings or get_settings())
    if on_gpu:  # the line was measured with llama.cpp on this CPU; nothing on a GPU yet
        calibration = Calibration(1.0, 0.0, "GPU: the bandwidth ceiling", calibration.measured)
    tps = calibration.decode_tps(per_token, bandwidth_gbs) if per_token > 0 else None
    measured = next(
        ((m, calibration.measured[m]) for m in measured_ids if m in calibration.measured),
        (None, None),
    )
    return FitReport(
        model=model,
        catalog_id=catalog_id,
        shape=shape,
        context=context,
        weights_bytes=shape.weights_bytes,
        kv_cache_bytes=kv,
        compute_bytes=comp,
        vocab_bytes=vocab_b,
        required_bytes=required,
        machine=machine,
        target="gpu" if on_gpu else "ram",
        available_bytes=available,
        verdict=verdict_for(required, available),
        bandwidth_gbs=bandwidth_gbs,
        bandwidth_source=bw_source,
        decode_tokens_per_s=round(tps, 1) if tps else None,
        notes=notes,
        decode_ceiling_tokens_per_s=round(ceiling, 1) if ceiling else None,
        decode_efficiency=calibration.efficiency,
        decode_overhead_s=calibration.overhead_s,
        efficiency_source=calibration.source,
        measured_tokens_per_s=measured[1],
        measured_model=measured[0],
        machine_name=target.describe() if away else "this machine",
        trained_context=shape.context_length,
    )


def resolve_shape(
    ref: str, quant: str | None, settings: Any, catalog: Any
) -> tuple[ModelShape, str | None]:
    """A registered model id, a GGUF path or a catalog id -> (shape, catalog id).

    Registered ids come first, so an id never resolves to a file that happens to share its
    name in the working directory."""
    from openscout.engines.kinds import kind_of
    from openscout.models import get_model

    try:
        spec = get_model(settings, ref)
    except ModelNotFoundError:
        spec = None
    if spec is not None:
        local = kind_of(spec).local_file(spec, settings)
        if local is not None:
            return _gguf_shape(local, quant), spec.catalog_id
        entry = catalog.get(spec.catalog_id) if spec.catalog_id else None
        if entry is None:
            raise FitError(
                f"model {ref!r} is remote and has no catalog_id",
                hint="register it with --catalog-id",
            )
        return shape_from_entry(entry, quant or "Q4_K_M"), entry.id
    p = Path(ref).expanduser()
    if ref.endswith(".gguf") or (p.is_file() and os.path.getsize(p) > 4):
        return _gguf_shape(p, quant), None
    entry = catalog.get(ref)
    if entry is None:
        raise ModelNotFoundError(
            f"{ref!r} is neither a catalog id, a registered model nor a GGUF file",
            hint="see `openscout catalog search` and `openscout models list`",
        )
    return shape_from_entry(entry, quant or "Q4_K_M"), entry.id


def _gguf_shape(path: Path, quant: str | None) -> ModelShape:
    shape = shape_from_gguf(path)
    if quant and normalize_quant(quant) != shape.quant:
        shape.notes.append(
            f"the local file is {shape.quant}; its real size is used, not {normalize_quant(quant)}"
        )
    return shape


def estimate_fit(
    model: str,
    *,
    context: int = 4096,
    quant: str | None = None,
    settings: Any = None,
    catalog: Any = None,
    machine: MachineMemory | None = None,
    bandwidth_gbs: float | None = None,
    target: Any = None,
    may_measure: bool = True,
) -> FitReport:
    """Fit of a catalog id, registered model id or GGUF path at `context` tokens and `quant`,
    on this machine or on `target` (catalog.machine.Target)."""
    from openscout.catalog.loader import load_user_catalog
    from openscout.models import list_models

    settings = settings or get_settings()
    catalog = catalog or load_user_catalog(settings.home)  # as `catalog show` finds entries
    shape, catalog_id = resolve_shape(model, quant, settings, catalog)
    benched_as = tuple(
        m.id
        for m in list_models(settings)
        if m.id == model or (catalog_id and m.catalog_id == catalog_id)
    )
    return estimate(
        shape,
        context,
        machine=machine,
        bandwidth_gbs=bandwidth_gbs,
        settings=settings,
        model=model,
        catalog_id=catalog_id,
        measured_ids=benched_as,
        target=target,
        may_measure=may_measure,
    )
