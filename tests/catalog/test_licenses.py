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
