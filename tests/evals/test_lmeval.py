"""lm-eval-format task files, and log-likelihood scores checked by hand through llama-cpp-python."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openscout.config import Settings
from openscout.engines.loader import clear_cache
from openscout.engines.mock import MockEngine
from openscout.errors import DataFileError
from openscout.evals import run_eval
from openscout.evals.lmeval_adapter import generations, loglikelihoods, rolling_loglikelihoods
from openscout.evals.loading import load_suite

DATA = Path(__file__).parent / "data"


def test_reads_arc_style_jsonl() -> None:
    suite = load_suite(DATA / "tiny_arc.jsonl")
    assert suite.name == "tiny_arc" and len(suite.items) == 8
    first = suite.items[0]
    assert first.context == "Question: Which of these is a mammal?\nAnswer:"
    assert first.choices == ("trout", "dolphin", "sparrow", "frog") and first.target == 1
    assert [i.target for i in suite.items] == [1, 2, 0, 1, 3, 0, 2, 1]


def test_reads_query_choices_gold_json() -> None:
    suite = load_suite(DATA / "hellaswag_style.json")
    assert [i.context for i in suite.items] == ["The cat sat on the", "She opened the door and"]
    assert [i.target for i in suite.items] == [0, 0]


def test_reads_a_harness_task_yaml_with_fewshot() -> None:
    suite = load_suite(DATA / "tiny_task.yaml", limit=3)
    assert (suite.name, suite.version, len(suite.items)) == ("tiny_arc_fewshot", "2", 3)
    shots = (
        "Question: What color is a clear daytime sky?\nAnswer: blue\n\n"
        "Question: Which animal says moo?\nAnswer: cow\n\n"
    )
    assert suite.items[0].context == shots + "Question: Which of these is a mammal?\nAnswer:"
    assert suite.items[2].target == 0 and suite.items[0].check_data["target_delimiter"] == " "


def test_bad_task_files_name_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "choices": ["a", "b"], "answer": 0}\n{"question": \n')
    with pytest.raises(DataFileError) as e:
        load_suite(bad)
    assert e.value.line == 2
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"question": "q", "choices": ["a", "b"], "answer": "c"}\n')
    with pytest.raises(DataFileError, match="not one of the choices"):
        load_suite(wrong)
    remote = tmp_path / "remote.yaml"
    remote.write_text("task: x\ndataset_path: allenai/ai2_arc\ndoc_to_text: q\n")
    with pytest.raises(DataFileError, match="only local data"):
        load_suite(remote)


def test_adapter_functions_keep_the_harness_order() -> None:
    engine = MockEngine("m", default="one two three four")
    reqs = [("b ctx", " x"), ("a ctx", " y"), ("b ctx", " z")]
    got = loglikelihoods(engine, reqs)
    assert got == [
        (engine.loglikelihood(c, x).logprob, engine.loglikelihood(c, x).is_greedy) for c, x in reqs
    ]
    assert generations(engine, "completion", [("p", {"until": ["three"], "max_gen_toks": 10})]) == [
        "one two"
    ]
    assert len(rolling_loglikelihoods(engine, ["some text"])) == 1


def _by_hand(llm, context: str, continuation: str) -> float:
    """lm-evaluation-harness's recipe, by hand: encode whole and context, score the rest."""
    if context and context[-1].isspace():
        n = len(context) - len(context.rstrip())
        context, continuation = context[:-n], context[-n:] + continuation
    whole = llm.tokenize((context + continuation).encode(), add_bos=True)
    n_ctx = len(llm.tokenize(context.encode(), add_bos=True))
    llm.reset()
    llm.eval(whole)
    logits = np.asarray(llm.scores[: len(whole)], dtype=np.float64)
    total = 0.0
    for pos in range(n_ctx, len(whole)):
        row = logits[pos - 1]
        m = row.max()
        total += float(row[whole[pos]] - (m + np.log(np.exp(row - m).sum())))
    return total


@pytest.mark.real_model
def test_loglikelihood_scores_match_llama_cpp_by_hand(
    settings: Settings, smollm2_path: Path
) -> None:
    import llama_cpp

    clear_cache()
    run = run_eval(settings, str(DATA / "tiny_arc.jsonl"), ["smollm2-135m-instruct"])
    res = run.results["smollm2-135m-instruct"]
    llm = llama_cpp.Llama(
        model_path=str(smollm2_path), n_ctx=512, logits_all=True, n_threads=2, verbose=False
    )
    try:
        suite = load_suite(DATA / "tiny_arc.jsonl")
        hand_acc = []
        for item, rec in zip(suite.items, res.items, strict=True):
            hand = [_by_hand(llm, item.context or "", " " + c) for c in item.choices]
            assert rec["detail"]["logprobs"] == pytest.approx(hand, abs=2e-3)
            assert rec["detail"]["pick"] == int(np.argmax(hand))
            hand_acc.append(float(int(np.argmax(hand)) == item.target))
    finally:
        llm.close()
    assert res.score == pytest.approx(sum(hand_acc) / len(hand_acc))
    assert res.metrics["acc"].score == res.score and "acc_norm" in res.metrics
    assert "acc_chance_normalised" in res.metrics


@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.skipif(
    __import__("importlib").util.find_spec("lm_eval") is None, reason="lm-eval not installed"
)
def test_the_harness_through_our_adapter_agrees_with_our_runner(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lm-evaluation-harness runs our task file on our engine; our runner reads the same file.

    Same contexts, same continuations, same log-likelihoods: our reading of the format is the
    harness's. (Zero-shot: the harness samples few-shot examples with its own seed.)
    """
    import lm_eval
    from lm_eval.tasks import TaskManager

    from openscout.evals.lmeval_adapter import make_lm

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    text = (DATA / "tiny_task.yaml").read_text()
    text = text.replace("tiny_arc.jsonl", str(DATA / "tiny_arc.jsonl"))
    text = text.replace("tiny_shots.jsonl", str(DATA / "tiny_shots.jsonl"))
    text = text.replace("num_fewshot: 2", "num_fewshot: 0").replace(
        "tiny_arc_fewshot", "tiny_arc_0"
    )
    task = tmp_path / "tiny_arc_0.yaml"
    task.write_text(text)
    clear_cache()
    ours = run_eval(settings, str(task), ["smollm2-135m-instruct"]).results["smollm2-135m-instruct"]
    out = lm_eval.simple_evaluate(
        model=make_lm("smollm2-135m-instruct", settings),
        tasks=["tiny_arc_0"],
        task_manager=TaskManager(include_path=str(tmp_path)),
        log_samples=True,
    )
    samples = sorted(out["samples"]["tiny_arc_0"], key=lambda s: s["doc_id"])
    assert len(samples) == len(ours.items) == 8
    for s, rec in zip(samples, ours.items, strict=True):
        contexts = {a[0] for a in s["arguments"]}
        assert contexts == {rec["input"]["request"]["context"]}
        assert [a[1] for a in s["arguments"]] == rec["input"]["request"]["continuations"]
        harness_lls = [r[0] for r in s["filtered_resps"]]
        assert harness_lls == pytest.approx(rec["detail"]["logprobs"], abs=1e-6)
    assert out["results"]["tiny_arc_0"]["acc,none"] == pytest.approx(ours.metrics["acc"].score)
    assert out["results"]["tiny_arc_0"]["acc_norm,none"] == pytest.approx(
        ours.metrics["acc_norm"].score
    )


def test_generate_until_task_scores_exact_match(settings: Settings) -> None:
    from tests.evals.helpers import add_mock

    suite = load_suite(DATA / "tiny_gsm.yaml")
    first = suite.items[0]
    assert first.kind == "generate" and first.check == "exact"
    assert first.completion_prompt == "Question: " + (
        "Ada has 3 apples and buys 4 more. How many apples does she have?\nAnswer:"
    )
    assert first.completion_stop == ("Question:", "\n\n") and first.max_tokens == 64
    clear_cache()
    q = [i.prompt for i in suite.items]
    add_mock(settings, "m", script={q[0]: "3 + 4 = 7 #### 7", q[1]: "#### 13", q[2]: "it is 6"})
    res = run_eval(settings, str(DATA / "tiny_gsm.yaml"), ["m"]).results["m"]
    assert [r["score"] for r in res.items] == [1.0, 0.0, 0.0]
    assert [r["detail"]["extracted"] for r in res.items] == ["7", "13", "[invalid]"]


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("lm_eval") is None, reason="lm-eval not installed"
)
def test_adapter_registers_with_the_harness() -> None:
    from lm_eval.api.model import LM
    from lm_eval.api.registry import get_model

    from openscout.evals.lmeval_adapter import register

    cls = register()
    assert register() is cls  # idempotent
    assert get_model("openscout") is cls and issubclass(cls, LM)


@pytest.mark.parametrize("select", [5, -5, -1])
def test_a_group_select_beyond_the_matches_is_no_match(
    settings: Settings, tmp_path: Path, select: int
) -> None:
    """A regex filter's `group_select: 5` on an answer with fewer matches raised IndexError
    after the model answered: `eval` stopped with "unexpected error", and again on every
    resume (33rd probe, medium). Fewer matches than the pick is no match."""
    import shutil

    from tests.evals.helpers import add_mock

    shutil.copy(DATA / "tiny_gsm.jsonl", tmp_path / "tiny_gsm.jsonl")
    task = tmp_path / "t.yaml"
    pattern = 'regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"'
    text = (DATA / "tiny_gsm.yaml").read_text()
    assert pattern in text
    picks = f'regex_pattern: "(\\\\d+)"\n        group_select: {select}'
    task.write_text(text.replace(pattern, picks))
    suite = load_suite(task)
    assert suite.items[0].check_data["group_select"] == select
    clear_cache()
    q = [i.prompt for i in suite.items]
    add_mock(settings, "m", script={q[0]: "3 + 4 = 7", q[1]: "13", q[2]: "none"})
    res = run_eval(settings, str(task), ["m"]).results["m"]
    extracted = [r["detail"]["extracted"] for r in res.items]
    assert all(r["error"] is None for r in res.items)
    assert extracted == (["7", "13", "[invalid]"] if select == -1 else ["[invalid]"] * 3)


@pytest.mark.parametrize(
    "template",
    [
        "Question: {{questoin}}\\nAnswer:",  # a misspelt field
        "{{ lipsum.__globals__ }}",  # attributes the sandbox refuses
    ],
)
def test_a_template_naming_what_the_document_lacks_is_refused(
    tmp_path: Path, template: str
) -> None:
    """Rendered as empty text, a misspelt `doc_to_text` field ran every item on an empty
    question without a word (37th probe, medium): the harness renders strictly too."""
    import shutil

    for name in ("tiny_arc.jsonl", "tiny_shots.jsonl"):
        shutil.copy(DATA / name, tmp_path / name)
    task = (DATA / "tiny_task.yaml").read_text()
    task = task.replace(
        'doc_to_text: "Question: {{question}}\\nAnswer:"', f"doc_to_text: {template!r}"
    )
    assert template in task or repr(template) in task
    (tmp_path / "typo.yaml").write_text(task)
    with pytest.raises(
        DataFileError, match=r"doc_to_text: template failed: (UndefinedError|SecurityError)"
    ):
        load_suite(tmp_path / "typo.yaml")


def test_a_document_is_never_its_own_few_shot_example(tmp_path: Path) -> None:
    """With `fewshot_split` the scored split, the first N items were asked with their own
    question and answer right above them: a model copying answers from its prompt scored
    5 of 20 (37th probe, medium). As the harness, each takes N examples other than itself."""
    import shutil

    shutil.copy(DATA / "tiny_arc.jsonl", tmp_path / "tiny_arc.jsonl")
    task = (DATA / "tiny_task.yaml").read_text().replace("train: tiny_shots.jsonl\n", "")
    task = task.replace("fewshot_split: train", "fewshot_split: test")
    (tmp_path / "self.yaml").write_text(task)
    items = load_suite(tmp_path / "self.yaml").items
    questions = [it.context.rsplit("Question: ", 1)[1] for it in items]
    for it, own in zip(items, questions, strict=True):
        shots = it.context.split("\n\n")[:-1]
        assert len(shots) == 2 and not any(own in shot for shot in shots), it.context
    # items past the first two keep the first two documents, as before
    assert items[5].context.split("\n\n")[:2] == [
        "Question: Which of these is a mammal?\nAnswer: dolphin",
        "Question: What do plants need to make food from sunlight?\nAnswer: water",
    ]
    assert items[0].context.startswith("Question: What do plants need")


def test_an_answer_that_is_a_choice_s_text_is_that_choice(tmp_path: Path) -> None:
    """`{"choices": ["2", "3", "4", "5"], "answer": "3"}` marked "5" right: the text was read
    as an index, where the harness (doc_to_target a field) looks it up as text (39th probe)."""
    docs = tmp_path / "nums.jsonl"
    docs.write_text('{"question": "1+2?", "choices": ["2", "3", "4", "5"], "answer": "3"}\n')
    assert load_suite(docs).items[0].target == 1
    task = tmp_path / "task.yaml"
    task.write_text(
        "task: nums\ndataset_path: json\ndataset_kwargs: {data_files: {test: nums.jsonl}}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: question\n"
        "doc_to_choice: choices\ndoc_to_target: answer\n"
    )
    assert load_suite(task).items[0].target == 1
    templated = task.read_text().replace("doc_to_target: answer", "doc_to_target: '{{answer}}'")
    task.write_text(templated)
    assert load_suite(task).items[0].target == 3  # a template's digits: an index, as there
