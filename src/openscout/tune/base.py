"""The base model's float weights for training, read from its GGUF (torch and transformers).

transformers reads a GGUF and dequantizes it to float; that takes a while on a small machine
(and the libraries' import longer still), so the float model is kept once under the models
dir (`float/<sha256 of the GGUF, 16 hex>/`, safetensors) and later runs load that instead.
A base that transformers cannot read as float (an unsupported architecture or tensor type, a
file that is not there) is refused with a TuneError saying so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openscout.errors import TuneError, is_out_of_memory
from openscout.pids import pid_alive


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(4 * 2**20), b""):
            h.update(block)
    return h.hexdigest()


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    if not os.environ.get("OPENSCOUT_VERBOSE"):
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        # their deprecation notes are for their callers' authors, and each printed the install
        # path and a temporary folder to the user (32nd probe, low)
        warnings.filterwarnings("ignore", module=r"(transformers|peft|torch)(\.|$)")


def supported(gguf_path: Path) -> None:
    """Refuse, before the slow load, a GGUF that transformers cannot turn into float weights."""
    from openscout.engines.gguf import read_header

    header = read_header(gguf_path)
    arch = header.architecture
    try:
        from transformers.integrations.ggml import GGUF_CONFIG_MAPPING
    except ImportError:  # a transformers without GGUF support at all
        GGUF_CONFIG_MAPPING = {}
    if arch not in GGUF_CONFIG_MAPPING:
        raise TuneError(
            f"no float weights available for {gguf_path.name}: transformers cannot read the "
            f"architecture {arch!r} from GGUF",
            hint="tune a base whose architecture transformers reads from GGUF "
            f"({', '.join(sorted(GGUF_CONFIG_MAPPING)[:12])}, ...)",
        )


def _from_cache(folder: Path) -> Any:
    import torch
    from safetensors.torch import load_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    load_model(model, str(folder / "model.safetensors"))
    return model


def _to_cache(model: Any, cache_root: Path, digest: str) -> None:
    from safetensors.torch import save_model

    cached = cache_root / digest[:16]
    tmp = cache_root / f".{digest[:16]}.tmp{os.getpid()}"
    _forget_dead_copies(cache_root)
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        # transformers will not save_pretrained a model read from GGUF; its float tensors
        # and config are all a later run needs
        model.config.to_json_file(str(tmp / "config.json"))
        save_model(model, str(tmp / "model.safetensors"))
        if cached.exists():
            shutil.rmtree(tmp, ignore_errors=True)  # another run made it meanwhile
        else:
            os.replace(tmp, cached)
    except Exception:  # a full disk only costs the next run the slow load; safetensors
        shutil.rmtree(tmp, ignore_errors=True)  # says it with its own error (34th probe)


def _forget_dead_copies(cache_root: Path) -> None:
    """Remove what a killed run was writing: its folder names its process, now gone (each
    kill left 105 to 415 MB that no later run removed: 34th probe)."""
    if not cache_root.is_dir():
        return
    for left in cache_root.glob(".*.tmp*"):
        pid = left.name.rpartition(".tmp")[2]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True)


def load_float(
    gguf_path: Path, cache_root: Path, digest: str, changed: Callable[[], bool] = lambda: False
) -> Any:
    """The base as a float32 transformers model (from the float cache when there is one).

    `digest` must be of the very bytes `gguf_path` names (a pinned file's /proc/self/fd/N):
    a file swapped between the digest and the load put other weights in the cache under the
    genuine file's digest, and every later fine-tune of it trained on them (31st probe).
    `changed` tells a file written in place meanwhile: then nothing is cached."""
    import torch
    from transformers import AutoModelForCausalLM

    _quiet_transformers()
    cached = cache_root / digest[:16]
    if (cached / "model.safetensors").exists():
        try:
            return _from_cache(cached)
        except (OSError, ValueError, RuntimeError):
            shutil.rmtree(cached, ignore_errors=True)  # damaged: rebuild it below
    supported(gguf_path)
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None and not os.environ.get("OPENSCOUT_VERBOSE"):
        # transformers' own dequantizing bar (tqdm, not its logging) would cut through ours
        gguf_utils.tqdm = lambda items, **kw: items
    try:
        # a folder holding the file alone: transformers reads what lies beside it, and an
        # adapter_config.json there made it load the base that file names, a folder or a Hub
        # repo, in its place (twenty-second probe); nothing is fetched from the Hub either
        with tempfile.TemporaryDirectory(prefix="openscout-base-") as alone:
            # absolute, not resolved: /proc/self/fd/N must stay the pinned descriptor
            (Path(alone) / "model.gguf").symlink_to(os.path.abspath(gguf_path))
            model = AutoModelForCausalLM.from_pretrained(
                alone, gguf_file="model.gguf", dtype=torch.float32, local_files_only=True
            )
    except Exception as e:  # a crafted file raises any kind: a per-layer array where an
        # int belongs was a TypeError subclass, "unexpected error" (twenty-seventh probe)
        if is_out_of_memory(e):  # the machine's bound, not the file's fault
            raise
        raise TuneError(
            f"no float weights available for {gguf_path.name}: transformers could not "
            f"dequantize it ({e.__class__.__name__}: {str(e)[:200]})",
            hint="tune a base in a quantization transformers reads (F32, F16, BF16, Q8_0, "
            "Q4_0, Q4_1, Q4_K, ...)",
        ) from e
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar
    if changed():
        raise TuneError(
            f"{gguf_path.name} changed while it was read: its weights are not what was hashed",
            hint="run again once nothing writes the file",
        )
    _to_cache(model, cache_root, digest)
    return model
