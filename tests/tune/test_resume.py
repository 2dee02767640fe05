"""A tuning run killed (SIGKILL) after a checkpoint resumes to the adapter an uninterrupted
run with the same seed makes; the steps it logged are rewritten, none lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from openscout.config import Settings
from tests.tune.conftest import BASE, write_jsonl

pytestmark = [pytest.mark.real_model, pytest.mark.slow, pytest.mark.timeout(1500)]
STEPS, SAVE_EVERY = 4, 2
ARGS = ["--steps", str(STEPS), "--batch", "2", "--save-every", str(SAVE_EVERY), "--seed", "3",
        "--eval-every", "3", "--holdout", "0.2", "--rank", "4"]  # fmt: skip


def adapter_tensors(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_killed_run_resumes_to_the_same_adapter(
    tmp_path: Path, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("peft")  # the `tune` extra; scripts/setup-test.sh installs it
    from openscout.evals.tasks.cityjson import train_examples
    from openscout.tune import log
    from openscout.tune.run import TuneRequest, run_dir, tune
    from openscout.tune.train import CHECKPOINT, read_checkpoint_meta

    data = write_jsonl(tmp_path / "train.jsonl", train_examples(1, 20))
    # one thread in every run: the same float summation order, killed, resumed or not
    monkeypatch.setenv("OPENSCOUT_THREADS", "1")
    cli_env = {**cli_env, "OPENSCOUT_THREADS": "1"}
    settings = Settings()
    cmd = [sys.executable, "-m", "openscout.cli.main", "tune", BASE, "--data", str(data)]
    ckpt = run_dir(settings, "killed") / CHECKPOINT
    err = tmp_path / "stderr.txt"
    with err.open("wb") as err_file:
        proc = subprocess.Popen(
            [*cmd, "--name", "killed", *ARGS],
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            meta = read_checkpoint_meta(ckpt) if ckpt.exists() else None
            if meta is not None and meta["step"] >= SAVE_EVERY:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before the kill: " + err.read_text()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = read_checkpoint_meta(ckpt)
    assert killed_at is not None and SAVE_EVERY <= killed_at["step"] < STEPS
    # the libraries' deprecation warnings named the install path (32nd probe, low)
    assert "Warning:" not in err.read_text(), err.read_text()[-2000:]

    def request(name: str) -> TuneRequest:
        return TuneRequest(
            base=BASE, data=str(data), name=name, seed=3, steps=STEPS, batch=2,
            save_every=SAVE_EVERY, eval_every=3, holdout=0.2, rank=4,
        )  # fmt: skip

    resumed = tune(settings, request("killed"))  # finds the checkpoint by itself
    assert resumed.resumed_from == killed_at["step"]
    straight = tune(settings, request("straight"))
    assert straight.resumed_from == 0

    a = adapter_tensors(Path(resumed.peft_adapter))
    b = adapter_tensors(Path(straight.peft_adapter))
    assert a.keys() == b.keys() and len(a) == 2 * 30 * 2  # A and B, q and v, 30 layers
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    moved = max(float(np.abs(a[k]).max()) for k in a if "lora_B" in k)
    print(f"\nresumed after step {killed_at['step']}: largest difference {worst:.2e}")
    assert moved > 1e-3  # the adapter trained (B starts at zero)
    assert worst < 1e-5

    logged = log.steps(settings, resumed.run_id)
    assert [s.step for s in logged] == list(range(1, STEPS + 1))
    straight_log = log.steps(settings, straight.run_id)
    assert np.allclose(
        [s.train_loss for s in logged], [s.train_loss for s in straight_log], atol=1e-4
    )
    assert not ckpt.exists()  # removed once the model was registered


def test_a_run_killed_after_registering_is_finished_by_the_same_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between registering the model and removing the checkpoint left the model
    registered: the same command then answered "a model 't5' is already registered" (34th
    probe, low). The registered model is recognisably this run's own: the run finishes."""
    pytest.importorskip("peft")
    from openscout.evals.tasks.cityjson import train_examples
    from openscout.tune import register
    from openscout.tune.run import TuneRequest, run_dir, tune
    from openscout.tune.train import CHECKPOINT

    data = write_jsonl(tmp_path / "train.jsonl", train_examples(1, 8))
    settings = Settings()
    req = TuneRequest(
        base=BASE, data=str(data), name="t5", steps=2, batch=2, save_every=1, rank=4, holdout=0.0
    )

    def killed(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # the moment after add_model

    with monkeypatch.context() as m:
        m.setattr(register, "write_catalog_entry", killed)
        with pytest.raises(KeyboardInterrupt):
            tune(settings, req)
    assert (run_dir(settings, "t5") / CHECKPOINT).is_file()
    done = tune(settings, req)  # the same command, no --replace
    assert done.resumed_from == 1
    assert not (run_dir(settings, "t5") / CHECKPOINT).exists()
    assert register.catalog_path(settings, "t5").is_file()
