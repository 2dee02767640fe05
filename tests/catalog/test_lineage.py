"""Family trees, and base models inferred from model-card prose."""

from __future__ import annotations

from openscout.catalog import family_tree, load_catalog, search
from openscout.catalog.lineage import ancestors, descendants, infer_base

IDS = ["mistralai/Mistral-7B-v0.1", "tiiuae/falcon-40b", "meta-llama/Llama-2-7b-hf"]


def _ids(node: dict) -> list[str]:
    out = [node["id"]]
    for c in node["children"]:
        out += _ids(c)
    return out


def test_mistral_tree_lists_biomistral_and_openmath() -> None:
    tree = family_tree(load_catalog(), "mistralai/Mistral-7B-v0.1")
    ids = _ids(tree["tree"])
    assert "BioMistral/BioMistral-7B" in ids
    assert "nvidia/OpenMath-Mistral-7B-v0.1-hf" in ids
    assert tree["ancestors"] == []
    assert tree["descendant_count"] == len(ids) - 1


def test_tree_marks_inferred_links_with_their_sentence() -> None:
    tree = family_tree(load_catalog(), "mistralai/Mistral-7B-v0.1")
    child = next(
        c for c in tree["tree"]["children"] if c["id"] == "mistralai/Mistral-7B-Instruct-v0.1"
    )
    assert child["inferred"] is True
    assert "fine-tuned version of the Mistral-7B-v0.1" in child["evidence"]
    declared = next(
        c for c in tree["tree"]["children"] if c["id"] == "nvidia/OpenMath-Mistral-7B-v0.1-hf"
    )
    assert declared["inferred"] is False and declared["relation"] == "fine-tune"


def test_ancestors_of_a_two_level_derivative() -> None:
    chain = ancestors(load_catalog(), "BioMistral/BioMistral-7B")
    assert [link.base for link in chain] == [
        "mistralai/Mistral-7B-Instruct-v0.1",
        "mistralai/Mistral-7B-v0.1",
    ]
    tree = family_tree(load_catalog(), "BioMistral/BioMistral-7B")
    assert [a["base"] for a in tree["ancestors"]] == [link.base for link in chain]


def test_falcon_and_llama2_trees() -> None:
    cat = load_catalog()
    assert "OpenAssistant/falcon-40b-sft-top1-560" in descendants(cat, "tiiuae/falcon-40b")
    assert "nomic-ai/gpt4all-falcon" in descendants(cat, "tiiuae/falcon-7b")
    kids = descendants(cat, "meta-llama/Llama-2-7b-hf")
    assert {"elyza/ELYZA-japanese-Llama-2-7b", "TencentARC/LLaMA-Pro-8B"} <= set(kids)


def test_domain_fine_tunes_of_mistral_in_one_query() -> None:
    cat = load_catalog()
    for domain, expected in [
        ("medical", "BioMistral/BioMistral-7B"),
        ("math", "nvidia/OpenMath-Mistral-7B-v0.1-hf"),
    ]:
        r = search(cat, derived_from="mistralai/Mistral-7B-v0.1", domain=domain, limit=100)
        assert [i["id"] for i in r["items"]] == [expected]
    r = search(cat, derived_from="mistralai/Mistral-7B-v0.1", language="ja", limit=100)
    assert [i["id"] for i in r["items"]] == ["stabilityai/japanese-stablelm-base-gamma-7b"]


def test_infer_base_from_explicit_id() -> None:
    link = infer_base(
        "This model is a fine-tuned version of tiiuae/falcon-7b on chat data.", IDS, "x/y"
    )
    assert link is not None and link.base == "tiiuae/falcon-7b" and link.relation == "fine-tune"
    assert link.inferred and "fine-tuned version of tiiuae/falcon-7b" in link.evidence


def test_infer_base_from_a_written_name_and_unknown_ids() -> None:
    link = infer_base("We continued pretraining from Mistral 7B v0.1 on PubMed.", IDS)
    assert link is not None and link.base == "mistralai/Mistral-7B-v0.1"
    assert link.relation == "continued-pretraining"
    link = infer_base("Finetuned from model: someorg/some-model-3b", IDS)
    assert (
        link is not None and link.base == "someorg/some-model-3b"
    )  # not in the catalog, still named


def test_infer_base_needs_a_trigger_phrase() -> None:
    assert infer_base("Compare with mistralai/Mistral-7B-v0.1 in the table below.", IDS) is None
    assert infer_base("A model trained from scratch on 2T tokens.", IDS) is None
    # its own id is never its base
    assert infer_base("fine-tuned from x/y", ["x/y"], "x/y") is None


def test_tree_shows_quantizations() -> None:
    tree = family_tree(load_catalog(), "mistralai/Mistral-7B-v0.1")
    quant = [c for c in tree["tree"]["children"] if c["relation"] == "quantization"]
    assert [c["id"] for c in quant] == ["TheBloke/Mistral-7B-v0.1-GGUF"]
