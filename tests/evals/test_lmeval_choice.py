"""lm-eval multiple choice as the harness scores and asks it: acc_norm per character, and
the same question (description and few-shot examples) whether scored by log-likelihood or
by generation (40th probe, F14 and F15)."""

from __future__ import annotations

from pathlib import Path

from openscout.evals.items import Item, build_request
from openscout.evals.loading import load_suite
from openscout.evals.scoring import score_choice_logprobs

DESCRIPTION = "The following questions are about arithmetic in base 5."


def _pick_norm(choices: tuple[str, str], logprobs: list[float]) -> int:
    item = Item(id="x", kind="choice", prompt="q", check="choice", target=1, choices=choices)
    s = score_choice_logprobs(item, logprobs)
    assert s.metrics["acc_norm"] == float(s.detail["pick_norm"] == 1)
    return s.detail["pick_norm"]


def test_acc_norm_divides_by_characters_as_the_harness() -> None:
    """The harness's `process_results` divides by `len(choice)`: 'née' is 3 characters
    (4 bytes), so -6/3 = -2.0 loses to -7/4 = -1.75; per byte, -6/4 won."""
    assert _pick_norm(("née", "neat"), [-6.0, -7.0]) == 1
    # CJK: three characters, nine bytes: -6/3 = -2.0 loses to -9/9; per byte -6/9 won
    assert _pick_norm(("東京都", "Tokyo-to!"), [-6.0, -9.0]) == 1
    assert _pick_norm(("ab", "abcd"), [-1.0, -3.0]) == 0  # plain text: as before


def _task(tmp_path: Path) -> Path:
    (tmp_path / "d.jsonl").write_text(
        '{"q": "3+3?", "choices": ["6", "11"], "answer": 1}\n'
        '{"q": "2+2?", "choices": ["3", "4"], "answer": 1}\n'
    )
    task = tmp_path / "t.yaml"
    task.write_text(
        "task: addtask\ndataset_path: json\ndataset_kwargs: {data_files: {test: d.jsonl}}\n"
        f'output_type: multiple_choice\ndescription: "{DESCRIPTION}\\n\\n"\n'
        'doc_to_text: "Question: {{q}}\\nAnswer:"\ndoc_to_choice: choices\n'
        "doc_to_target: answer\nnum_fewshot: 1\nfewshot_split: test\n"
    )
    return task


def test_generation_asks_the_description_and_examples_log_likelihood_asks(
    tmp_path: Path,
) -> None:
    """A chat model (or a server without log-probs) was asked the bare question, without the
    task's description and examples, and a completion model 'Question: Question: ...'."""
    item = load_suite(_task(tmp_path)).items[1]
    shot = "Question: 3+3?\nAnswer: 11"
    assert item.context == f"{DESCRIPTION}\n\n{shot}\n\nQuestion: 2+2?\nAnswer:"
    chat = build_request(item, "chat").messages
    assert chat is not None and len(chat) == 1
    assert chat[0]["content"] == (
        f"{item.context}\nA. 3\nB. 4\nAnswer with the letter of the correct option (A, B)."
    )
    completion = build_request(item, "completion").prompt
    assert completion == f"{item.context}\nA. 3\nB. 4\nAnswer:"
    assert "Question: Question:" not in completion


def test_documents_framed_already_are_not_framed_again(tmp_path: Path) -> None:
    """A `query` (the harness's preprocessed text) is asked as it stands; a bare `question`
    is framed once, as before."""
    docs = tmp_path / "d.jsonl"
    docs.write_text(
        '{"query": "Question: 2+2?\\nAnswer:", "choices": ["3", "4"], "gold": 1}\n'
        '{"question": "1+1?", "choices": ["2", "3"], "gold": 0}\n'
    )
    framed, bare = load_suite(docs).items
    assert (
        build_request(framed, "completion").prompt == "Question: 2+2?\nAnswer:\nA. 3\nB. 4\nAnswer:"
    )
    assert build_request(bare, "completion").prompt == "Question: 1+1?\nA. 2\nB. 3\nAnswer:"
    assert bare.context == "Question: 1+1?\nAnswer:"
