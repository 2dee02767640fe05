"""A task file's fields of the wrong kind are errors that name the field, not Python's own
words from inside the loader (tenth probe, issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals.lmeval_format import load_lmeval
from openscout.evals.loading import load_suite

DOCS = '{"question": "q", "choices": ["a", "b"], "answer": 0, "big": "%s"}\n' % ("7" * 5000)
BASE = {
    "task": "t",
    "output_type": "multiple_choice",
    "dataset_path": "json",
    "dataset_kwargs": "{data_files: {test: d.jsonl}}",
    "test_split": "test",
    "doc_to_text": "q",
    "doc_to_choice": "choices",
    "doc_to_target": "answer",
}
GENERATE = {"output_type": "generate_until", "doc_to_target": "'{{answer}}'"}


def _task(tmp_path: Path, **fields: str) -> Path:
    (tmp_path / "d.jsonl").write_text(DOCS)
    task = tmp_path / "t.yaml"
    task.write_text("".join(f"{k}: {v}\n" for k, v in {**BASE, **fields}.items()))
    return task


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"num_fewshot": "abc"}, "num_fewshot must be a whole number"),
        ({"num_fewshot": "-3"}, "num_fewshot must be a whole number"),
        ({"doc_to_target": "big"}, "not one of the choices"),
        ({"doc_to_choice": "'5'"}, "doc_to_choice did not give a list"),
        ({"doc_to_choice": "'{{\"[\" * 100000}}'"}, "doc_to_choice did not give a list"),
        ({"dataset_kwargs": "5"}, "dataset_kwargs must be a mapping"),
        ({"dataset_kwargs": "{data_files: {test: [5]}}"}, "data_files must name"),
        ({"test_split": "[a, b]"}, "test_split must be text"),
        ({"metadata": "[1]"}, "metadata must be a mapping"),
        ({**GENERATE, "generation_kwargs": "5"}, "generation_kwargs must be a mapping"),
        ({**GENERATE, "generation_kwargs": "{until: 5}"}, "until must be a text or a list"),
        ({**GENERATE, "generation_kwargs": "{max_gen_toks: x}"}, "max_gen_toks must be"),
        ({**GENERATE, "metric_list": "[5]"}, "metric_list must be a list of mappings"),
        ({**GENERATE, "filter_list": "[{filter: 5}]"}, "filter must be a list of mappings"),
        (
            {**GENERATE, "filter_list": "[{filter: [{function: regex, group_select: a}]}]"},
            "group_select must be a whole number",
        ),
        # patterns that do not compile crashed scoring after every answer (fifteenth probe)
        (
            {**GENERATE, "metric_list": "[{metric: exact_match, regexes_to_ignore: ['(x']}]"},
            "regexes_to_ignore holds a bad regular expression",
        ),
        (
            {
                **GENERATE,
                "metric_list": "[{metric: exact_match, regexes_to_ignore: ['%s']}]"
                % ("(?:" * 5000 + "a" + ")" * 5000),
            },
            "it nests too deeply",
        ),
        (
            {**GENERATE, "filter_list": "[{filter: [{function: regex, regex_pattern: '(x'}]}]"},
            "regex_pattern holds a bad regular expression",
        ),
        ({"num_fewshot": "'\u00b2'"}, "num_fewshot must be a whole number"),  # int() refuses
        # fields the reader does not act on were dropped without a word (twenty-seventh probe)
        ({"process_docs": "utils.process"}, "process_docs is not read"),
        ({"use_prompt": "p"}, "use_prompt is not read"),
        ({"repeats": "3"}, "repeats must be 1"),
        ({"fewshot_config": "{sampler: default}"}, "fewshot_config may only say"),
        ({**GENERATE, "generation_kwargs": "{top_p: 0.5}"}, "generation_kwargs.top_p is not"),
        ({**GENERATE, "generation_kwargs": "{do_sample: true}"}, "asks for sampling"),
        ({**GENERATE, "generation_kwargs": "{temperature: 0.7}"}, "asks for sampling"),
        (
            {**GENERATE, "filter_list": "[{filter: [{function: lowercase}]}]"},
            "filter function 'lowercase' is not read",
        ),
        ({"include": "missing.yaml"}, "missing.yaml"),
        ({"include": "t.yaml"}, "comes back to a file that includes it"),
        ({"include": "[a]"}, "include must name a task file"),
    ],
)
def test_a_field_of_the_wrong_kind_is_named(
    tmp_path: Path, fields: dict[str, str], named: str
) -> None:
    with pytest.raises(DataFileError) as e:
        load_suite(_task(tmp_path, **fields))
    text = str(e.value)
    assert named in text and "t.yaml" in text
    assert "Error" not in text and "Traceback" not in text and len(text) < 400


def test_a_task_file_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text("- 1\n- 2\n")
    with pytest.raises(DataFileError, match="a task file is a mapping of fields"):
        load_lmeval(task)  # load_suite takes a list for another kind of suite


def test_the_right_kinds_still_load(tmp_path: Path) -> None:
    suite = load_suite(_task(tmp_path, num_fewshot="'0'", metadata="{version: 3}"))
    assert suite.version == "3" and suite.items[0].choices == ("a", "b")


def test_the_fields_of_the_harness_own_tasks_load(tmp_path: Path) -> None:
    """ARC's and GSM8K's task files carry fields that change nothing openscout computes."""
    inert = {
        "tag": "ai2_arc",
        "dataset_name": "ARC-Easy",
        "training_split": "train",
        "should_decontaminate": "true",
        "doc_to_decontamination_query": "q",
        "repeats": "1",
        "fewshot_config": "{sampler: first_n}",
    }
    assert load_suite(_task(tmp_path, **inert)).items[0].choices == ("a", "b")
    greedy = "{until: ['Q:'], do_sample: false, temperature: 0.0}"
    assert load_suite(_task(tmp_path, **GENERATE, generation_kwargs=greedy)).items


def test_an_included_template_is_read_under_the_tasks_own_fields(tmp_path: Path) -> None:
    """The harness's tasks share templates through `include:`; it was dropped without a word
    and the run scored with the default prompt (twenty-seventh probe)."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "_base.yaml").write_text(
        "include: _root.yaml\ndoc_to_text: 'Q: {{question}} A:'\ntarget_delimiter: '|'\n"
    )
    (tmp_path / "shared" / "_root.yaml").write_text("description: 'Answer. '\n")
    task = _task(tmp_path, include="shared/_base.yaml", target_delimiter="' '")
    text = task.read_text().replace("doc_to_text: q\n", "")  # the template gives it
    task.write_text(text)
    item = load_suite(task).items[0]
    assert item.context == item.prompt == "Answer. Q: q A:"  # from both files
    assert item.check_data["target_delimiter"] == " "  # the task's own field wins
