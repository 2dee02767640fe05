"""Write the multiple-choice task the evaluation-speed benchmarks share (issue 8).

Arithmetic questions with four numeric options, generated from a seed, in the JSONL shape
lm-evaluation-harness reads (question, choices, label), plus a train split whose first five
rows are the five-shot examples put before every test item. Both tools read these files.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent / "data"


def make_item(rng: random.Random) -> dict[str, object]:
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    op = rng.choice(["+", "-"])
    answer = a + b if op == "+" else a - b
    wrong: set[int] = set()
    while len(wrong) < 3:
        cand = answer + rng.choice([-10, -2, -1, 1, 2, 10, 11, -11])
        if cand != answer:
            wrong.add(cand)
    choices = [answer, *sorted(wrong)]
    rng.shuffle(choices)
    return {
        "question": f"What is {a} {op} {b}?",
        "choices": [str(c) for c in choices],
        "label": choices.index(answer),
    }


def write(n_test: int = 200, seed: int = 2026) -> tuple[Path, Path]:
    rng = random.Random(seed)
    HERE.mkdir(exist_ok=True)
    train, test = HERE / "arith_mc_train.jsonl", HERE / "arith_mc_test.jsonl"
    train.write_text("".join(json.dumps(make_item(rng)) + "\n" for _ in range(5)))
    test.write_text("".join(json.dumps(make_item(rng)) + "\n" for _ in range(n_test)))
    return train, test


def write_task_yaml(dest: Path, name: str = "arith_mc") -> Path:
    """The task YAML (`arith_mc` or `words_mc`) with absolute data paths, so openscout (paths
    relative to the YAML) and lm-eval (paths relative to its working directory) read the same
    files."""
    text = (HERE / f"{name}.yaml").read_text()
    for split in ("train", "test"):
        text = text.replace(
            f"bench/data/{name}_{split}.jsonl", str((HERE / f"{name}_{split}.jsonl").resolve())
        )
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"openscout_{name}.yaml"
    out.write_text(text)
    return out


def fewshot_context(train_rows: list[dict], doc: dict) -> str:
    """The exact context lm-eval builds: shots joined by blank lines, then the question."""
    shots = [f"Question: {r['question']}\nAnswer: {r['choices'][r['label']]}" for r in train_rows]
    return "\n\n".join([*shots, f"Question: {doc['question']}\nAnswer:"])


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(*write(n))
