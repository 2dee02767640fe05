"""A PEFT LoRA adapter as a GGUF LoRA adapter that llama.cpp applies on the base GGUF.

What llama.cpp (src/llama-adapter.cpp, the version llama-cpp-python 0.3.36 builds) reads:
- metadata `general.type` = "adapter", `adapter.type` = "lora", `general.architecture` equal
  to the base model's, and `adapter.lora.alpha` (f32): each product B·A·x is scaled by
  alpha / rank (rank = lora_b's first ggml dimension), as PEFT scales by lora_alpha / r;
- for every adapted weight `NAME` of the base (e.g. `blk.3.attn_q.weight`) two tensors,
  `NAME.lora_a` with ggml shape [in, rank] and `NAME.lora_b` with [rank, out]. In numpy
  order these are PEFT's own `lora_A.weight` (rank, in) and `lora_B.weight` (out, rank).
- The base GGUF stores the query and key projections of llama-type models with each head's
  rows interleaved (the rotary pairs side by side), where Hugging Face keeps the two halves of
  a head apart; transformers undoes this when it reads the GGUF. An adapter's B rows are rows
  of the same weight, so they are re-ordered the same way here.
Only numpy and the `gguf` package: no torch, so a converted adapter can be checked anywhere.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from openscout.errors import TuneError

# Hugging Face module name (llama-type decoders) -> the GGUF tensor name in block {i}
HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
# what `--target` may name: the module names PEFT matches
ADAPTABLE = tuple(name.split(".")[1] for name in HF_TO_GGUF)
# architectures whose GGUF q/k rows are interleaved per head (llama.cpp's convert script)
INTERLEAVED_QK = {"llama"}
_PEFT_KEY = re.compile(
    r"(?:^|\.)layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)"
    r"\.lora_([AB])(?:\.[A-Za-z0-9_]+)?\.weight$"
)


def interleave_heads(rows: np.ndarray, n_head: int) -> np.ndarray:
    """Re-order the rows of a q or k projection (or of its LoRA B) from Hugging Face's layout
    (per head: first half of the rotary dims, then the second) to GGUF's (pairs side by side)."""
    out_dim = rows.shape[0]
    if out_dim % n_head or (out_dim // n_head) % 2:
        raise TuneError(f"cannot split {out_dim} rows into {n_head} heads of even size")
    head = out_dim // n_head
    half = head // 2
    order = np.empty(out_dim, dtype=np.int64)
    for h in range(n_head):
        base = h * head
        for i in range(half):
            order[base + 2 * i] = base + i
            order[base + 2 * i + 1] = base + half + i
    return rows[order]


def gguf_tensors(
    peft_state: Mapping[str, np.ndarray], arch: str, n_head: int, n_head_kv: int
) -> dict[str, np.ndarray]:
    """PEFT LoRA tensors (name -> float array) as GGUF adapter tensors (name -> float32)."""
    out: dict[str, np.ndarray] = {}
    for key, value in peft_state.items():
        m = _PEFT_KEY.search(key)
        if m is None:
            raise TuneError(f"the adapter has a tensor openscout cannot convert: {key}")
        layer, module, ab = int(m.group(1)), m.group(2), m.group(3)
        arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        if (
            ab == "B"
            and arch in INTERLEAVED_QK
            and module in ("self_attn.q_proj", "self_attn.k_proj")
        ):
            arr = interleave_heads(arr, n_head if module == "self_attn.q_proj" else n_head_kv)
        name = f"blk.{layer}.{HF_TO_GGUF[module]}.weight.lora_{ab.lower()}"
        out[name] = np.ascontiguousarray(arr)
    return out


def write_adapter(
    path: str | Path,
    tensors: Mapping[str, np.ndarray],
    arch: str,
    alpha: float,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write the GGUF adapter atomically (a temporary file renamed into place)."""
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    writer = gguf.GGUFWriter(str(tmp), arch)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        for key, value in (metadata or {}).items():
            writer.add_string(f"openscout.tune.{key}", str(value))
        for name in sorted(tensors):
            writer.add_tensor(name, tensors[name])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, path)
    except BaseException:  # a full disk left the partial adapter for good (35th probe)
        with contextlib.suppress(Exception):
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return path


def convert(
    peft_state: Mapping[str, np.ndarray],
    base_gguf: str | Path,
    out: str | Path,
    alpha: float,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Convert PEFT LoRA tensors for the base GGUF file into a GGUF adapter at `out`."""
    from openscout.engines.gguf import read_header

    header = read_header(base_gguf)
    arch = header.architecture
    if not arch or header.n_heads is None:
        raise TuneError(f"{Path(base_gguf).name}: the GGUF header names no architecture or heads")
    n_head_kv = header.n_kv_heads or header.n_heads
    tensors = gguf_tensors(peft_state, arch, int(header.n_heads), int(n_head_kv))
    shapes = {t.name: t.shape for t in header.tensors}
    for name, arr in tensors.items():
        weight = name.rsplit(".", 1)[0]
        if weight not in shapes:
            raise TuneError(f"the base has no tensor {weight}", hint="was it tuned on this base?")
        ne0, ne1 = shapes[weight][0], shapes[weight][1]  # ggml order: [in, out]
        ok = arr.shape[1] == ne0 if name.endswith("lora_a") else arr.shape[0] == ne1
        if not ok:
            raise TuneError(f"{name}: shape {arr.shape} does not fit the base's {weight}")
    return write_adapter(out, tensors, arch, alpha, metadata)
