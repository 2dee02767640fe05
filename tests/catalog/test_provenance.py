"""Per-fact provenance: every fact is checked (source + quote) or marked unverified, and no
value reaches an entry through a YAML anchor or a file default unless that entry cites a
source for it."""

from __future__ import annotations

from importlib import resources

import pytest

from openscout.catalog import load_catalog
from openscout.catalog.loader import load_file
from openscout.catalog.provenance import FACT_KEYS, shared_facts, stated_facts
from openscout.catalog.tidy import tidy_text
from openscout.catalog.views import facts
from openscout.errors import DataFileError

HEAD = """
version: {version}
defaults:
  organisation: Test Org
  family: Test
  tasks: [text-generation]
models:
"""
CHECK = '{source: "https://example.org/card", quote: "Context length: 2K tokens"}'
ALL_OPENNESS = [f"openness.{c}" for c in ("training_data", "weights", "evaluation_code")] + [
    "openness.training_code",
    "openness.training_logs",
]


def _package_texts() -> list[tuple[str, str]]:
    data = resources.files("openscout.catalog") / "data"
    return [
        (p.name, p.read_text(encoding="utf-8")) for p in data.iterdir() if p.name.endswith(".yaml")
    ]


def _entry(extra: str, unverified: list[str] | None = None) -> str:
    marks = [*ALL_OPENNESS, "params_b", "license"] if unverified is None else unverified
    return (
        "  - id: test/one\n    name: One\n    params_b: 1.0\n    license: Apache-2.0\n"
        f"{extra}    unverified: [{', '.join(marks)}]\n"
    )


def test_every_package_file_accounts_for_every_fact() -> None:
    for name, text in _package_texts():
        assert "\nversion: 2\n" in f"\n{text}", f"{name} is not a version-2 data file"
    for entry in load_catalog():
        stated = set(stated_facts(entry.model_dump()))
        assert stated == set(entry.checks) | set(entry.unverified), entry.id
        for key, check in entry.checks.items():
            assert check.quote.strip() and str(check.source).startswith("http"), (entry.id, key)


def test_no_value_shared_through_anchor_or_default_without_own_source() -> None:
    cat = load_catalog()
    for name, text in _package_texts():
        for hf_id, shared in shared_facts(text).items():
            entry = cat.get(hf_id)
            assert entry is not None
            uncited = shared - set(entry.checks)
            assert not uncited, f"{name}: {hf_id} takes {sorted(uncited)} from an anchor or default"


def test_shared_facts_finds_anchors_and_defaults() -> None:
    text = HEAD.format(version=2) + (
        "  - id: a/one\n    name: One\n    params_b: 1\n    license: MIT\n"
        "    arch: &shape {layers: 2, context: 4096}\n"
        "  - id: a/two\n    name: Two\n    params_b: 1\n    license: MIT\n    arch: *shape\n"
        "  - id: a/three\n    name: Three\n    params_b: 1\n    license: MIT\n"
        "    arch: {layers: 2, context: 4096}\n"
    )
    got = shared_facts(
        text.replace("  tasks: [text-generation]\n", "  tasks: [x]\n  languages: [en]\n")
    )
    assert got["a/one"] == {"arch.layers", "arch.context", "languages"}
    assert got["a/two"] == {"arch.layers", "arch.context", "languages"}
    assert got["a/three"] == {"languages"}  # same values written out: nothing shared


def test_strict_file_rejects_a_fact_with_neither_check_nor_mark(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(HEAD.format(version=2) + _entry("", unverified=[*ALL_OPENNESS, "license"]))
    with pytest.raises(DataFileError, match=r"neither a check nor an unverified mark.*params_b"):
        load_file(path)
    path.write_text(HEAD.format(version=1) + _entry("", unverified=[*ALL_OPENNESS, "license"]))
    assert load_file(path)[0].id == "test/one"  # version 1 still loads: facts count unverified


def test_check_needs_a_quote(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    bad_quote = '    checks:\n      params_b: {source: "https://example.org/card"}\n'
    path.write_text(HEAD.format(version=2) + _entry(bad_quote, [*ALL_OPENNESS, "license"]))
    with pytest.raises(DataFileError, match="quote"):
        load_file(path)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("arch.context", "does not state"),
        ("colour", "unknown fact keys"),
        ("params_b", "both checked and unverified"),
    ],
)
def test_check_keys_are_stated_known_and_not_also_unverified(tmp_path, key, problem) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(HEAD.format(version=2) + _entry(f"    checks:\n      {key}: {CHECK}\n"))
    with pytest.raises(DataFileError, match=problem):
        load_file(path)


def test_defaults_cannot_carry_checks(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    text = HEAD.format(version=2).replace(
        "  tasks: [text-generation]\n",
        f"  tasks: [text-generation]\n  checks: {{license: {CHECK}}}\n",
    )
    path.write_text(text + _entry(""))
    with pytest.raises(DataFileError, match="belong to each entry"):
        load_file(path)


def test_show_marks_checked_and_unverified_facts() -> None:
    entry = load_catalog().get("epfl-llm/meditron-7b")
    assert entry is not None
    data = facts(entry)
    prov = data["provenance"]
    assert prov["arch.context"]["status"] == "checked"
    assert prov["arch.context"]["value"] == 2048
    assert "2K" in prov["arch.context"]["quote"]
    assert prov["released"]["status"] == "unverified"
    assert set(data["checked"]) | set(data["unverified"]) == set(prov)
    assert set(prov) <= set(FACT_KEYS)


def test_meditron_does_not_inherit_llama2_context_or_vocab() -> None:
    # The Llama 2 7B shape used to be shared by anchor; Meditron's card says 2K tokens and its
    # vocabulary differs from Llama 2's 32000 (not stated in a source we could read: left out).
    entry = load_catalog().get("epfl-llm/meditron-7b")
    assert entry is not None and entry.arch.context == 2048 and entry.arch.vocab is None


def test_checked_share_is_reported() -> None:
    cat = load_catalog()
    checked = sum(len(e.checks) for e in cat)
    stated = sum(len(stated_facts(e.model_dump())) for e in cat)
    assert 0 < checked <= stated


def test_package_files_are_tidy() -> None:
    # `python -m openscout.catalog.tidy` leaves them unchanged: `unverified` is exactly the
    # stated facts without a check, and no fact is shared through anchors or defaults.
    for name, text in _package_texts():
        assert tidy_text(text) == text, f"run python -m openscout.catalog.tidy on {name}"


def test_tidy_expands_anchors_and_keeps_values(tmp_path) -> None:
    text = HEAD.format(version=1).replace(
        "  tasks: [text-generation]\n", "  tasks: [text-generation]\n  languages: [en]\n"
    ) + (
        "  - id: a/one\n    name: One\n    params_b: 1\n    license: MIT\n"
        "    arch: &shape {layers: 2, context: 4096}\n"
        "    checks: {arch.layers: " + CHECK + "}\n"
        "  - id: a/two\n    name: Two\n    params_b: 1\n    license: MIT\n    arch: *shape\n"
    )
    (tmp_path / "old.yaml").write_text(text)
    (tmp_path / "new.yaml").write_text(tidy_text(text))
    old, new = load_file(tmp_path / "old.yaml"), load_file(tmp_path / "new.yaml")
    assert [e.model_dump(exclude={"unverified"}) for e in old] == [
        e.model_dump(exclude={"unverified"}) for e in new
    ]
    assert "&" not in tidy_text(text) and "*shape" not in tidy_text(text)
    assert "arch.layers" not in new[0].unverified and "arch.layers" in new[1].unverified
    assert shared_facts(tidy_text(text)) == {"a/one": set(), "a/two": set()}


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        # a second `checks:` block: PyYAML alone would keep only the last one
        ("    checks: {arch.layers: " + CHECK + "}\n", "duplicate key 'checks'"),
        # a check for a fact the entry does not state: the tidied file would not validate
        ("    checks: {arch.vocab: " + CHECK + "}\n", "facts the entry does not state"),
    ],
    ids=["duplicate key", "invalid result"],
)
def test_tidy_leaves_a_file_it_cannot_tidy_untouched(tmp_path, capsys, damage, expected) -> None:
    from openscout.catalog.tidy import main

    entry = "  - id: a/one\n    name: One\n    params_b: 1\n    license: MIT\n"
    text = HEAD.format(version=2) + entry + "    arch: {layers: 2}\n" + damage
    if "duplicate" in expected:
        text += "    checks: {params_b: " + CHECK + "}\n"
    path = tmp_path / "family.yaml"
    path.write_text(text)
    assert main([str(path)]) == 1
    assert path.read_text() == text
    err = capsys.readouterr().err
    assert "not tidied, left as it was" in err and "family.yaml" in err, err
    assert expected in err, err
