"""Every YAML file is read by YAML 1.2's core schema (fortieth probe: `NO` was False, `1:30`
90, `010` 8), a value of the wrong type is still refused naming its line, and what openscout
writes reads back as written."""

from __future__ import annotations

import datetime

import pytest

from openscout import yamlcore, yamlfile
from openscout.config import Settings
from openscout.engines.spec import ModelSpec
from openscout.errors import DataFileError
from openscout.models import add_model, list_models

SURPRISES = ["NO", "yes", "on", "Off", "1:30", "010", "1_000", "0b101", "2024-01-31", "1e3x"]


def test_yaml_1_1_implicit_types_are_text() -> None:
    data = yamlfile.load("a: [" + ", ".join(SURPRISES) + "]\n", "f.yaml")
    assert data == {"a": SURPRISES}


def test_a_registry_id_yaml_1_1_read_as_false_is_that_id(settings: Settings) -> None:
    settings.ensure()
    settings.models_file.write_text("version: 1\nmodels:\n  - id: no\n    engine: mock\n")
    assert "no" in {m.id for m in list_models(settings)}


def test_a_registry_value_of_the_wrong_type_is_still_refused_naming_its_line(
    settings: Settings,
) -> None:
    settings.ensure()
    text = "version: 1\nmodels:\n  - id: a\n    engine: mock\n    n_ctx: yes\n"
    settings.models_file.write_text(text)
    with pytest.raises(DataFileError) as e:
        list_models(settings)
    assert e.value.line == 5 and e.value.field == "n_ctx"


@pytest.mark.parametrize("text", ["1e3", "0o17", "+7", ".5", "yes", "NO", "1:30", "010", "null"])
def test_what_openscout_writes_reads_back_as_text(text: str, settings: Settings) -> None:
    # PyYAML's dumper left 1e3 and 0o17 unquoted: strings to YAML 1.1, numbers to 1.2
    assert yamlfile.load(yamlcore.dump({"v": text}), "f.yaml") == {"v": text}
    add_model(settings, ModelSpec(id=f"m{len(text)}", engine="mock", license=text))
    assert any(m.license == text for m in list_models(settings))


def test_a_date_is_written_plain_and_reads_back_as_its_text() -> None:
    data = {"released": "2024-01-31", "day": datetime.date(2024, 2, 1)}
    text = yamlcore.dump(data, sort_keys=False)
    assert text == "released: 2024-01-31\nday: 2024-02-01\n"
    assert yamlfile.load(text, "f.yaml") == {"released": "2024-01-31", "day": "2024-02-01"}
