"""`openscout catalog ...` as a user runs it: a subprocess, JSON checked against the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from openscout.catalog import assess_openness, load_catalog

CLI = [sys.executable, "-m", "openscout.cli.main"]


def _run(args: list[str], env: dict[str, str], code: int = 0) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == code, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def _search(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    items = json.loads(_run(["catalog", "search", *args, "--json"], env).stdout)
    assert isinstance(items, list)  # every match, no page: `--json | jq length` counts them
    return items


def test_issue_search_example_each_filter_then_combined(cli_env: dict[str, str]) -> None:
    cat = load_catalog()

    def check(items: list[dict[str, Any]], task: bool, osi: bool, small: bool) -> set[str]:
        ids = {i["id"] for i in items}
        expected = set()
        for e in cat:
            a = assess_openness(e, cat)
            if (
                (not task or "text-generation" in e.tasks)
                and (not osi or a.osi_approved)
                and (not small or e.params_b <= 8)
            ):
                expected.add(e.id)
        assert ids == expected
        return ids

    only_task = check(_search(["--task", "text-generation"], cli_env), True, False, False)
    only_osi = check(_search(["--license", "osi"], cli_env), False, True, False)
    only_small = check(_search(["--max-params", "8B"], cli_env), False, False, True)
    combined = check(
        _search(["--task", "text-generation", "--license", "osi", "--max-params", "8B"], cli_env),
        True,
        True,
        True,
    )
    assert combined == only_task & only_osi & only_small
    assert combined and combined < only_task


def test_tree_lists_the_mistral_fine_tunes(cli_env: dict[str, str]) -> None:
    data = json.loads(
        _run(["catalog", "tree", "mistralai/Mistral-7B-v0.1", "--json"], cli_env).stdout
    )
    text = json.dumps(data)
    assert "BioMistral/BioMistral-7B" in text and "nvidia/OpenMath-Mistral-7B-v0.1-hf" in text
    human = _run(["catalog", "tree", "mistralai/Mistral-7B-v0.1"], cli_env).stdout
    assert (
        "BioMistral/BioMistral-7B" in human
        and "OpenMath-Mistral-7B" in human
        and "inferred" in human
    )


def test_show_gemma_custom_terms_with_evidence_tree_and_fit(cli_env: dict[str, str]) -> None:
    data = json.loads(_run(["catalog", "show", "google/gemma-3-270m", "--json"], cli_env).stdout)
    assert data["openness"]["label"] == "restricted weights"
    assert data["license_terms"]["name"] == "Gemma Terms of Use"
    assert any("Prohibited Use Policy" in r for r in data["license_terms"]["restrictions"])
    assert all(c["evidence"] for c in data["openness"]["criteria"].values())
    assert data["facts"]["sources"]["params_b"].startswith("https://")
    assert "google/gemma-3-270m-it" in json.dumps(data["tree"])
    assert data["fit"]["verdict"] in ("fits comfortably", "tight", "does not fit")
    human = _run(["catalog", "show", "nvidia/OpenMath-Mistral-7B-v0.1-hf"], cli_env).stdout
    assert "inherited gap" in human and "mistralai/Mistral-7B-v0.1" in human


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["catalog", "show", "nobody/nothing"], "not in the catalog"),
        (["catalog", "tree", "Mistral-7B"], "did you mean"),
        (["catalog", "search", "--max-params", "lots"], "parameter count"),
        (["catalog", "search", "--quant", "Q9"], "unknown quantization"),
        (["catalog", "search", "--label", "mostly open"], "label"),
    ],
)
def test_bad_input_gets_a_clear_error(
    cli_env: dict[str, str], args: list[str], needle: str
) -> None:
    p = _run(args, cli_env, code=2)
    assert needle in p.stderr and "Traceback" not in p.stderr
