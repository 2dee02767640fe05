"""The curated data loads, is complete where the issue demands, and malformed files fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.catalog import load_catalog
from openscout.catalog.licenses import LICENSES
from openscout.catalog.loader import load_entries, load_file
from openscout.catalog.schema import CRITERIA
from openscout.errors import DataFileError

LESSON_MODELS = [
    "allenai/OLMo-7B",
    "meta-llama/Llama-2-7b-hf",
    "meta-llama/Llama-2-13b-hf",
    "meta-llama/Llama-2-70b-hf",
    "meta-llama/Llama-2-7b-chat-hf",
    "elyza/ELYZA-japanese-Llama-2-7b",
    "TencentARC/LLaMA-Pro-8B",
    "mistralai/Mistral-7B-v0.1",
    "mistralai/Mixtral-8x7B-v0.1",
    "BioMistral/BioMistral-7B",
    "nvidia/OpenMath-Mistral-7B-v0.1-hf",
    "tiiuae/falcon-7b",
    "tiiuae/falcon-40b",
    "OpenAssistant/falcon-40b-sft-top1-560",
    "nomic-ai/gpt4all-falcon",
]
FAMILIES_TODAY = [
    "Llama 3",
    "Llama 3.1",
    "Llama 3.2",
    "Qwen2.5",
    "Qwen3",
    "Gemma 2",
    "Gemma 3",
    "Phi-3",
    "Phi-4",
    "SmolLM2",
    "OLMo 2",
    "Pythia",
    "BLOOM",
    "TinyLlama",
    "DeepSeek",
    "Granite",
]

GOOD = """
version: 1
defaults:
  organisation: Test Org
  family: Test
  license: Apache-2.0
  tasks: [text-generation]
models:
  - id: test/good-1b
    name: Good 1B
    params_b: 1.0
  - id: test/bad-1b
    name: Bad 1B
    params_b: {value}
"""


def test_catalog_size_and_lesson_models() -> None:
    cat = load_catalog()
    assert len(cat) >= 60
    for hf_id in LESSON_MODELS:
        assert cat.get(hf_id) is not None, hf_id
    families = {e.family for e in cat}
    assert set(FAMILIES_TODAY) <= families, set(FAMILIES_TODAY) - families


def test_embedded_models_have_exact_ids_and_licences() -> None:
    cat = load_catalog()
    smol = cat.get("HuggingFaceTB/SmolLM2-135M-Instruct")
    gemma = cat.get("google/gemma-3-270m")
    assert smol is not None and smol.id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert smol.license == "Apache-2.0"
    assert gemma is not None and gemma.id == "google/gemma-3-270m"
    assert gemma.license == "gemma"
    # the ids the registry links to resolve in the catalog
    from openscout.config import Settings
    from openscout.models import bundled_specs

    for spec in bundled_specs(Settings()):
        assert cat.get(spec.catalog_id) is not None


def test_every_fact_is_cited_and_every_base_is_known() -> None:
    cat = load_catalog()
    for e in cat:
        assert str(e.card).startswith("https://"), e.id
        assert e.license in LICENSES
        if e.arch.has_numbers:
            assert str(e.arch.source).startswith("https://"), e.id
        for name in CRITERIA:
            ev = getattr(e.openness, name)
            assert ev.status == "unknown" or str(ev.source).startswith("https://"), (e.id, name)
        if e.base_model:
            assert cat.get(e.base_model) is not None, (
                f"{e.id}: base {e.base_model} not in the catalog"
            )
        if e.arch.type == "moe":
            assert e.active_params_b and e.active_params_b < e.params_b


def test_lookup_is_case_insensitive() -> None:
    cat = load_catalog()
    assert cat.get("MISTRALAI/mistral-7b-v0.1").id == "mistralai/Mistral-7B-v0.1"
    assert cat.get("nobody/nothing") is None


def test_defaults_merge_into_entries(tmp_path: Path) -> None:
    entries = load_file(tmp_path / "x.yaml", GOOD.format(value=2.0))
    assert [e.organisation for e in entries] == ["Test Org", "Test Org"]
    assert entries[1].params_b == 2.0


def _fails(text: str) -> DataFileError:
    with pytest.raises(DataFileError) as info:
        load_file("data/broken.yaml", text)
    return info.value


def test_wrong_type_names_file_entry_field_and_line() -> None:
    text = GOOD.format(value='"many"')
    line = text.splitlines().index('    params_b: "many"') + 1
    err = _fails(text)
    assert err.path == "data/broken.yaml"
    assert err.entry == "test/bad-1b"
    assert err.field == "params_b"
    assert err.line == line == 14
    assert (
        f"data/broken.yaml:{line}" in str(err)
        and "test/bad-1b" in str(err)
        and "params_b" in str(err)
    )


def test_unknown_field_is_rejected() -> None:
    text = GOOD.format(value=1.0).replace("    name: Bad 1B", "    name: Bad 1B\n    parameters: 7")
    err = _fails(text)
    assert (err.entry, err.field) == ("test/bad-1b", "parameters")


def test_nested_field_is_named() -> None:
    text = GOOD.format(value=1.0) + "    arch: {layers: 32, heads: 32, kv_heads: 5}\n"
    err = _fails(text)
    assert err.entry == "test/bad-1b" and err.field == "arch"
    assert "kv_heads 5 must divide heads 32" in str(err)
    text = (
        GOOD.format(value=1.0) + "    openness: {weights: {status: open, evidence: on the Hub}}\n"
    )
    err = _fails(text)
    assert err.field == "openness.weights" and "source" in str(err)
    text = GOOD.format(value=1.0) + "    openness: {weights: {status: opened, evidence: x y z}}\n"
    assert _fails(text).field == "openness.weights.status"


def test_missing_required_and_unknown_licence() -> None:
    text = GOOD.format(value=1.0).replace("    name: Bad 1B\n", "")
    assert (_fails(text).entry, _fails(text).field) == ("test/bad-1b", "name")
    text = GOOD.format(value=1.0) + "    license: my-own-licence\n"
    err = _fails(text)
    assert (err.entry, err.field) == ("test/bad-1b", "license")


def test_base_without_relation_and_bad_id() -> None:
    err = _fails(GOOD.format(value=1.0) + "    base_model: test/good-1b\n")
    assert err.entry == "test/bad-1b" and "relation" in str(err)
    err = _fails(GOOD.format(value=1.0).replace("test/bad-1b", "not an id"))
    assert err.entry == "not an id" and err.field == "id"


def test_malformed_yaml_and_bad_top_level() -> None:
    err = _fails("version: 1\nmodels:\n  - id: [unclosed\n")
    assert err.path == "data/broken.yaml" and err.line is not None
    err = _fails("version: 3\nmodels: [{id: a/b}]\n")  # 1 and 2 are the known versions
    assert err.field == "version"


def test_duplicate_ids_across_files() -> None:
    one = GOOD.format(value=1.0)
    with pytest.raises(DataFileError) as info:
        load_entries([("a.yaml", one), ("b.yaml", one)])
    assert (
        info.value.path == "b.yaml"
        and info.value.entry == "test/good-1b"
        and "a.yaml" in str(info.value)
    )


def test_extra_data_dir_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD.format(value=3.0), encoding="utf-8")
    cat = load_catalog(tmp_path)
    assert cat.get("test/bad-1b").params_b == 3.0
    assert cat.get("allenai/OLMo-7B") is not None


def test_a_criterion_override_replaces_the_default_whole(tmp_path: Path) -> None:
    text = """
version: 1
defaults:
  organisation: O
  family: F
  license: MIT
  tasks: [text-generation]
  sources: {license: "https://example.org/licence"}
  openness:
    weights: {status: open, evidence: "on the Hub", source: "https://example.org/w"}
    training_code: {status: closed, evidence: "not released", source: "https://example.org/c"}
models:
  - id: o/a
    name: A
    params_b: 1
    sources: {released: "https://example.org/a"}
    openness:
      weights: {status: unknown, evidence: "not checked yet"}
"""
    (e,) = load_file(tmp_path / "m.yaml", text)
    assert e.openness.weights.status == "unknown" and e.openness.weights.source is None
    assert e.openness.training_code.status == "closed"  # untouched criteria keep the default
    assert set(e.sources) == {"license", "released"}


def test_curated_unknowns_carry_no_stray_source() -> None:
    for e in load_catalog():
        for name in CRITERIA:
            ev = getattr(e.openness, name)
            assert ev.status != "unknown" or ev.source is None, (e.id, name)


def test_a_release_known_only_to_the_month_is_stated_as_a_month(tmp_path: Path) -> None:
    """Month-only sources (`Model Release Date: December 2024`) were stored as the 1st, a day
    no source gave (independent sample check, issue 18): `released: 2024-12` keeps the month."""
    text = GOOD.format(value=1.0).replace(
        "    name: Good 1B\n", "    name: Good 1B\n    released: 2024-12\n", 1
    )
    assert "released: 2024-12" in text
    path = tmp_path / "m.yaml"
    path.write_text(text)
    entry = load_file(path)[0]
    assert entry.released_precision == "month" and entry.released_text == "2024-12"
    assert entry.model_dump(mode="json")["released"] == "2024-12"
    path.write_text(text.replace("released: 2024-12", "released: 2024-13"))
    with pytest.raises(DataFileError, match="month 13"):
        load_file(path)
    phi = load_catalog().get("microsoft/Phi-4-mini-instruct")
    assert phi is not None and phi.released_text == "2025-02"  # "Release date: February 2025"
