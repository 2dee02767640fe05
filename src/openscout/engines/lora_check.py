"""A LoRA adapter checked against its base before llama.cpp is handed the pair.

llama.cpp trusts an adapter's tensors: one of the wrong shape, one naming a tensor the base
lacks, or a truncated file crashed the whole process (a segmentation fault that took `serve`
down with it; thirteenth probe). So the adapter is read by openscout's own GGUF reader (which
refuses truncated and malformed files) and every tensor is matched to the base's. NaN or
infinite weights or scale loaded and answered nothing, without an error (nineteenth probe):
its float tensors and alpha must be finite.
"""

from __future__ import annotations

import math
from pathlib import Path

from openscout.engines.gguf import GGUFHeader, TensorInfo, read_header
from openscout.errors import ModelFileError

SUFFIXES = (".lora_a", ".lora_b")
MAX_ALPHA = 1e6  # PEFT's lora_alpha is a few to a few hundred
FLOAT_TYPES = {0: "<f4", 1: "<f2", 30: "<u2"}  # ggml F32, F16, BF16 (read as its bits)
CHUNK = 2**20


def check_adapter(path: str | Path, base: GGUFHeader, via: str | None = None) -> GGUFHeader:
    """The adapter's header, once it is an adapter for `base`; ModelFileError otherwise.
    `via` is where to read it (a pinned file's descriptor); messages name `path`."""
    source = Path(via) if via is not None else Path(path)
    adapter = read_header(path, via=source)
    name = Path(path).name

    def bad(why: str) -> ModelFileError:
        return ModelFileError(
            f"{name} is not a LoRA adapter for {Path(base.path).name}: {why}",
            hint="register the adapter again (openscout tune) or remove `lora:` from the entry",
        )

    if adapter.get("general.type") != "adapter":
        raise bad("its general.type is not 'adapter'")
    arch = adapter.get("general.architecture")
    if arch is not None and arch != base.get("general.architecture"):
        raise bad(f"it is for the architecture {str(arch)[:40]!r}")
    targets = {t.name: t.shape for t in base.tensors}
    ranks: dict[str, dict[str, int]] = {}
    for t in adapter.tensors:
        stem, suffix = t.name[:-7], t.name[-7:]
        if suffix not in SUFFIXES or stem not in targets:
            raise bad(f"the tensor {t.name[:80]!r} adapts nothing in the base")
        target = targets[stem]
        if len(t.shape) != 2 or len(target) != 2:
            raise bad(f"the tensor {t.name[:80]!r} is not a matrix adapting a matrix")
        # ggml order: lora_a is [in, rank], lora_b is [rank, out]; the base is [in, out]
        fits = t.shape[0] == target[0] if suffix == ".lora_a" else t.shape[1] == target[1]
        if not fits:
            raise bad(f"the tensor {t.name[:80]!r} has the shape {t.shape}, the base {target}")
        rank = t.shape[1] if suffix == ".lora_a" else t.shape[0]
        ranks.setdefault(stem, {})[suffix] = rank
    if not ranks:
        raise bad("it holds no tensors")
    for stem, pair in ranks.items():
        if len(pair) != 2 or pair[".lora_a"] != pair[".lora_b"]:
            raise bad(f"{stem[:80]!r} lacks a lora_a/lora_b pair of one rank")
    # NaN or infinite weights or scale load and answer nothing, without an error
    alpha = adapter.get("adapter.lora.alpha")
    if alpha is not None and not (_is_number(alpha) and abs(alpha) <= MAX_ALPHA):
        raise bad(f"its adapter.lora.alpha {str(alpha)[:40]} is not a number up to {MAX_ALPHA:g}")
    for t in adapter.tensors:
        if not _all_finite(source, adapter.data_offset + t.offset, t):
            raise bad(f"the tensor {t.name[:80]!r} holds NaN or infinite values")
    return adapter


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _all_finite(path: Path, offset: int, t: TensorInfo) -> bool:
    """Float tensors read in chunks (adapters are megabytes); quantized ones are not checked."""
    import numpy as np

    kind = FLOAT_TYPES.get(t.ggml_type)
    if kind is None:
        return True
    data = np.memmap(path, dtype=kind, mode="r", offset=offset, shape=(t.n_elements,))
    for start in range(0, t.n_elements, CHUNK):
        part = data[start : start + CHUNK]
        if kind == "<u2":  # bfloat16: all exponent bits set is an infinity or a NaN
            if ((part & 0x7F80) == 0x7F80).any():
                return False
        elif not np.isfinite(part).all():
            return False
    return True
