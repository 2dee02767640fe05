"""A suite written as JSON is read as a suite: it was read as lm-eval documents and refused as
"expected a list of documents", with no word of what a suite file is (fortieth probe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals.loading import load_suite


def test_a_json_suite_loads_as_the_yaml_one_would(tmp_path: Path) -> None:
    suite = {
        "prompts": ["What is {{a}} + {{b}}?"],
        "tests": [{"vars": {"a": 2, "b": 2}, "assert": [{"type": "contains", "value": "4"}]}],
    }
    path = tmp_path / "four.json"
    path.write_text(json.dumps(suite, indent="\t"))
    loaded = load_suite(path)
    assert loaded.name == "four" and [i.prompt for i in loaded.items] == ["What is 2 + 2?"]


def test_lm_eval_documents_still_load_and_a_stray_object_says_what_is_expected(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs.json"
    docs.write_text(json.dumps([{"question": "2+2?", "choices": ["3", "4"], "gold": 1}]))
    assert len(load_suite(docs).items) == 1
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"questions": []}))
    with pytest.raises(DataFileError) as e:
        load_suite(other)
    assert "`prompts` and `tests`" in str(e.value)


def test_a_json_suite_with_an_emoji_written_by_json_dump_loads(tmp_path: Path) -> None:
    """json.dump writes an emoji as two surrogate escapes (`\\ud83d\\ude00`), which YAML
    refuses: such a suite was taken for lm-eval documents and refused (42nd probe)."""
    suite = {
        "prompts": ["Say {{w}}"],
        "tests": [{"vars": {"w": "hi \U0001f600"}, "assert": [{"type": "contains", "value": "x"}]}],
    }
    path = tmp_path / "emoji.json"
    path.write_text(json.dumps(suite))  # ensure_ascii: the surrogate escapes
    assert "\\ud83d" in path.read_text()
    assert [i.prompt for i in load_suite(path).items] == ["Say hi \U0001f600"]
