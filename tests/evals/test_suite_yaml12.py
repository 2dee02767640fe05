"""A suite's plain scalars are read as YAML 1.2's core schema: YAML 1.1 made `NO` False, `1:30`
90 and `010` 8, so a model was asked about the country "False" and `equals: yes` wanted
`true` (fortieth probe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.evals.loading import load_suite
from openscout.evals.scoring import score_generation


def _one_item(tmp_path: Path, value: str, answer_value: str = "x") -> tuple[str, object]:
    path = tmp_path / "s.yaml"
    path.write_text(
        "prompts: ['Q {{v}}']\n"
        "tests:\n"
        f"  - vars: {{v: {value}}}\n"
        f"    assert: [{{type: equals, value: {answer_value}}}]\n"
    )
    (item,) = load_suite(path).items
    return item.prompt, item.check_data["assertions"][0]["value"]


@pytest.mark.parametrize(
    "written", ["NO", "no", "Yes", "on", "OFF", "y", "1:30", "010", "1_000", "0b101", "2024-01-31"]
)
def test_a_plain_scalar_yaml_1_1_would_change_is_the_text_written(
    tmp_path: Path, written: str
) -> None:
    prompt, value = _one_item(tmp_path, written, written)
    assert prompt == f"Q {written}"
    assert value == written


def test_equals_a_plain_word_or_code_passes_on_that_answer(tmp_path: Path) -> None:
    for written in ("yes", "010"):
        path = tmp_path / f"{written}.yaml"
        path.write_text(f"prompts: [q]\ntests:\n  - assert: [{{type: equals, value: {written}}}]\n")
        (item,) = load_suite(path).items
        assert score_generation(item, written).value == 1.0, written


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("12", 12),
        ("-3", -3),
        ("0x1F", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
    ],
)
def test_yaml_1_2_core_values_keep_their_type(tmp_path: Path, written: str, value: object) -> None:
    _, got = _one_item(tmp_path, "a", written)
    assert got == value and type(got) is type(value)
