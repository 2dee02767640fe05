"""Reading examples: both forms, faults named by file and line, the seeded split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals.tasks import builtin_suites
from openscout.evals.tasks.cityjson import HELD_OUT, TRAIN_PLACES, train_examples
from openscout.tune.data import read_jsonl, split


def write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "ex.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


CHAT = json.dumps(
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
        ]
    }
)
PAIR = json.dumps({"prompt": "2+2=", "completion": "4"})


def test_both_forms_and_blank_lines(tmp_path: Path) -> None:
    ds = read_jsonl(write(tmp_path, [CHAT, "", PAIR]))
    assert [e.line for e in ds.examples] == [1, 3]
    chat, pair = ds.examples
    assert chat.completion == "hello" and [m["role"] for m in chat.as_messages()] == [
        "system",
        "user",
    ]
    assert pair.as_messages() == [{"role": "user", "content": "2+2="}] and pair.completion == "4"
    assert len(ds.sha256) == 64


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"prompt": "x"}), "needs both keys"),
        (json.dumps({"messages": [{"role": "user", "content": "x"}]}), "at least two"),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}]}
            ),
            "last message must be the assistant",
        ),
        (json.dumps({"text": "x"}), "neither"),
        (json.dumps({"prompt": "x", "completion": 3}), "must be a string"),
        (  # 120 MB in one example reached 4 GB in the tokenizer and aborted (eleventh probe)
            json.dumps({"prompt": "x", "completion": "ab " * 400_000}),
            "1,200,001 characters",
        ),
        (
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": "y" * 2**20},
                        {"role": "assistant", "content": "z"},
                    ]
                }
            ),
            "at most 1,048,576",
        ),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, bad: str, words: str) -> None:
    path = write(tmp_path, [PAIR, CHAT, bad, PAIR])
    with pytest.raises(DataFileError) as e:
        read_jsonl(path)
    assert e.value.line == 3 and e.value.path == str(path)
    assert words in e.value.message and f"{path}:3" in e.value.message


def test_split_is_seeded_and_disjoint(tmp_path: Path) -> None:
    ds = read_jsonl(
        write(tmp_path, [json.dumps({"prompt": str(i), "completion": "x"}) for i in range(50)])
    )
    train, held = split(ds.examples, 0.1, seed=1)
    assert len(held) == 5 and len(train) == 45
    assert not {e.line for e in train} & {e.line for e in held}
    assert split(ds.examples, 0.1, seed=1) == (train, held)
    assert split(ds.examples, 0.1, seed=2)[1] != held
    assert split(ds.examples, 0.0, seed=1) == (ds.examples, [])


def test_demo_task_splits_cities() -> None:
    items = builtin_suites()["city-json"].generate(seed=0, size=40)
    held_cities = {c for c, _ in HELD_OUT}
    for it in items:
        value = it.check_data["assertions"][0]["value"]
        assert value["city"] in held_cities and value["city"] in it.prompt
    trained = {json.loads(e["messages"][1]["content"])["city"] for e in train_examples(0, 200)}
    assert trained <= {c for c, _ in TRAIN_PLACES} and not trained & held_cities


@pytest.mark.real_model
def test_encoding_says_how_far_it_is_and_keeps_ids_in_four_bytes(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    """A 256 MiB data file took minutes to tokenize with no sign of life, and held its ids as
    lists of ints, 36 bytes each: 5.6 to 7.8 GB before training (35th probe, low)."""
    from openscout.tune.data import Example
    from openscout.tune.prepare import IGNORE, encode, prompt_ids

    examples = [Example(i + 1, "Paris.", prompt=f"Capital number {i}?") for i in range(2500)]
    heard: list[int] = []
    encoded = encode(smollm2_engine, examples, "chat", 2048, "d.jsonl", heard.append)
    assert heard == [0, 1000, 2000]
    first, prompt = encoded[0], prompt_ids(smollm2_engine, examples[0], "chat")
    answer = [*smollm2_engine.encode("Paris."), int(smollm2_engine.llm.token_eos())]
    assert list(first.input_ids) == prompt + answer
    assert list(first.labels) == [IGNORE] * len(prompt) + answer
    assert first.input_ids.itemsize == first.labels.itemsize == 4


def test_a_repeated_prompt_is_held_out_whole_or_trained_whole(tmp_path: Path) -> None:
    """Split by line, a question asked twice sat on both sides, and the held-out loss
    measured answers the model had trained on (42nd probe, low)."""
    rows = [json.dumps({"prompt": str(i % 10), "completion": f"x{i}"}) for i in range(40)]
    chat = {
        "messages": [{"role": "user", "content": "same"}, {"role": "assistant", "content": "a"}]
    }
    rows += [json.dumps(chat)] * 3
    ds = read_jsonl(write(tmp_path, rows))
    for seed in range(20):
        train, held = split(ds.examples, 0.2, seed=seed)
        assert len(train) + len(held) == len(ds.examples) and held
        key = lambda e: (e.prompt, json.dumps(e.messages))  # noqa: E731
        assert not {key(e) for e in train} & {key(e) for e in held}, seed


def test_data_without_repeats_splits_as_before(tmp_path: Path) -> None:
    """The split of data without repeated prompts is the one earlier versions made."""
    import random

    ds = read_jsonl(
        write(tmp_path, [json.dumps({"prompt": str(i), "completion": "x"}) for i in range(50)])
    )
    order = list(range(50))
    random.Random("openscout-tune-split:7").shuffle(order)
    _, held = split(ds.examples, 0.1, seed=7)
    assert [e.line - 1 for e in held] == sorted(order[:5])


def test_a_large_group_is_not_held_out_past_the_share_asked() -> None:
    """The first group drawn was held out whatever its size: 90 answers to one prompt and
    10 other prompts at --holdout 0.1 held out 90 to 99 of 100 (44th probe, medium)."""
    from openscout.tune.data import Example

    examples = [Example(i + 1, "a", prompt="Q") for i in range(90)]
    examples += [Example(91 + i, "b", prompt=f"P{i}") for i in range(10)]
    for seed in range(8):
        train, held = split(examples, 0.1, seed)
        assert 1 <= len(held) <= 10 and len(train) + len(held) == 100, (seed, len(held))
        assert all(e.prompt != "Q" for e in held)
    two = [Example(i + 1, "a", prompt=f"Q{i % 2}") for i in range(100)]  # 2 prompts x 50
    assert split(two, 0.1, 0) == (two, [])  # no group fits: nothing held out, tune says so
    from openscout.tune.data import _prompt_key as _key
    from openscout.tune.data import split_note

    # one small prompt is held out wherever it was drawn, the big one trains (46th probe)
    lopsided = [Example(i + 1, "a", prompt="big") for i in range(99)]
    lopsided.append(Example(100, "b", prompt="small"))
    assert all(len(split(lopsided, 0.1, seed)[1]) == 1 for seed in range(8))
    system = [
        Example(
            1,
            "a",
            messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q"}),
        )
    ]
    assert _key(system[0]) == _key(Example(2, "a", prompt="Q"))  # the system turn aside

    assert "nothing held out" in split_note(0.1, [])[0] and split_note(0.0, []) == []
    assert split_note(0.1, examples[:1]) == []


def test_the_same_prompt_written_two_ways_is_one_group() -> None:
    """A prompt and the one user turn it trains as, or the same words with other blanks,
    fell on both sides (44th probe, low)."""
    from openscout.tune.data import Example

    same = [
        Example(1, "a", prompt="Capital of France?"),
        Example(2, "b", messages=({"role": "user", "content": "Capital of  France? "},)),
        Example(3, "c", prompt=" Capital of France?"),
    ]
    others = [Example(4 + i, "x", prompt=f"P{i}") for i in range(27)]
    for seed in range(20):
        _, held = split(same + others, 0.1, seed)
        sides = {e.line in {h.line for h in held} for e in same}
        assert len(sides) == 1, seed


def test_some_examples_always_train() -> None:
    """Three prompts at --holdout 0.9 were all held out, and tune refused to train on
    nothing, where it trained on one before (47th probe, low)."""
    from openscout.tune.data import Example

    for n, holdout in [(3, 0.9), (1, 0.9), (2, 0.75), (4, 0.9), (3, 0.84)]:
        examples = [Example(i + 1, "a", prompt=f"Q{i}") for i in range(n)]
        for seed in range(5):
            train, held = split(examples, holdout, seed)
            assert train and len(train) + len(held) == n, (n, holdout, seed)
