"""The web model page states the licences the CLI states, from the same view
(catalog.views.licences): a distilled model names its own licence and its base model's."""

from __future__ import annotations

import html
import re
import subprocess
import sys

from fastapi.testclient import TestClient

from openscout.catalog.views import show_model

DISTILL = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"


def licence_section(page: str) -> str:
    found = re.search(r'<section id="licence">(.*?)</section>', page, re.S)
    assert found, "no licence section"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_the_page_names_own_and_inherited_licences_as_the_cli_does(
    client: TestClient, settings
) -> None:  # type: ignore[no-untyped-def]
    page = client.get(f"/models/{DISTILL}")
    assert page.status_code == 200
    section = " ".join(licence_section(page.text).split())
    assert "licence: MIT License" in section
    assert "also binding (from the base model): Llama 3.1 Community License Agreement" in section
    assert "700 million monthly active users" in section  # the inherited licence's terms
    assert "commercial use conditional" in section  # not MIT's "yes" on its own
    shown = show_model(DISTILL, settings=settings)["licences"]
    for terms in shown["binding"]:
        assert f"{terms['heading']}: {terms['name']}" in section
        assert f'href="{terms["url"]}"' in page.text
    assert f"commercial use: {shown['commercial_use']}" in page.text  # the header badge agrees


def test_a_model_without_a_base_names_one_licence(client: TestClient) -> None:
    section = licence_section(client.get("/models/HuggingFaceTB/SmolLM2-135M-Instruct").text)
    assert "licence: Apache License 2.0" in " ".join(section.split())
    assert "also binding" not in section


def test_the_cli_states_the_same_licences(cli_env: dict[str, str], settings) -> None:  # type: ignore[no-untyped-def]
    p = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "catalog", "show", DISTILL],
        env={**cli_env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    out = " ".join(p.stdout.split())
    shown = show_model(DISTILL, settings=settings)["licences"]
    for terms in shown["binding"]:
        assert f"{terms['heading']}: {terms['name']}" in out
    assert "all licences together: commercial use conditional, OSI-approved: no" in out
