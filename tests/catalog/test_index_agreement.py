"""The openness-index data against the real catalog, and the generated table in the docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.catalog import load_catalog
from openscout.catalog.index_agreement import (
    DOCS_END,
    DOCS_START,
    IndexEntry,
    compare,
    docs_section,
    eosai_label,
    load_index_file,
    main,
    parse_index_file,
    problems,
    replace_section,
)
from openscout.errors import DataFileError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"
HEADER = """version: 1
indexes:
  mot: {name: MOT, repository: 'https://github.com/lfai/model_openness_tool',
        commit: 8b5d30e90a7c62d7d6ece48b91e69ff495920a4d, rating: class}
models:
"""


@pytest.fixture(scope="module")
def real():
    return load_catalog(), load_index_file()[1]


def test_every_entry_is_in_the_catalog_or_says_why_not_and_every_difference_has_a_reason(
    real,
) -> None:
    catalog, entries = real
    assert problems(catalog, entries) == []


def test_the_indexes_rate_a_good_share_of_the_catalog(real) -> None:
    catalog, entries = real
    rows = compare(catalog, entries)
    assert {c.index for c in rows} == {"mot", "eosai"}
    assert len({c.model_id for c in rows}) >= 30


def test_docs_table_is_generated_from_the_data(real) -> None:
    catalog, entries = real
    text = DOCS.read_text(encoding="utf-8")
    assert DOCS_START in text and DOCS_END in text
    current = text[text.index(DOCS_START) : text.index(DOCS_END) + len(DOCS_END)]
    assert current == docs_section(catalog, entries), (
        "docs/catalog.md is stale: run python -m openscout.catalog.index_agreement --write-docs"
    )


def test_a_difference_without_a_reason_is_a_problem(real) -> None:
    catalog, _ = real
    pythia = IndexEntry(
        index="mot", name="Pythia-70M", path="models/x.yml", id="EleutherAI/pythia-70m",
        rating={"class": "none"},
    )  # fmt: skip
    (row,) = compare(catalog, [pythia])
    assert row.differs
    assert len(problems(catalog, [pythia])) == 1
    explained = pythia.model_copy(update={"reason": "a reason long enough to count"})
    assert problems(catalog, [explained]) == []


def test_a_model_outside_the_catalog_needs_not_in_catalog(real) -> None:
    catalog, _ = real
    ghost = IndexEntry(index="mot", name="Ghost", path="models/g.yml", id="nobody/ghost-7b",
                       rating={"class": "III"})  # fmt: skip
    assert problems(catalog, [ghost])
    assert problems(catalog, [ghost.model_copy(update={"not_in_catalog": "not curated"})]) == []


@pytest.mark.parametrize(
    ("rating", "label"),
    [
        ({"weights_endmodel": "open", "licenses": "open", "datasources_basemodel": "open",
          "datasources_endmodel": "open", "trainingcode": "open"}, "open source"),
        ({"weights_endmodel": "open", "licenses": "open", "datasources_basemodel": "closed",
          "trainingcode": "open"}, "open weights"),
        ({"weights_endmodel": "open", "licenses": "partial"}, "restricted weights"),
        ({"weights_endmodel": "partial", "licenses": "open"}, "restricted weights"),
    ],
)  # fmt: skip
def test_eosai_ratings_map_to_a_label(rating, label) -> None:
    assert eosai_label(rating) == label


def test_a_malformed_file_is_a_clear_error_with_its_line() -> None:
    bad = (
        HEADER
        + "  - {index: mot, name: X, path: models/x.yml, id: 'not an id', rating: {class: I}}\n"
    )
    with pytest.raises(DataFileError) as e:
        parse_index_file("idx.yaml", bad)
    assert "idx.yaml:6" in str(e.value) and "Hugging Face id" in str(e.value)
    with pytest.raises(DataFileError):
        parse_index_file(
            "idx.yaml", HEADER + "  - {index: eosai, name: X, path: p, rating: {a: b}}\n"
        )


def test_the_command_reports_a_malformed_file_without_a_traceback(tmp_path, capsys) -> None:
    path = tmp_path / "idx.yaml"
    path.write_text("version: 1\nmodels: []\n", encoding="utf-8")
    assert main(["--index-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


def test_replace_section_needs_its_markers() -> None:
    with pytest.raises(DataFileError):
        replace_section("no markers here", "x")
    doc = f"a\n{DOCS_START}\nold\n{DOCS_END}\nb"
    assert replace_section(doc, "new") == "a\nnew\nb"
