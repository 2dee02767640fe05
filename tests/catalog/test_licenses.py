"""Licence normalisation, OSI approval, commercial use and restrictions."""

from __future__ import annotations

import pytest

from openscout.catalog.licenses import LICENSES, get_license, normalize_license


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("apache-2.0", "Apache-2.0"),
        ("Apache License 2.0", "Apache-2.0"),
        ("license:apache-2.0", "Apache-2.0"),
        ("mit", "MIT"),
        ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("llama2", "llama2"),
        ("LLAMA 2 COMMUNITY LICENSE", "llama2"),
        ("llama3.1", "llama3.1"),
        ("gemma", "gemma"),
        ("bigscience-bloom-rail-1.0", "bigscience-bloom-rail-1.0"),
        ("creativeml-openrail-m", "openrail"),
        ("other", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
        ("my-own-words", "unknown"),
    ],
)
def test_normalisation(name: str | None, expected: str) -> None:
    assert normalize_license(name) == expected


def test_osi_and_commercial_flags() -> None:
    for lid in ("Apache-2.0", "MIT", "BSD-3-Clause", "GPL-3.0-only"):
        lic = get_license(lid)
        assert lic.osi_approved and lic.commercial_use == "yes" and lic.free and lic.spdx == lid
    cc = get_license("CC-BY-4.0")
    assert not cc.osi_approved and cc.free  # open content licence, not an OSI software licence
    for lid in (
        "llama2",
        "llama3",
        "gemma",
        "qwen",
        "deepseek",
        "falcon-180b",
        "bigscience-bloom-rail-1.0",
    ):
        lic = get_license(lid)
        assert not lic.osi_approved and lic.kind == "restricted" and not lic.free
        assert lic.commercial_use == "conditional" and lic.restrictions
    assert get_license("CC-BY-NC-4.0").commercial_use == "no"
    assert get_license("qwen-research").commercial_use == "no"
    assert get_license("unknown").commercial_use == "unknown" and not get_license("unknown").free


def test_custom_terms_say_how_they_restrict() -> None:
    assert any("Prohibited Use Policy" in r for r in get_license("gemma").restrictions)
    assert any("700 million" in r for r in get_license("llama3.2").restrictions)
    assert any("hosting" in r for r in get_license("falcon-180b").restrictions)
    assert all(lic.url.startswith("https://") for lic in LICENSES.values())


# Licences read for issue 18: (id, a name Hub cards use, kind, commercial use, a restriction word)
_MODEL_LICENCES = [
    ("falcon-2.0", "TII Falcon License 2.0", "restricted", "conditional", "Acceptable Use"),
    ("falcon-llm-2.0", "falcon-llm-license", "restricted", "conditional", "Acceptable Use"),
    ("mistral-research", "mrl", "non-commercial", "no", "non-commercial"),
    ("mistral-non-production", "MNPL", "non-commercial", "no", "non-production"),
    ("devstral-modified-mit", "devstral-modified-mit", "restricted", "conditional", "$20 million"),
    ("minimax-modified-mit", "minimax-modified-mit", "restricted", "conditional", "name"),
    ("kimi-modified-mit", "kimi-modified-mit", "restricted", "conditional", "100 million"),
    ("dbrx", "Databricks Open Model License", "restricted", "conditional", "700 million"),
    ("exaone", "EXAONE AI Model License Agreement 1.2 - NC", "non-commercial", "no", "commercial"),
    ("lfm-open-1.0", "lfm1.0", "restricted", "conditional", "$10 million"),
    ("upstage-solar", "upstage-solar-license", "permissive", "yes", "Solar"),
    ("open-aleph", "open-aleph-license", "non-commercial", "no", "non-commercial"),
    (
        "ai-sweden-rail",
        "AI Sweden's LLM AI Model License Agreement",
        "restricted",
        "conditional",
        "Acceptable Use",
    ),
    ("aquila", "BAAI Aquila Model License Agreement", "restricted", "conditional", "revise"),
    (
        "baichuan",
        "Community License for Baichuan-13B Model",
        "restricted",
        "conditional",
        "registration",
    ),
    ("chatglm", "The ChatGLM2-6B License", "restricted", "conditional", "military"),
    ("chatglm3", "The ChatGLM3-6B License", "restricted", "conditional", "registering"),
    ("codegeex4", "The CodeGeeX4 License", "restricted", "conditional", "Built with CodeGeeX4"),
    ("yayi2", "YAYI 2 Community License", "restricted", "conditional", "registration"),
    ("apple-sample-code", "apple-sample-code-license", "permissive", "yes", "Apple"),
    ("CC-BY-NC-SA-4.0", "cc-by-nc-sa-4.0", "non-commercial", "no", "no commercial use"),
    (
        "stable-beluga-non-commercial",
        "STABLE BELUGA NON-COMMERCIAL COMMUNITY LICENSE AGREEMENT",
        "non-commercial",
        "no",
        "non-commercial",
    ),
]


@pytest.mark.parametrize(("lid", "hub_name", "kind", "commercial", "word"), _MODEL_LICENCES)
def test_model_licences_read_for_the_catalog(
    lid: str, hub_name: str, kind: str, commercial: str, word: str
) -> None:
    assert normalize_license(hub_name) == lid
    lic = get_license(lid)
    assert (lic.kind, lic.commercial_use, lic.osi_approved) == (kind, commercial, False)
    assert any(word in r for r in lic.restrictions)
    assert lic.free == (kind == "permissive")  # only the attribution-only licences are free


def test_vendor_modified_mit_licences_stay_apart() -> None:
    # each vendor's "modified MIT" says something different: no bare alias may pick one
    assert normalize_license("modified-mit") == "unknown"
    assert normalize_license("Modified MIT License") == "unknown"


def test_non_osi_permissive_licence_never_makes_open_source() -> None:
    from openscout.catalog.loader import Catalog
    from openscout.catalog.openness import assess_openness
    from openscout.catalog.schema import CRITERIA, ModelEntry

    src = "https://example.org/evidence"
    entry = ModelEntry.model_validate(
        {
            "id": "example/all-open",
            "name": "All open",
            "organisation": "example",
            "family": "example",
            "params_b": 1.0,
            "license": "apple-sample-code",
            "tasks": ["text-generation"],
            "openness": {c: {"status": "open", "evidence": c, "source": src} for c in CRITERIA},
        }
    )
    a = assess_openness(entry, Catalog([entry]))
    # every criterion open, licence without use restrictions but not OSI-approved
    assert a.label == "open weights" and not a.osi_approved and a.mof_class == "I"
