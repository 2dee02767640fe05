"""Bad input stops `openscout tune` early with a clear message, and loses nothing."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openscout.catalog.fit import MachineMemory
from openscout.config import Settings
from openscout.engines.spec import ModelSpec
from openscout.errors import ConfigError, DataFileError, TuneError
from openscout.models import add_model
from openscout.tune.run import TuneRequest, tune
from tests.gguf_factory import copy_with_metadata, gguf_bytes
from tests.tune.conftest import BASE, write_jsonl

SRC = Path(__file__).resolve().parents[2] / "src" / "openscout"
PAIR = {"prompt": "Say hi.", "completion": "hi"}


def test_malformed_jsonl_names_file_and_line(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps(PAIR) + "\n" + json.dumps(PAIR) + "\n{oops\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "tune", BASE, "--data", str(data),
         "--name", "mine"],
        env=cli_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert f"{data}:3" in out.stderr and "not JSON" in out.stderr
    assert "Traceback" not in out.stderr


def test_example_longer_than_the_context(
    settings: Settings, tmp_path: Path, smollm2_path: Path
) -> None:
    add_model(settings, ModelSpec(id="short", engine="llamacpp", path=str(smollm2_path), n_ctx=128))
    long = {"prompt": "word " * 300, "completion": "ok"}
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR, PAIR, long, PAIR])
    with pytest.raises(DataFileError) as e:
        tune(settings, TuneRequest(base="short", data=str(data), name="t", holdout=0.0))
    assert e.value.line == 3 and "context holds 128" in e.value.message
    assert not (settings.home / "tune" / "t").exists()  # nothing started, nothing left


def test_base_without_float_weights(settings: Settings, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    add_model(settings, ModelSpec(id="remote", engine="openai", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(TuneError, match="no float weights available for 'remote'"):
        tune(settings, TuneRequest(base="remote", data=str(data), name="t"))
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(
        gguf_bytes(
            {
                "general.architecture": "openscout-test-arch",
                "openscout-test-arch.block_count": 1,
                "tokenizer.ggml.model": "gpt2",
            },
            [("token_embd.weight", (8, 16), 0)],
        )
    )
    # a local GGUF whose architecture transformers cannot read as float: refused by name
    from openscout.tune.base import supported

    with pytest.raises(TuneError, match=r"no float weights available for odd\.gguf"):
        supported(odd)


def test_not_enough_memory_says_how_much(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openscout.tune import memory

    monkeypatch.setattr(memory, "machine_memory", lambda: MachineMemory(2 * 2**30, 300 * 2**20, []))
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 8)
    with pytest.raises(TuneError) as e:
        tune(settings, TuneRequest(base=BASE, data=str(data), name="t"))
    msg = e.value.message
    for part in ("not enough memory", "weights", "adapter", "optimizer", "activations", "free"):
        assert part in msg
    est = memory.estimate(_smollm2(), 8, ("q_proj", "v_proj"), 8, 80)
    # SmolLM2-135M: 30 layers of q (576x576) and v (576x192), rank 8
    assert est.trainable_params == 30 * 8 * ((576 + 576) + (576 + 192))
    assert est.weights > 135e6 * 4


def _smollm2() -> Path:
    from openscout.engines.bundled import smollm2_path

    return smollm2_path()


def test_name_taken_fails_before_any_work(settings: Settings, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    with pytest.raises(ConfigError, match="already registered"):
        tune(settings, TuneRequest(base=BASE, data=str(data), name="gemma-3-270m"))


def test_a_bad_name_fails_before_its_folder_is_made(settings: Settings, tmp_path: Path) -> None:
    """`--name a/../../b` was refused only after `tune/a_.._.._b` was made (twelfth probe)."""
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    with pytest.raises(ConfigError, match="not allowed"):
        tune(settings, TuneRequest(base=BASE, data=str(data), name="a/../../b"))
    assert not (settings.home / "tune").exists() or not any((settings.home / "tune").iterdir())


def test_without_the_extra_the_cli_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from openscout.tune.run import require_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "peft" else real(n, *a)
    )
    with pytest.raises(ConfigError) as e:
        require_extra()
    assert "peft" in e.value.message and "openscout[tune]" in (e.value.hint or "")


def test_core_stays_torch_free() -> None:
    """No module outside tune/ imports torch, transformers or peft at its top level, and the
    CLI starts without importing them."""
    heavy = {"torch", "transformers", "peft"}
    for path in SRC.rglob("*.py"):
        if "tune" in path.relative_to(SRC).parts[:1]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & heavy, path
    code = "import sys, openscout.cli.main; print(sorted({'torch','transformers','peft'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("target", ["q_prj", "nonexistent", "model", "lm_head", ".*"])
def test_a_target_openscout_cannot_adapt_fails_before_any_work(
    settings: Settings, tmp_path: Path, target: str
) -> None:
    """A typo was PEFT's "unexpected error ... please report it" after the base loaded, and
    `lm_head` trained, then could not be converted (twenty-seventh probe)."""
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    req = TuneRequest(base=BASE, data=str(data), name="t", targets=("q_proj", target))
    with pytest.raises(ConfigError, match=rf"--target '{re.escape(target)}' is not a module"):
        tune(settings, req)
    assert not (settings.home / "tune" / "t").exists()


def test_a_base_transformers_cannot_read_is_a_tune_error(
    tmp_path: Path, smollm2_path: Path
) -> None:
    """llama.cpp reads a per-layer array for feed_forward_length; transformers raised a
    TypeError subclass of its own, reported as "unexpected error" (twenty-seventh probe)."""
    pytest.importorskip("transformers")
    from openscout.tune.base import load_float

    odd = copy_with_metadata(
        smollm2_path, tmp_path / "ffarr.gguf", {"llama.feed_forward_length": [1536] * 30}
    )
    with pytest.raises(TuneError, match=r"no float weights available for ffarr\.gguf"):
        load_float(odd, tmp_path / "cache", "0" * 64)


def _under_ulimit_v(kb: int, args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """A command under `ulimit -v`: how a container or a cautious user runs it."""
    import resource

    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        resource.setrlimit(resource.RLIMIT_AS, (kb * 1024, hard))

    return subprocess.run(args, capture_output=True, text=True, timeout=300, preexec_fn=limit, **kw)


def test_torch_running_out_of_memory_is_recognised() -> None:
    """torch says it with a RuntimeError, which the CLI reported as "unexpected error ...
    please report it" (twenty-seventh probe): this keeps its wording known."""
    pytest.importorskip("torch")
    script = (
        "import torch\nfrom openscout.errors import is_out_of_memory\n"
        "try:\n    torch.empty(2**33, dtype=torch.uint8)\n"
        "except Exception as e:\n    print(type(e).__name__, is_out_of_memory(e))\n"
    )
    out = _under_ulimit_v(3_000_000, [sys.executable, "-c", script])
    assert out.stdout.split() == ["RuntimeError", "True"], out.stdout + out.stderr


def test_the_memory_check_counts_the_address_space_limit(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """Under `ulimit -v` the check compared with free memory alone, and torch failed to
    allocate after loading (twenty-seventh probe): now it refuses before any work."""
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 8)
    args = ["tune", BASE, "--data", str(data), "--name", "t", "--batch", "4", "--rank", "8"]
    out = _under_ulimit_v(
        1_500_000, [sys.executable, "-m", "openscout.cli.main", *args], env=cli_env
    )
    assert out.returncode == 2, out.stderr
    assert "not enough memory" in out.stderr and "address-space limit (ulimit -v)" in out.stderr


# What the libraries raise when an allocation fails while transformers dequantizes: Python's
# own MemoryError, and torch's RuntimeError in its own words.
_ALLOCATION_FAILURES = [
    MemoryError(),
    RuntimeError(
        "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 117964800 bytes. Error code 12 (Cannot allocate memory)"
    ),
]


@pytest.mark.parametrize("failure", _ALLOCATION_FAILURES, ids=["MemoryError", "torch"])
def test_running_out_of_memory_while_dequantizing_is_not_blamed_on_the_file(
    tmp_path: Path, smollm2_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """A MemoryError inside transformers was "no float weights available ... could not
    dequantize it": the file was fine, the memory short. The failure is raised where the
    real one was: a real run under `ulimit -v` fails at a different allocation on each
    machine, and on CI's inside C code that crashed without a word. (A crafted file that
    fails there is still the file's: test_a_base_transformers_cannot_read_is_a_tune_error.)"""
    transformers = pytest.importorskip("transformers")
    from openscout.tune.base import load_float

    def out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", out_of_memory)
    with pytest.raises(type(failure)) as raised:
        load_float(smollm2_path, tmp_path / "cache", "0" * 64)
    assert raised.value is failure


@pytest.mark.parametrize("damage", ["cut short", "step not a number"])
def test_a_damaged_checkpoint_is_named_and_restart_discards_it(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """A checkpoint of random bytes, or one whose step reads "abc", was "unexpected error ...
    please report it", with --restart too: the documented way to discard it could not (30th
    probe, medium)."""
    pytest.importorskip("peft")
    from safetensors.numpy import save_file

    from openscout.tune import names, run
    from openscout.tune.train import CHECKPOINT

    folder = run.run_dir(settings, "t9")
    names.claim_folder(folder, "t9")
    ckpt = folder / CHECKPOINT
    if damage == "cut short":
        ckpt.write_bytes(b"\xff" * 100)
    else:
        save_file({"x": np.zeros(1)}, str(ckpt), metadata={"step": "abc", "meta": "{}"})
    data = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "Say hi.", "completion": "hi"}] * 4)
    request = TuneRequest(base=BASE, data=str(data), name="t9", steps=1)
    with pytest.raises(TuneError, match=f"the checkpoint {re.escape(str(ckpt))} is damaged"):
        tune(settings, request)

    class Trained(Exception):
        pass

    def train(*args: Any, **kwargs: Any) -> None:
        raise Trained  # the checkpoint stage is behind: no need to train for real

    monkeypatch.setattr(run, "_train", train)
    request.resume = False  # --restart
    with pytest.raises(Trained):
        tune(settings, request)
    assert not ckpt.exists()


def test_a_float_cache_that_does_not_fit_costs_nothing_but_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """safetensors says a full disk with its own SafetensorError, not an OSError: the whole
    fine-tune stopped with "unexpected error", leaving its temporary folder (34th probe)."""
    pytest.importorskip("safetensors")
    import safetensors.torch
    from safetensors import SafetensorError

    from openscout.tune import base

    class Config:
        def to_json_file(self, path: str) -> None:
            Path(path).write_text("{}")

    class Model:
        config = Config()

    def full(model: object, path: str) -> None:
        raise SafetensorError("Error while serializing: I/O error: No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_model", full)
    # and what a killed run was writing goes too (each kill left up to 415 MB for good)
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    killed = tmp_path / "float" / f".cd.tmp{gone}"
    killed.mkdir(parents=True)
    (killed / "model.safetensors").write_bytes(b"\0" * 1000)
    base._to_cache(Model(), tmp_path / "float", "ab" * 32)
    assert list((tmp_path / "float").iterdir()) == []  # no cache, no temporary folder


def test_an_adapter_that_cannot_be_written_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while writing the GGUF adapter left `NAME.lora.gguf.tmpPID` for good, even
    after the same command later finished (35th probe, low)."""
    import errno

    import numpy as np

    gguf = pytest.importorskip("gguf")
    from openscout.tune.convert import write_adapter

    def full(self) -> None:  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", full)
    tensors = {"blk.0.attn_q.weight.lora_a": np.zeros((4, 8), dtype=np.float32)}
    with pytest.raises(OSError):
        write_adapter(tmp_path / "t.lora.gguf", tensors, "llama", 8.0)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_said_in_words_by_numpy_or_safetensors_is_a_full_disk() -> None:
    """`tune` on a full disk said "the system refused: 4608 requested and 1480 written"
    (numpy's short write, no errno) or "unexpected error: SafetensorError ... No space left on
    device" (36th probe, low): both are a full disk, said as one."""
    import errno

    import numpy as np

    from openscout.errors import is_out_of_disk

    with open("/dev/full", "wb") as full, pytest.raises(OSError) as short:
        np.zeros(1 << 16, dtype=np.float32).tofile(full)
    assert short.value.errno is None and is_out_of_disk(short.value), short.value
    # safetensors passes the system's words on in its own exception (written here, not
    # provoked: its save_file renames over the path, and over /dev/full too)
    safetensors = pytest.importorskip("safetensors")
    said = "Error while serializing: I/O error: No space left on device (os error 28)"
    assert is_out_of_disk(safetensors.SafetensorError(said))
    assert not is_out_of_disk(OSError(errno.EACCES, "Permission denied"))
    assert not is_out_of_disk(ValueError("the disk holds 3 files"))
