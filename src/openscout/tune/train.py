"""The LoRA training loop (torch + PEFT), with checkpoints a killed run resumes from.

Everything a step depends on is either in the checkpoint or a function of (seed, step):
- the batch of step s is a slice of epoch s // steps_per_epoch's order, a shuffle seeded with
  (seed, epoch); the learning rate is a function of s (linear warm-up, then linear decay);
- the checkpoint holds the adapter's tensors, AdamW's moments and step counts, torch's RNG
  state and the step, in one safetensors file written to a temporary name and renamed, so a
  kill at any moment leaves the previous checkpoint whole.
So a run killed after a checkpoint and resumed ends with the adapter an uninterrupted run
with the same seed ends with (up to float rounding). Nothing is unpickled: the checkpoint is
tensors plus JSON metadata.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openscout.errors import TuneError, is_out_of_memory
from openscout.tune.log import StepLog
from openscout.tune.prepare import IGNORE, Encoded

CHECKPOINT = "checkpoint.safetensors"


@dataclass(frozen=True)
class Hyper:
    seed: int
    steps: int
    batch: int
    rank: int
    alpha: float
    lr: float
    targets: tuple[str, ...]
    warmup: int
    save_every: int
    eval_every: int


def lr_at(h: Hyper, step: int) -> float:
    """Learning rate for 0-based step `step`: linear warm-up, then linear decay to a tenth."""
    if step < h.warmup:
        return h.lr * (step + 1) / h.warmup
    left = (h.steps - step) / max(1, h.steps - h.warmup)
    return h.lr * (0.1 + 0.9 * left)


def batch_at(h: Hyper, n_train: int, step: int) -> list[int]:
    """Indices of the training examples in 0-based step `step`'s batch."""
    per_epoch = max(1, math.ceil(n_train / h.batch))
    epoch, j = divmod(step, per_epoch)
    order = list(range(n_train))
    random.Random(f"openscout-tune-order:{h.seed}:{epoch}").shuffle(order)
    return order[j * h.batch : (j + 1) * h.batch]


def collate(rows: list[Encoded], device: Any) -> dict[str, Any]:
    import torch

    width = max(len(r.input_ids) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r.input_ids)
        ids[i, :n] = torch.tensor(r.input_ids)
        mask[i, :n] = 1
        labels[i, :n] = torch.tensor(r.labels)
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "labels": labels.to(device),
    }


def batch_loss(model: Any, rows: list[Encoded], device: Any) -> tuple[Any, int]:
    """(summed token loss over the answers, answer tokens): the mean is taken by the caller.
    The vocabulary projection runs only where an answer token is predicted: on a short answer
    after a long prompt that is most of the work and memory saved."""
    import torch

    b = collate(rows, device)
    inner = model.get_base_model()  # the transformers model, LoRA layers inside
    hidden = inner.model(
        input_ids=b["input_ids"], attention_mask=b["attention_mask"]
    ).last_hidden_state
    labels = b["labels"][:, 1:]
    where = labels != IGNORE
    logits = inner.lm_head(hidden[:, :-1][where]).float()
    loss = torch.nn.functional.cross_entropy(logits, labels[where], reduction="sum")
    return loss, int(where.sum())


def heldout_loss(model: Any, rows: list[Encoded], batch: int, device: Any) -> float | None:
    import torch

    if not rows:
        return None
    total, n = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            loss, k = batch_loss(model, rows[i : i + batch], device)
            total, n = total + float(loss), n + k
    model.train()
    return total / max(1, n)


def device_here() -> Any:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def with_lora(model: Any, h: Hyper) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(h.seed)  # the adapter's initial A matrices
    config = LoraConfig(
        r=h.rank,
        lora_alpha=h.alpha,
        target_modules=list(h.targets),
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def trainable(model: Any) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(path: Path, model: Any, opt: Any, step: int, meta: dict[str, Any]) -> None:
    """Adapter, AdamW moments, torch RNG and step in one file, renamed into place."""
    import torch
    from safetensors.torch import save_file

    params = trainable(model)
    names = list(params)
    tensors: dict[str, Any] = {
        f"param/{n}": p.detach().cpu().contiguous() for n, p in params.items()
    }
    steps: dict[str, float] = {}
    for n, p in params.items():
        st = opt.state.get(p)
        if st:
            tensors[f"exp_avg/{n}"] = st["exp_avg"].detach().cpu().contiguous()
            tensors[f"exp_avg_sq/{n}"] = st["exp_avg_sq"].detach().cpu().contiguous()
            steps[n] = float(st["step"])
    tensors["rng/torch"] = torch.get_rng_state()
    metadata = {
        "step": str(step),
        "names": json.dumps(names),
        "adam_steps": json.dumps(steps),
        "meta": json.dumps(meta),
    }
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    save_file(tensors, str(tmp), metadata=metadata)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_checkpoint_meta(path: Path) -> dict[str, Any] | None:
    """The checkpoint's step and metadata, without loading its tensors (None: none there)."""
    from safetensors import safe_open

    if not path.exists():
        return None
    with _damaged_is_clear(path):
        with safe_open(str(path), framework="pt") as f:
            md = f.metadata() or {}
        step, meta = int(md.get("step", "0")), json.loads(md.get("meta", "{}"))
        if step < 0 or not isinstance(meta, dict):
            raise ValueError(f"step {step}, metadata {type(meta).__name__}")
    return {"step": step, **meta}


@contextmanager
def _damaged_is_clear(path: Path) -> Iterator[None]:
    """A checkpoint that does not read (cut short, overwritten, from another model) is a
    TuneError naming it: it was "unexpected error ... please report it" (30th probe)."""
    from safetensors import SafetensorError

    try:
        yield
    except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError, OSError) as e:
        if is_out_of_memory(e):
            raise
        raise TuneError(
            f"the checkpoint {path} is damaged: {type(e).__name__}: {str(e)[:200]}",
            hint="pass --restart to discard it and train from the start",
        ) from e


def load_checkpoint(path: Path, model: Any, opt: Any) -> int:
    """Restore adapter, optimizer and RNG; returns the step the checkpoint was taken after."""
    import torch
    from safetensors import safe_open

    params = trainable(model)
    with _damaged_is_clear(path), safe_open(str(path), framework="pt") as f:
        md = f.metadata() or {}
        adam_steps = json.loads(md["adam_steps"])
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(f.get_tensor(f"param/{n}").to(p.device))
        for n, p in params.items():
            if n in adam_steps:
                opt.state[p] = {
                    "step": torch.tensor(adam_steps[n], dtype=torch.float32),
                    "exp_avg": f.get_tensor(f"exp_avg/{n}").to(p.device),
                    "exp_avg_sq": f.get_tensor(f"exp_avg_sq/{n}").to(p.device),
                }
        torch.set_rng_state(f.get_tensor("rng/torch"))
    return int(md["step"])


def run_training(
    model: Any,
    h: Hyper,
    train: list[Encoded],
    held: list[Encoded],
    checkpoint: Path,
    meta: dict[str, Any],
    on_step: Callable[[StepLog], None],
    resume: bool,
    fixed_threads: int | None = None,
) -> Any:
    """Train the PEFT model `model` for h.steps steps (from the checkpoint when `resume`).

    On CPU, torch gets the cores other processes leave free (engines/cpu_threads.py), checked
    before every step: its threads spin while they wait for each other, and with a busy
    neighbour on a 2-core machine two threads burnt 26 CPU seconds on a step that takes 3.7
    on one (batch 4 x 77 tokens, SmolLM2). `fixed_threads` (OPENSCOUT_THREADS) fixes it."""
    import torch

    from openscout.engines.cpu_threads import ThreadChooser

    device = device_here()
    model.to(device)
    model.train()
    params = list(trainable(model).values())
    opt = torch.optim.AdamW(params, lr=h.lr, weight_decay=0.0)
    start = load_checkpoint(checkpoint, model, opt) if resume else 0
    chooser = ThreadChooser(fixed_threads) if device.type == "cpu" else None
    for step in range(start, h.steps):
        if chooser is not None and chooser.threads() != torch.get_num_threads():
            torch.set_num_threads(chooser.threads())
        t0 = time.perf_counter()
        lr = lr_at(h, step)
        for g in opt.param_groups:
            g["lr"] = lr
        rows = [train[i] for i in batch_at(h, len(train), step)]
        loss_sum, n_tok = batch_loss(model, rows, device)
        loss = loss_sum / max(1, n_tok)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done = step + 1
        evaluate = held and (done % h.eval_every == 0 or done == h.steps)
        held_loss = heldout_loss(model, held, h.batch, device) if evaluate else None
        on_step(StepLog(done, float(loss.detach()), held_loss, lr, n_tok, time.perf_counter() - t0))
        if done % h.save_every == 0 and done < h.steps:  # after the log: a resume re-logs
            save_checkpoint(checkpoint, model, opt, done, meta)
    return model


def lora_state(model: Any) -> dict[str, Any]:
    """The adapter's tensors by PEFT name, as numpy float32 arrays."""
    from peft import get_peft_model_state_dict

    return {
        k: v.detach().cpu().float().numpy() for k, v in get_peft_model_state_dict(model).items()
    }
