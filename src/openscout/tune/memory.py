"""How much memory a LoRA run needs, before anything is loaded (no torch here).

From the base's GGUF header (catalog/fit.py's `shape_from_gguf`): float32 weights, held twice
while the quantized file is read and dequantized; the adapter (rank x (in + out) for every
adapted projection) with its gradient and AdamW's two moments; and the activations backward
needs for one batch of the longest example: per layer a few dozen hidden-size vectors a token
plus the attention scores, and the logits over the vocabulary (float32, with their softmax and
gradient). It is an estimate: the check keeps a quarter of the free memory spare, as `fit`.
"""

from __future__ import annotations

import re
import resource
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openscout.catalog.fit import COMFORT, machine_memory, shape_from_gguf
from openscout.errors import TuneError
from openscout.units import human_bytes

F32 = 4
# float32 vectors of hidden size kept per token per layer for backward (norms, q/k/v, MLP
# inputs, residuals): a generous round figure for llama-type blocks
HIDDEN_VECTORS = 24
TORCH_OVERHEAD = 400 * 2**20  # the libraries themselves


@dataclass(frozen=True)
class TrainingMemory:
    weights: int
    adapter: int  # parameters + gradients
    optimizer: int  # AdamW: two moments
    activations: int
    overhead: int
    trainable_params: int
    available: int | None
    available_is: str = "free"  # or what this process's address-space limit leaves

    @property
    def total(self) -> int:
        return self.weights + self.adapter + self.optimizer + self.activations + self.overhead

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}

    def describe(self) -> str:
        parts = (
            f"weights {human_bytes(self.weights)}, adapter {human_bytes(self.adapter)}, "
            f"optimizer {human_bytes(self.optimizer)}, activations {human_bytes(self.activations)}"
        )
        return f"about {human_bytes(self.total)} ({parts})"


# GGUF tensor names of the projections a Hugging Face module name adapts
_GGUF_OF = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
            "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}  # fmt: skip


# The estimate is generous: SmolLM2 (batch 4, rank 8, estimated 1.74 GB) trained in 1.58 GB of
# address space left and failed in 1.28. Under a limit, a run is tried from three quarters of
# the estimate; torch failing beyond that is still "out of memory", never a crash.
ADDRESS_SPACE_SLACK = 0.75
ADDRESS_SPACE_WORDS = "under its address-space limit (ulimit -v)"


def address_space_left() -> int | None:
    """What RLIMIT_AS leaves for training, or None without a limit: under `ulimit -v` torch
    failed to allocate after the check had compared with free memory alone (27th probe).
    The estimate's overhead covers the libraries' own mappings."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        status = Path("/proc/self/status").read_text()
        used = int(re.search(r"^VmSize:\s+(\d+) kB", status, re.M).group(1)) * 1024  # type: ignore[union-attr]
    except (OSError, AttributeError, ValueError):
        used = 0
    return max(0, soft - used)


def estimate(
    base_gguf: str | Path, rank: int, targets: tuple[str, ...], batch: int, seq_len: int
) -> TrainingMemory:
    from openscout.engines.gguf import read_header

    shape = shape_from_gguf(base_gguf)
    header = read_header(base_gguf)
    wanted = {_GGUF_OF[t] for t in targets if t in _GGUF_OF}
    trainable = 0
    for t in header.tensors:
        parts = t.name.split(".")
        if len(parts) == 4 and parts[0] == "blk" and parts[2] in wanted and len(t.shape) == 2:
            trainable += rank * (t.shape[0] + t.shape[1])
    hidden = shape.hidden or 0
    layers = shape.layers or 0
    heads = shape.heads or 1
    tokens = batch * seq_len
    per_layer = tokens * hidden * HIDDEN_VECTORS * F32 + batch * heads * seq_len * seq_len * F32 * 2
    logits = tokens * (shape.vocab or 0) * F32 * 3
    avail, bound_by = machine_memory().ram_available_bytes, "free"
    room = address_space_left()
    if room is not None and (avail is None or room < avail):
        avail, bound_by = room, ADDRESS_SPACE_WORDS
    return TrainingMemory(
        weights=shape.params * F32 * 2,
        adapter=trainable * F32 * 2,
        optimizer=trainable * F32 * 2,
        activations=layers * per_layer + logits,
        overhead=TORCH_OVERHEAD,
        trainable_params=trainable,
        available=avail,
        available_is=bound_by,
    )


def check(mem: TrainingMemory) -> None:
    """Refuse a run that would not fit this machine's free memory (a quarter kept spare), or
    the address space this process may still map (ADDRESS_SPACE_SLACK)."""
    if mem.available is None:
        return
    if mem.available_is == "free" and mem.total > COMFORT * mem.available:
        has = f"this machine has {human_bytes(mem.available)} free (a quarter is kept spare)"
    elif mem.available_is != "free" and ADDRESS_SPACE_SLACK * mem.total > mem.available:
        has = f"this process may map only {human_bytes(mem.available)} more {mem.available_is}"
    else:
        return
    raise TuneError(
        f"not enough memory: training needs {mem.describe()}, and {has}",
        hint="lower --batch, shorten the longest examples, lower --rank, or free memory"
        + (" (or raise `ulimit -v`)" if mem.available_is != "free" else ""),
    )
