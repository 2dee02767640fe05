"""An lm-eval task file's templates are its author's code: they run in a limited child, so a
template that asks for gigabytes or loops for ever is a clear error, not a hung `eval`
(independent probe, issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals import lmeval_format
from openscout.evals.loading import load_suite
from openscout.worker import Limits

DOCS = '{"question": "q", "choices": ["a", "b"], "answer": 0}\n'


def _task(tmp_path: Path, doc_to_text: str) -> Path:
    (tmp_path / "d.jsonl").write_text(DOCS)
    task = tmp_path / "t.yaml"
    task.write_text(
        "task: t\noutput_type: multiple_choice\ndataset_path: json\n"
        "dataset_kwargs: {data_files: {test: d.jsonl}}\ntest_split: test\n"
        f"doc_to_text: {json.dumps(doc_to_text)}\ndoc_to_choice: choices\ndoc_to_target: answer\n"
    )
    return task


def test_a_template_asking_for_gigabytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"ran past its memory limit|stopped"):
        load_suite(_task(tmp_path, "{{ 'x' * 10**10 }}"))


def test_a_template_that_loops_for_ever_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        lmeval_format, "TASK_LIMITS", Limits(memory_bytes=512 * 2**20, cpu_seconds=2, timeout=4)
    )
    # no output: one `x` per turn reached the memory limit first on a fast machine
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(DataFileError, match="stopped"):
        load_suite(_task(tmp_path, loops))


def test_a_good_task_still_loads(tmp_path: Path) -> None:
    suite = load_suite(_task(tmp_path, "Question: {{question}}\nAnswer:"))
    assert suite.items[0].context == "Question: q\nAnswer:"


def test_a_document_longer_than_a_suite_text_is_refused(tmp_path: Path) -> None:
    """A 15.7 MB `query` took 66 s and 1.3 GB in the tokenizer before its item failed
    (eleventh probe): documents get the same bounds as a user suite's texts."""
    docs = tmp_path / "big.jsonl"
    docs.write_text(
        '{"query": "q", "choices": ["a", "b"], "gold": 0}\n'
        + json.dumps({"query": "ab " * 1_500_000, "choices": ["x", "y"], "gold": 0})
        + "\n"
    )
    with pytest.raises(DataFileError) as e:
        load_suite(docs)
    assert "document 2" in str(e.value) and "4,194,304 characters" in str(e.value)


def test_eleven_options_are_asked_and_twenty_seven_refused(tmp_path: Path) -> None:
    """Eleven options were "unexpected error: IndexError" (the letters stopped at J;
    twelfth probe): A to Z now, and more than 26 a clear refusal at load."""
    from openscout.evals.items import build_request

    docs = tmp_path / "many.jsonl"
    docs.write_text(json.dumps({"query": "Pick:", "choices": list("abcdefghijk"), "gold": 10}))
    (item,) = load_suite(docs).items
    assert "K. k" in build_request(item, "chat").messages[-1]["content"]
    docs.write_text(
        json.dumps({"query": "Pick:", "choices": [str(i) for i in range(27)], "gold": 0})
    )
    with pytest.raises(DataFileError, match="27 options; openscout labels them A to Z"):
        load_suite(docs)
