"""`openscout compare --json` on the two embedded models, end to end, and its HTML report in
headless Chromium (charts drawn, screenshot saved under artifacts/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openscout.compare import candidate
from openscout.comparison import ModelComparison
from openscout.recommend import Constraints, recommend

pytestmark = pytest.mark.real_model
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
MODELS = {"smollm2-135m-instruct", "gemma-3-270m"}


@pytest.fixture(scope="module")
def compared(
    tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path
) -> tuple[dict[str, Any], Path]:
    home = tmp_path_factory.mktemp("compare-home")
    out = tmp_path_factory.mktemp("compare-report")
    env = dict(
        os.environ,
        OPENSCOUT_HOME=str(home),
        OPENSCOUT_MODELS_DIR=str(shared_models_dir),
        OPENSCOUT_THREADS="2",
    )
    # small settings keep the test quick; the defaults are timed by hand (see docs/metrics.md)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "openscout.cli.main",
            "compare",
            "--json",
            "--out",
            str(out),
            "--limit",
            "5",
            "--repeats",
            "1",
            "--max-tokens",
            "16",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out


def test_compare_json_gives_every_figure_for_each_model(
    compared: tuple[dict[str, Any], Path],
) -> None:
    result, _ = compared
    assert {m["id"] for m in result["models"]} == MODELS
    for m in result["models"]:
        assert m["errors"] == [], m["errors"]
        q = m["quality"]
        assert q["suite"] == "quick" and q["n"] > 0
        assert q["ci_low"] <= q["score"] <= q["ci_high"]
        assert m["output_tps"] > 0 and m["ttft_s"] > 0 and m["memory_bytes"] > 0
        assert m["cost"]["blended_per_m"] > 0 and m["cost"]["input_per_m"] > 0
        assert m["openness"]["label"] and m["openness"]["mof_class"]
        assert m["license"]
    by_id = {m["id"]: m for m in result["models"]}
    assert by_id["smollm2-135m-instruct"]["openness"]["osi_approved"] is True
    assert by_id["gemma-3-270m"]["openness"]["osi_approved"] is False
    rec = result["recommendation"]
    assert rec["recommended"] in MODELS and rec["reasons"]
    assert rec["reasons"][0].startswith(f"{rec['recommended']} is recommended")
    assert set(result["report"]) == {"html", "markdown", "json"}


def test_constraints_on_the_real_figures(compared: tuple[dict[str, Any], Path]) -> None:
    result, _ = compared
    cands = [candidate(ModelComparison.model_validate(m)) for m in result["models"]]
    r = recommend(cands, Constraints(osi_required=True))
    assert r.recommended == "smollm2-135m-instruct"
    assert any(
        x.startswith("gemma-3-270m is excluded: its licence (")
        and x.endswith("is not OSI-approved")
        for x in r.reasons
    )
    none = recommend(cands, Constraints(min_tps=1e6))
    assert none.recommended is None and none.message.startswith(
        "no model satisfies speed >= 1e+06 tokens/s"
    )


@pytest.mark.browser
def test_html_report_draws_its_charts_in_chromium(compared: tuple[dict[str, Any], Path]) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium to run the browser test")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright to run the browser test"
    )
    _, out = compared
    html = out / "report.html"
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html.as_uri())
            page.wait_for_selector("[data-drawn='true']", timeout=30_000)
            page.wait_for_function(
                "document.querySelectorAll(\"[data-drawn='true']\").length === 3", timeout=30_000
            )
            assert page.locator(".chart .main-svg").count() >= 3
            assert page.locator("#chart-quality-vs-cost .scatterlayer .point").count() == 2
            assert page.locator("#chart-quality-vs-speed .scatterlayer .point").count() == 2
            assert (
                page.locator("#chart-openness .hm").count()
                + page.locator("#chart-openness image").count()
                >= 1
            )
            assert page.locator("table tbody tr").count() >= 2
            page.screenshot(path=str(ARTIFACTS / "compare-report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert all(u.startswith("file://") for u in requests), (
        requests
    )  # nothing fetched from the network
