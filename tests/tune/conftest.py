"""One real fine-tune of SmolLM2 on the demo task's training split, shared by the module's
quality and faithfulness tests (training is the slow part: minutes on two busy cores)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from openscout.config import Settings

BASE = "smollm2-135m-instruct"
TUNED = "smollm2-city-json"
# As `make demo-tune` but half the steps: enough for the format, few enough for the suite
STEPS = 12


@dataclass(frozen=True)
class Tuned:
    home: Path
    result: dict[str, object]

    def settings(self) -> Settings:
        return Settings(home=self.home)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tuned(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Iterator[Tuned]:
    pytest.importorskip("peft")  # the `tune` extra; scripts/setup-test.sh installs it
    from openscout.evals.tasks.cityjson import train_examples
    from openscout.tune.run import TuneRequest, tune

    home = tmp_path_factory.mktemp("tune-home")
    data = write_jsonl(home / "city-train.jsonl", train_examples(0, 160))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENSCOUT_HOME", str(home))
        mp.setenv("OPENSCOUT_MODELS_DIR", str(shared_models_dir))
        result = tune(
            Settings(home=home),
            TuneRequest(
                base=BASE,
                data=str(data),
                name=TUNED,
                steps=STEPS,
                batch=8,
                holdout=0.1,
                eval_every=4,
                save_every=4,
            ),
        )
    yield Tuned(home, result.to_dict())
