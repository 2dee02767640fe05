"""Products of a suite's parts are bounded before items are built: stops x tests, suite-level
assertions x tests and prompts x tests each ran `openscout eval` out of memory from a file
that passed every other bound (twelfth probe)."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals import suite as suite_mod
from openscout.evals.loading import load_suite

ASSERT = "{type: contains, value: a}"


def _write(
    path: Path, *, prompts: int = 1, tests: int = 2, stops: int = 0, asserts: int = 1
) -> Path:
    path.write_text(
        "name: bounds\n"
        f"prompts: [{', '.join(f'p{i}' for i in range(prompts))}]\n"
        f"defaults: {{stop: [{', '.join(f's{i}' for i in range(stops))}]}}\n"
        f"assert: [{', '.join([ASSERT] * asserts)}]\n"
        f"tests: [{', '.join(['{}'] * tests)}]\n"
    )
    return path


def _refused(path: Path, match: str, **kw: object) -> DataFileError:
    """Refused within 5 s and 50 MB, naming the file and a line."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(DataFileError, match=match) as e:
            load_suite(path, **kw)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 5 and peak < 50 * 2**20
    assert f"{path}:" in str(e.value) and e.value.line and e.value.hint
    return e.value


def test_many_stops_times_many_tests_are_refused(tmp_path: Path) -> None:
    p = _write(tmp_path / "s.yaml", stops=200, tests=200)
    err = _refused(p, "200 stop strings .at most 16.")
    assert err.line == 3 and "OpenAI" in (err.hint or "")


def test_sixteen_stops_load_and_are_shared(tmp_path: Path) -> None:
    items = load_suite(_write(tmp_path / "s.yaml", stops=16, tests=3)).items
    assert len(items) == 3 and items[0].stop == tuple(f"s{i}" for i in range(16))
    assert all(i.stop is items[0].stop and i.completion_stop is i.stop for i in items)


def test_many_suite_assertions_times_many_tests_are_refused(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.yaml", asserts=150, tests=150)
    err = _refused(p, r"150 assertions.*at most 100 a test")
    assert err.line == 4


def test_a_test_over_the_bound_with_the_suite_s_assertions_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.yaml"
    p.write_text(
        "prompts: [hi]\n"
        f"assert: [{', '.join([ASSERT] * 60)}]\n"
        "tests:\n  - {}\n"
        f"  - assert: [{', '.join([ASSERT] * 41)}]\n"
    )
    err = _refused(p, r"101 assertions, 60 of them from the suite \(at most 100\)")
    assert err.line == 5


def test_a_hundred_assertions_load_and_the_suite_s_are_shared(tmp_path: Path) -> None:
    items = load_suite(_write(tmp_path / "a.yaml", asserts=100, tests=3)).items
    lists = [i.check_data["assertions"] for i in items]
    assert [len(x) for x in lists] == [100, 100, 100]
    assert all(x[5] is lists[0][5] for x in lists)


def test_suite_assertions_with_variables_are_filled_per_test(tmp_path: Path) -> None:
    p = tmp_path / "v.yaml"
    p.write_text(
        "prompts: ['{{w}}']\nassert: [{type: contains, value: '{{w}}'}, " + ASSERT + "]\n"
        "tests: [{vars: {w: x}}, {vars: {w: y}}]\n"
    )
    a, b = (i.check_data["assertions"] for i in load_suite(p).items)
    assert [a[0]["value"], b[0]["value"]] == ["x", "y"] and a[1] is b[1]


def test_many_prompts_times_many_tests_are_refused(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.yaml", prompts=1_000, tests=1_000)
    err = _refused(p, r"1,000 prompts x 1,000 tests make 1,000,000 items \(at most 200,000\)")
    assert err.line == 5 and "--limit" in (err.hint or "")


def test_a_limit_builds_only_the_items_it_needs(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.yaml", prompts=1_000, tests=1_000)
    start = time.monotonic()
    items = load_suite(p, limit=5).items
    assert [i.id for i in items] == [f"test001/p{i}" for i in range(1, 6)]
    assert time.monotonic() - start < 5


def test_items_just_within_the_bound_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite_mod, "MAX_ITEMS", 100)
    assert len(load_suite(_write(tmp_path / "p.yaml", prompts=10, tests=10)).items) == 100
    _refused(_write(tmp_path / "q.yaml", prompts=10, tests=11), r"110 items \(at most 100\)")


def test_assertions_over_all_items_are_bounded(tmp_path: Path) -> None:
    p = _write(tmp_path / "c.yaml", prompts=100, asserts=100, tests=101)  # 1,010,000 in all
    _refused(p, r"more than 1,000,000 assertions in all")


def test_assertions_just_within_the_total_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suite_mod, "MAX_CHECKS", 60)
    assert len(load_suite(_write(tmp_path / "c.yaml", prompts=2, asserts=3, tests=10)).items) == 20
    _refused(_write(tmp_path / "d.yaml", prompts=2, asserts=3, tests=11), "more than 60")


def test_long_stops_carried_by_every_item_count_towards_the_suite_s_texts(
    tmp_path: Path,
) -> None:
    """One 1 MiB stop string is shared in memory but stored with each item, twice."""
    p = tmp_path / "l.yaml"
    p.write_text(
        f"prompts: [hi]\ndefaults: {{stop: [{'x' * 2**20}]}}\nassert: [{ASSERT}]\n"
        f"tests: [{', '.join(['{}'] * 20)}]\n"
    )
    _refused(p, "more than 33,554,432 characters")


ONE_TEST = f"prompts: [p]\nassert: [{ASSERT}]\n"
LONG_LABELS = {  # LABEL stands for the long text
    "name": ONE_TEST + "name: LABEL\ntests: [{}]\n",
    "version": ONE_TEST + "version: LABEL\ntests: [{}]\n",
    "description": ONE_TEST + "description: LABEL\ntests: [{}]\n",
    "test id": ONE_TEST + "tests: [{id: LABEL}]\n",
    "test description": ONE_TEST + "tests: [{description: LABEL}]\n",
}


@pytest.mark.parametrize("label", LONG_LABELS)
def test_a_label_past_its_bound_is_refused(tmp_path: Path, label: str) -> None:
    """Three suites named with 15 MiB each made /leaderboard 367 MB of HTML, 1 GB of memory
    per view (twenty-seventh probe): the labels stored with every run are bounded."""
    path = tmp_path / "s.yaml"
    path.write_text(LONG_LABELS[label].replace("LABEL", "x" * 2**20))
    with pytest.raises(DataFileError, match=f"{label}.* is 1,048,576 characters long") as e:
        load_suite(path)
    assert str(path) in str(e.value) and e.value.hint


@pytest.mark.parametrize("label", LONG_LABELS)
def test_a_label_within_its_bound_loads(tmp_path: Path, label: str) -> None:
    bound = {"version": 64, "description": 2000}.get(label, 200)
    path = tmp_path / "s.yaml"
    path.write_text(LONG_LABELS[label].replace("LABEL", "x" * bound))
    assert load_suite(path).items


def test_an_lm_eval_task_name_past_its_bound_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"question": "q", "choices": ["a", "b"], "answer": 0}\n')
    task = tmp_path / "t.yaml"
    task.write_text(
        f"task: {'t' * 5000}\noutput_type: multiple_choice\ndataset_path: json\n"
        "dataset_kwargs: {data_files: {test: d.jsonl}}\ntest_split: test\n"
        "doc_to_text: question\ndoc_to_choice: choices\ndoc_to_target: answer\n"
    )
    with pytest.raises(DataFileError, match="name is 5,000 characters long"):
        load_suite(task)
