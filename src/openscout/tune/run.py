"""`openscout tune`'s core: examples in, a registered, runnable fine-tune out.

1. read and check everything cheap first (the name is free, the base has a local GGUF that
   transformers can read as float, every JSONL line parses, every example fits the context,
   the estimated training memory fits), so a bad input fails before minutes of work;
2. load the base as float (float cache), add a LoRA adapter (PEFT), train with checkpoints,
   logging training and held-out loss per step in the store; a checkpoint left by a killed
   run with the same settings is resumed (`resume=None`: when there is one);
3. save the PEFT adapter, convert it to a GGUF adapter, register the model and write its
   catalog entry. The checkpoint is removed only once all of that is done.
Returns a TuneResult (plain data; the CLI prints it or its JSON).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openscout.config import Settings
from openscout.errors import ConfigError, OpenscoutError, TuneError
from openscout.filelock import one_writer
from openscout.tune import log
from openscout.tune.data import read_jsonl, split, split_note
from openscout.tune.log import StepLog
from openscout.tune.names import check_catalog_file, claim_folder, stem

FORMAT_VERSION = 2  # of checkpoints, of the way examples become tokens and of the split
DEFAULT_TARGETS = ("q_proj", "v_proj")


@dataclass
class TuneRequest:
    base: str
    data: str
    name: str
    seed: int = 0
    steps: int | None = None  # default: `epochs` passes over the training split
    epochs: float = 1.0
    rank: int = 8
    alpha: float | None = None  # default: 2 x rank
    lr: float = 1e-3
    batch: int = 8
    holdout: float = 0.1
    save_every: int = 10
    eval_every: int = 1
    targets: tuple[str, ...] = DEFAULT_TARGETS
    resume: bool | None = None  # None: resume a matching checkpoint when there is one
    replace: bool = False  # overwrite a registered model of that name


@dataclass
class TuneResult:
    name: str
    base: str
    run_id: str
    data_path: str
    n_train: int
    n_heldout: int
    steps: int
    resumed_from: int
    seconds: float
    seconds_per_step: float | None
    first_train_loss: float | None
    last_train_loss: float | None
    first_heldout_loss: float | None
    last_heldout_loss: float | None
    adapter_gguf: str
    peft_adapter: str
    catalog_id: str | None
    catalog_file: str | None
    memory_estimate: dict[str, Any]
    device: str
    log: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[str, StepLog | None, int], None]  # (phase, step log, total steps)


def run_dir(settings: Settings, name: str) -> Path:
    return settings.home / "tune" / stem(name)


def name_lock(settings: Settings, name: str) -> Path:
    folder = run_dir(settings, name)
    return folder.parent / f"{folder.name}.lock"  # beside the folder: `rm -r` of it keeps it


def _fingerprint(base_digest: str, data_sha: str, hyper: dict[str, Any]) -> str:
    blob = json.dumps(
        {"v": FORMAT_VERSION, "base": base_digest, "data": data_sha, "hyper": hyper},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def require_extra() -> None:
    """torch, transformers and peft are the `tune` extra; say how to get them."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"fine-tuning needs {', '.join(missing)}, which are not installed",
            hint="pip install 'openscout[tune]' (CPU torch: pip install torch "
            "--index-url https://download.pytorch.org/whl/cpu first)",
        )


def check_targets(targets: Sequence[str]) -> None:
    """Only projections openscout can write into a GGUF adapter: a name the base lacks (a typo)
    was PEFT's "unexpected error" after the model loaded (twenty-seventh probe), and
    `lm_head` trained, then could not be converted."""
    from openscout.tune.convert import ADAPTABLE

    wrong = [t for t in targets if t not in ADAPTABLE] or ([] if targets else ["(none)"])
    if wrong:
        raise ConfigError(
            f"--target {wrong[0]!r} is not a module openscout can adapt",
            hint="choose among " + ", ".join(ADAPTABLE),
        )


def tune(settings: Settings, req: TuneRequest, progress: Progress | None = None) -> TuneResult:
    from openscout.models import check_id

    t_start = time.perf_counter()
    say = progress or (lambda phase, s, total: None)
    require_extra()
    if req.rank < 1 or req.batch < 1 or req.lr <= 0 or req.save_every < 1 or req.eval_every < 1:
        raise ConfigError(
            "--rank, --batch, --save-every and --eval-every must be at least 1 and --lr positive"
        )
    check_targets(req.targets)
    check_id(req.name)  # before its folder is made (`a/../../b` made one; twelfth probe)
    busy = TuneError(
        f"another `openscout tune` is making {req.name!r} now",
        hint="wait for it to end, or choose another --name",
    )
    # the name is this run's from the check below to its registration: two runs of one
    # name shared a folder and checkpoint, and the later one's model silently replaced the
    # earlier one's (30th probe)
    with one_writer(name_lock(settings, req.name), busy), ExitStack() as pins:
        return _tune_named(settings, req, say, t_start, pins)


def _tune_named(
    settings: Settings, req: TuneRequest, say: Progress, t_start: float, pins: ExitStack
) -> TuneResult:
    from openscout.engines.kinds import kind_of
    from openscout.models import get_model, list_models

    base = get_model(settings, req.base)
    if req.name == base.id or (
        any(m.id == req.name for m in list_models(settings))
        and not req.replace
        and not _own_unfinished(settings, req.name)
    ):
        raise ConfigError(
            f"a model {req.name!r} is already registered",
            hint="choose another --name or pass --replace",
        )
    from openscout.tune.register import catalog_path

    check_catalog_file(catalog_path(settings, req.name), req.name)  # not after the training
    kind = kind_of(base)
    base_file = kind.local_file(base, settings) if kind.runs_here else None
    if base_file is None or base.lora:
        raise TuneError(
            f"no float weights available for {base.id!r}: it is not a local GGUF model"
            + (" (it is itself an adapter)" if base.lora else ""),
            hint="tune a local GGUF base, e.g. smollm2-135m-instruct",
        )
    dataset = read_jsonl(req.data)
    train_ex, held_ex = split(dataset.examples, req.holdout, req.seed)
    split_notes = split_note(req.holdout, held_ex)
    if not train_ex:
        raise ConfigError(
            "no training examples are left after the held-out split", hint="lower --holdout"
        )

    from openscout.engines.llamacpp import LlamaCppEngine
    from openscout.tune.prepare import encode

    say("tokenizing", None, 0)
    engine = LlamaCppEngine(base.id, base_file, n_ctx=base.n_ctx, prompt_format=base.prompt_format)
    total = len(train_ex) + len(held_ex)

    def tokenized(before: int) -> Callable[[int], None]:
        return lambda n: say(f"tokenizing: {before + n:,} of {total:,} examples", None, 0)

    try:
        train = encode(engine, train_ex, base.prompt_format, base.n_ctx, dataset.path, tokenized(0))
        held = encode(
            engine, held_ex, base.prompt_format, base.n_ctx, dataset.path, tokenized(len(train))
        )
    finally:
        engine.close()

    from openscout.tune import memory
    from openscout.tune.train import Hyper

    steps = req.steps or max(1, math.ceil(req.epochs * math.ceil(len(train) / req.batch)))
    alpha = float(req.alpha if req.alpha is not None else 2 * req.rank)
    h = Hyper(
        seed=req.seed,
        steps=steps,
        batch=req.batch,
        rank=req.rank,
        alpha=alpha,
        lr=req.lr,
        targets=tuple(req.targets),
        warmup=min(10, max(1, steps // 10)),
        save_every=req.save_every,
        eval_every=req.eval_every,
    )
    longest = max(len(e.input_ids) for e in train + held)
    mem = memory.estimate(base_file, h.rank, h.targets, min(h.batch, len(train)), longest)
    memory.check(mem)
    from openscout.engines.pinned import PinnedFile
    from openscout.tune.base import supported

    supported(base_file)  # imports transformers: after the quick checks
    # hashed and read through one descriptor: a file swapped between the two put other
    # weights in the float cache under this file's digest (31st probe)
    pinned = pins.enter_context(PinnedFile(base_file))
    digest = pinned.sha256()
    hyper = {k: v for k, v in asdict(h).items() if k not in ("save_every", "eval_every")}
    hyper["holdout"] = req.holdout
    fp = _fingerprint(digest, dataset.sha256, hyper)
    folder = run_dir(settings, req.name)
    claim_folder(folder, req.name)  # another id's folder is never reused
    from openscout.tune.train import CHECKPOINT, read_checkpoint_meta

    ckpt = folder / CHECKPOINT
    if req.resume is False:  # --restart: discarded unread, so a damaged one goes too
        ckpt.unlink(missing_ok=True)
    found = read_checkpoint_meta(ckpt)
    if found is not None and found.get("fingerprint") != fp:
        if req.resume:
            raise TuneError(
                f"the checkpoint of {req.name!r} was made with other data or settings",
                hint="run with the same settings, or pass --restart to discard it",
            )
        if req.resume is None:
            raise TuneError(
                f"a checkpoint of {req.name!r} from a run with other data or settings is in {folder}",
                hint="pass --restart to discard it (or use another --name)",
            )
        found = None
    if req.resume and found is None:
        raise TuneError(
            f"there is no checkpoint of {req.name!r} to resume", hint="run without --resume"
        )
    resume_step = int(found["step"]) if found else 0
    run_id = log.start_run(
        settings,
        run_id=found.get("run_id") if found else None,
        name=req.name,
        base=base.id,
        data_path=dataset.path,
        data_sha256=dataset.sha256,
        fingerprint=fp,
        config={**hyper, "save_every": h.save_every, "eval_every": h.eval_every},
    )
    if found:
        log.forget_after(settings, run_id, resume_step)
    try:
        model = _train(settings, h, pinned, digest, train, held, ckpt, fp, run_id, resume_step, say)
        say("converting", None, steps)
        result = _finish(
            settings, req, base, base_file, model, h, dataset, train, held, run_id, mem
        )
    except BaseException as e:
        log.finish_run(settings, run_id, "failed", {"error": f"{e.__class__.__name__}: {e}"[:500]})
        raise
    ckpt.unlink(missing_ok=True)
    steps_logged = log.steps(settings, run_id)
    new = [s for s in steps_logged if s.step > resume_step]
    held_losses = [s.heldout_loss for s in steps_logged if s.heldout_loss is not None]
    from openscout.tune.train import device_here

    out = TuneResult(
        name=req.name,
        base=base.id,
        run_id=run_id,
        data_path=dataset.path,
        n_train=len(train),
        n_heldout=len(held),
        steps=steps,
        resumed_from=resume_step,
        seconds=round(time.perf_counter() - t_start, 2),
        seconds_per_step=round(sum(s.seconds for s in new) / len(new), 3) if new else None,
        first_train_loss=steps_logged[0].train_loss if steps_logged else None,
        last_train_loss=steps_logged[-1].train_loss if steps_logged else None,
        first_heldout_loss=held_losses[0] if held_losses else None,
        last_heldout_loss=held_losses[-1] if held_losses else None,
        memory_estimate=mem.to_dict(),
        device=str(device_here()),
        log=[s.to_dict() for s in steps_logged],
        **{**result, "notes": split_notes + result["notes"]},
    )
    log.finish_run(settings, run_id, "done", {k: v for k, v in out.to_dict().items() if k != "log"})
    return out


def _train(
    settings: Settings,
    h: Any,
    base: Any,  # the pinned base file
    digest: str,
    train: list[Any],
    held: list[Any],
    ckpt: Path,
    fp: str,
    run_id: str,
    resume_step: int,
    say: Progress,
) -> Any:
    from openscout.tune.base import load_float
    from openscout.tune.train import run_training, with_lora

    say("loading", None, h.steps)
    base_file = Path(base.opened)  # the very bytes hashed, whatever the name holds now
    floats = load_float(base_file, settings.models_dir / "float", digest, base.changed)
    model = with_lora(floats, h)

    def on_step(s: StepLog) -> None:
        log.log_step(settings, run_id, s)
        say("training", s, h.steps)

    meta = {"fingerprint": fp, "run_id": run_id}
    return run_training(
        model, h, train, held, ckpt, meta, on_step, resume_step > 0, settings.threads
    )


def _own_unfinished(settings: Settings, name: str) -> bool:
    """The model registered under `name` is this fine-tune's own, from a run killed after
    registering it and before removing its checkpoint: the same command finishes it (it
    answered "already registered": 34th probe)."""
    from openscout.models import list_models
    from openscout.tune.train import CHECKPOINT

    folder = run_dir(settings, name)
    spec = next((m for m in list_models(settings) if m.id == name), None)
    if spec is None or not spec.lora or not (folder / CHECKPOINT).is_file():
        return False
    return Path(spec.lora).resolve().parent == folder.resolve()


def _finish(
    settings: Settings,
    req: TuneRequest,
    base: Any,
    base_file: Path,
    model: Any,
    h: Any,
    dataset: Any,
    train: list[Any],
    held: list[Any],
    run_id: str,
    mem: Any,
) -> dict[str, Any]:
    from openscout.engines.gguf import read_header
    from openscout.models import add_model, list_models
    from openscout.tune import register
    from openscout.tune.convert import convert
    from openscout.tune.train import lora_state

    folder = run_dir(settings, req.name)
    peft_dir = folder / "adapter"
    if peft_dir.exists():
        shutil.rmtree(peft_dir)
    model.save_pretrained(str(peft_dir))
    gguf_path = convert(
        lora_state(model),
        base_file,
        folder / f"{folder.name}.lora.gguf",
        h.alpha,
        {"base_model": base.id, "run_id": run_id, "data_sha256": dataset.sha256},
    )
    info = {
        "data_path": dataset.path,
        "data_sha256": dataset.sha256,
        "run_id": run_id,
        "rank": h.rank,
        "targets": list(h.targets),
        "n_train": len(train),
        "n_heldout": len(held),
        "adapter_gguf": str(gguf_path),
        "params": read_header(base_file).parameter_count,
    }
    spec = register.model_spec(base, req.name, base_file, gguf_path, info)
    try:  # a model registered under the name while this one trained is not replaced unasked
        add_model(settings, spec, replace=req.replace or _own_unfinished(settings, req.name))
    except ConfigError as e:
        if req.name not in {m.id for m in list_models(settings)}:
            raise  # not the name taken: the entry itself was refused, said as it is
        raise TuneError(
            f"a model {req.name!r} was registered while this fine-tune trained; its adapter is"
            f" in {gguf_path} and not registered",
            hint="run again with --replace to put the fine-tune in that model's place, or"
            " with another --name",
        ) from e
    notes = []
    try:  # a catalog that does not load (a bad file of the user's) must not cost the model
        entry = register.catalog_entry(settings, base, req.name, info)
        catalog_file: str | None = str(register.write_catalog_entry(settings, entry, req.name))
        catalog_id: str | None = entry["id"]
    except OpenscoutError as e:
        catalog_file = catalog_id = None
        notes.append(f"not added to the catalog: {e.message}")
    return {
        "adapter_gguf": str(gguf_path),
        "peft_adapter": str(peft_dir),
        "catalog_id": catalog_id,
        "catalog_file": catalog_file,
        "notes": notes,
    }
