"""The openness judgement: expected outcomes on real entries, and its rules on synthetic ones."""

from __future__ import annotations

from typing import Any

import pytest

from openscout.catalog import assess_openness, load_catalog
from openscout.catalog.loader import Catalog
from openscout.catalog.schema import CRITERIA, ModelEntry

SRC = "https://example.org/evidence"


def _a(hf_id: str) -> Any:
    cat = load_catalog()
    entry = cat.get(hf_id)
    assert entry is not None, hf_id
    return assess_openness(entry, cat)


@pytest.mark.parametrize(
    "hf_id", ["allenai/OLMo-7B", "EleutherAI/pythia-6.9b", "EleutherAI/pythia-70m"]
)
def test_fully_open_models_are_open_source_class_one(hf_id: str) -> None:
    a = _a(hf_id)
    assert a.label == "open source"
    assert a.mof_class == "I"
    assert a.osi_approved and a.commercial_use == "yes"
    assert all(c.status == "open" for c in a.criteria.values())
    assert all(c.evidence and c.sources for c in a.criteria.values())


@pytest.mark.parametrize("hf_id", ["meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-70b-chat-hf"])
def test_llama2_is_restricted_weights(hf_id: str) -> None:
    a = _a(hf_id)
    assert a.label == "restricted weights"
    assert a.mof_class == "none"
    assert not a.osi_approved
    assert a.commercial_use == "conditional"
    assert a.criteria["training_data"].status == "closed"
    assert any("700 million" in r for r in a.license["restrictions"])


def test_mistral_is_open_weights_with_osi_licence() -> None:
    a = _a("mistralai/Mistral-7B-v0.1")
    assert a.label == "open weights"
    assert a.osi_approved is True
    assert a.license["id"] == "Apache-2.0"
    assert a.mof_class == "III"
    assert a.criteria["weights"].status == "open"
    assert a.criteria["training_data"].status == "closed"


def test_domain_fine_tune_shows_base_and_inherited_gaps() -> None:
    a = _a("nvidia/OpenMath-Mistral-7B-v0.1-hf")
    assert a.base_chain == ["mistralai/Mistral-7B-v0.1"]
    data = a.criteria["training_data"]
    assert data.own_status == "open"  # OpenMathInstruct-1 is published ...
    assert data.status == "closed"  # ... but Mistral's pretraining data is not
    assert data.inherited_from == "mistralai/Mistral-7B-v0.1"
    assert any("inherited from mistralai/Mistral-7B-v0.1" in ev for ev in data.evidence)
    assert any(g.startswith("training datasets: closed") for g in a.inherited_gaps)
    assert a.label == "open weights"  # open fine-tuning data cannot make it open source


def test_llama2_fine_tune_inherits_licence_and_gaps() -> None:
    a = _a("elyza/ELYZA-japanese-Llama-2-7b")
    assert a.base_chain == ["meta-llama/Llama-2-7b-hf"]
    assert a.label == "restricted weights"
    assert a.criteria["training_data"].status == "closed"  # own: unknown, base: closed
    assert a.criteria["training_data"].own_status == "unknown"


def test_two_level_chain_through_an_inferred_link() -> None:
    a = _a("BioMistral/BioMistral-7B")
    assert a.base_chain == ["mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-v0.1"]
    assert a.criteria["training_data"].inherited_from == "mistralai/Mistral-7B-v0.1"
    assert any("inferred from the model card" in r for r in a.reasons)


def test_gemma3_shows_custom_terms() -> None:
    a = _a("google/gemma-3-270m")
    assert a.label == "restricted weights"
    assert a.license["id"] == "gemma" and a.license["name"] == "Gemma Terms of Use"
    assert a.license["kind"] == "restricted" and not a.osi_approved
    assert any("Prohibited Use Policy" in r for r in a.license["restrictions"])
    assert any("Gemma Terms of Use" in r for r in a.reasons)


def test_smollm2_embedded_model_is_open_source_but_not_class_one() -> None:
    a = _a("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert a.label == "open source"
    assert a.mof_class == "II"  # no public training logs found: unknown is not open
    assert a.criteria["training_logs"].status == "unknown"


def test_non_commercial_licence() -> None:
    a = _a("CohereForAI/aya-expanse-8b")
    assert a.commercial_use == "no" and a.label == "restricted weights"


# -- rules on synthetic entries ------------------------------------------------------------------


def _entry(
    hf_id: str, statuses: dict[str, str], license: str = "Apache-2.0", **extra: Any
) -> ModelEntry:
    openness = {
        name: {"status": statuses.get(name, "open"), "evidence": f"{name} evidence", "source": SRC}
        for name in CRITERIA
    }
    for v in openness.values():
        if v["status"] == "unknown":
            v.pop("source")
    return ModelEntry.model_validate(
        {
            "id": hf_id,
            "name": hf_id,
            "organisation": "o",
            "family": "f",
            "params_b": 1.0,
            "license": license,
            "tasks": ["text-generation"],
            "openness": openness,
            **extra,
        }
    )


@pytest.mark.parametrize("name", CRITERIA)
def test_unknown_is_never_open(name: str) -> None:
    e = _entry("t/m", {name: "unknown"})
    a = assess_openness(e, Catalog([e]))
    assert a.criteria[name].status == "unknown"
    assert a.mof_class != "I"
    if name in ("weights", "training_data", "training_code"):
        assert a.label != "open source"


@pytest.mark.parametrize(
    ("statuses", "license", "label", "mof"),
    [
        ({}, "Apache-2.0", "open source", "I"),
        ({"training_logs": "partial"}, "Apache-2.0", "open source", "II"),
        ({"evaluation_code": "closed"}, "Apache-2.0", "open source", "III"),
        ({"training_data": "closed", "training_code": "closed"}, "MIT", "open weights", "III"),
        ({}, "CC-BY-4.0", "open weights", "I"),  # open, but not an OSI licence
        ({}, "llama3.1", "restricted weights", "none"),
        ({"weights": "partial"}, "Apache-2.0", "restricted weights", "none"),
        ({}, "unknown", "restricted weights", "none"),
    ],
)
def test_label_and_class_rules(
    statuses: dict[str, str], license: str, label: str, mof: str
) -> None:
    e = _entry("t/m", statuses, license)
    a = assess_openness(e, Catalog([e]))
    assert (a.label, a.mof_class) == (label, mof)


def test_fine_tune_cannot_be_more_open_than_its_base() -> None:
    base = _entry("t/base", {"training_data": "closed", "training_logs": "partial"}, "Apache-2.0")
    tune = _entry("t/tune", {}, "Apache-2.0", base_model="t/base", relation="fine-tune")
    a = assess_openness(tune, Catalog([base, tune]))
    assert a.criteria["training_data"].status == "closed"
    assert a.criteria["training_logs"].status == "partial"
    assert a.criteria["weights"].status == "open"  # a fine-tune's weights are its own
    assert a.label == "open weights" and a.mof_class == "II"


def test_adapter_inherits_weights_and_licence_flows_down() -> None:
    base = _entry("t/base", {"weights": "partial"}, "llama2")
    adapter = _entry("t/lora", {}, "MIT", base_model="t/base", relation="adapter")
    a = assess_openness(adapter, Catalog([base, adapter]))
    assert a.criteria["weights"].status == "partial"
    assert not a.osi_approved  # the base's licence still binds
    assert [lic["id"] for lic in a.inherited_licenses] == ["llama2"]
    assert a.label == "restricted weights"


def test_missing_base_makes_inherited_criteria_unknown() -> None:
    tune = _entry("t/tune", {}, "Apache-2.0", base_model="t/elsewhere", relation="fine-tune")
    a = assess_openness(tune, Catalog([tune]))
    assert a.criteria["training_data"].status == "unknown"
    assert a.label == "open weights" and a.mof_class == "III"
    assert any("not in the catalog" in r for r in a.reasons)


def test_cycles_do_not_loop() -> None:
    a1 = _entry("t/a", {}, base_model="t/b", relation="merge")
    b1 = _entry("t/b", {}, base_model="t/a", relation="merge")
    a = assess_openness(a1, Catalog([a1, b1]))
    assert a.model_id == "t/a"


def test_assessment_is_pure() -> None:
    cat = load_catalog()
    e = cat.get("BioMistral/BioMistral-7B")
    assert assess_openness(e, cat) == assess_openness(e, cat)


def test_a_quantization_is_exactly_as_open_as_its_base() -> None:
    q, base = _a("TheBloke/Llama-2-7B-Chat-GGUF"), _a("meta-llama/Llama-2-7b-chat-hf")
    for name in ("training_data", "training_code", "training_logs"):
        assert q.criteria[name].status == base.criteria[name].status
    assert q.label == base.label == "restricted weights"
    assert [lic["id"] for lic in q.inherited_licenses] == []  # same licence as its own: llama2


def test_a_shared_memo_changes_nothing() -> None:
    cat = load_catalog()
    memo: dict[str, Any] = {}
    assert [assess_openness(e, cat, memo) for e in cat] == [assess_openness(e, cat) for e in cat]
