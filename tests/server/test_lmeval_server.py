"""The real lm-evaluation-harness against a real openscout server (uvicorn on a free port).

`local-completions` with its defaults: the tokenizer backend is auto-detected from the
server's /tokenizer_info and /tokenize (no Hugging Face tokenizer anywhere: the hub is
offline), requests go as token ids. Every option's log-likelihood must agree with one
computed here straight from llama.cpp logits, and `is_greedy` with that row's argmax; the
same with `tokenized_requests=False`. A generate-until task through `local-completions` and
`local-chat-completions` answers as `openscout eval` does on the same items.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openscout.config import Settings
from openscout.evals import run_eval
from openscout.models import ModelSpec, add_model
from openscout.server.app import create_app
from openscout.server.limits import Limits
from tests.server.live import live_server

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("lm_eval") is None, reason="lm-eval missing"),
]
DATA = Path(__file__).parent / "data"
MODEL = "smollm2-135m-instruct"
COMPLETION_MODEL = "smollm2-as-completion"  # the same file, prompted as a completion model


@pytest.fixture
def server(settings: Settings, smollm2_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a tokenizer download would fail the test
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(settings.home / "hf"))
    add_model(
        settings,
        ModelSpec(
            id=COMPLETION_MODEL,
            engine="llamacpp",
            path=str(smollm2_path),
            prompt_format="completion",
        ),
    )
    # one request at a time on the model's main context, as `openscout eval --parallel 1`
    app = create_app(settings, limits=Limits(lanes=1), preload=[MODEL])
    with live_server(app) as url:
        yield url


def _tasks(tmp: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(DATA / f"{name}.jsonl", tmp / f"{name}.jsonl")
        text = (DATA / f"{name}.yaml").read_text()
        (tmp / f"{name}.yaml").write_text(text.replace(f"{name}.jsonl", str(tmp / f"{name}.jsonl")))
    return tmp


def _harness(
    url: str, tmp: Path, task: str, lm: str, limit: int | None = None, **args: Any
) -> list[dict[str, Any]]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    chat = lm == "local-chat-completions"
    route = "/v1/chat/completions" if chat else "/v1/completions"
    out = lm_eval.simple_evaluate(
        model=lm,
        model_args={"base_url": url + route, "num_concurrent": 1, "max_retries": 1, **args},
        tasks=[task],
        task_manager=TaskManager(include_path=str(tmp)),
        log_samples=True,
        apply_chat_template=chat,
        limit=limit,
    )
    assert out is not None
    return sorted(out["samples"][task], key=lambda s: s["doc_id"])


def _reference(llm: Any, context: str, continuation: str) -> tuple[float, bool]:
    """The harness's split (whole text, cut after the context's tokens), scored from logits."""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    whole = llm.tokenize((context + continuation).encode(), add_bos=False, special=True)
    n_ctx = len(llm.tokenize(context.encode(), add_bos=False, special=True))
    # the prefix this shares with the last text keeps its cache cells and score rows
    held = list(llm.input_ids[: llm.n_tokens])
    keep = next((i for i, (a, b) in enumerate(zip(held, whole, strict=False)) if a != b), None)
    llm.n_tokens = min(len(held) if keep is None else keep, len(whole) - 1)
    llm.eval(whole[llm.n_tokens :])
    logits = np.asarray(llm.scores[: len(whole)], dtype=np.float64)
    total, greedy = 0.0, True
    for pos in range(n_ctx, len(whole)):
        row = logits[pos - 1]
        m = row.max()
        total += float(row[whole[pos]] - (m + np.log(np.exp(row - m).sum())))
        greedy = greedy and int(row.argmax()) == whole[pos]
    return total, greedy


def _check_against_llama_cpp(samples: list[dict[str, Any]], smollm2_path: Path) -> float:
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(smollm2_path), n_ctx=512, logits_all=True, n_threads=1, verbose=False
    )
    worst = 0.0
    try:
        for s in samples:
            for args, resp in zip(s["arguments"], s["resps"], strict=True):
                ll, greedy = resp[0]
                ref, ref_greedy = _reference(llm, args[0], args[1])
                worst = max(worst, abs(ll - ref))
                assert ll == pytest.approx(ref, abs=0.05), (s["doc_id"], args[1])
                assert greedy == ref_greedy, (s["doc_id"], args[1])
    finally:
        llm.close()
    return worst


@pytest.mark.parametrize("tokenized", [True, False])
def test_multiple_choice_log_likelihoods_match_llama_cpp(
    server: str, tmp_path: Path, smollm2_path: Path, tokenized: bool
) -> None:
    args: dict[str, Any] = {"model": MODEL}
    if not tokenized:
        args["tokenized_requests"] = False
    # 20 of the 40 questions (80 options) in each mode keep the suite's time down
    tasks = _tasks(tmp_path, "mc40")
    samples = _harness(server, tasks, "openscout_mc40", "local-completions", limit=20, **args)
    assert len(samples) == 20 and all(len(s["resps"]) == 4 for s in samples)
    worst = _check_against_llama_cpp(samples, smollm2_path)
    print(f"tokenized_requests={tokenized}: worst |harness - llama.cpp| = {worst:.2e} nats")


def test_generate_until_answers_as_openscout_eval(
    server: str, tmp_path: Path, settings: Settings
) -> None:
    tasks = _tasks(tmp_path, "arith_gen")
    task = str(tasks / "arith_gen.yaml")
    for model_id, harness_model in (
        (COMPLETION_MODEL, "local-completions"),
        (MODEL, "local-chat-completions"),
    ):
        ours = run_eval(settings, task, [model_id], parallel=1).results[model_id]
        theirs = _harness(server, tasks, "openscout_arith_gen", harness_model, model=model_id)
        assert len(theirs) == len(ours.items) == 8
        mine = [str(rec["output"]).strip() for rec in ours.items]
        got = [str(s["resps"][0][0]).strip() for s in theirs]
        assert got == mine, harness_model
