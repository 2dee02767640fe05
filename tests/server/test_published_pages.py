"""The model page and the leaderboard show published scores (with sources) apart from the
user's own results."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient

from openscout.server.app import create_app


def test_model_page_and_leaderboard_show_published_beside_yours(settings) -> None:  # type: ignore[no-untyped-def]
    from openscout.evals.runner import run_eval

    settings.ensure()
    spec = {
        "id": "q",
        "engine": "mock",
        "catalog_id": "Qwen/Qwen2.5-72B-Instruct",
        "options": {"default": "4"},
    }
    settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": [spec]}))
    run_eval(settings, "arithmetic", ["q"], limit=3)
    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    page = c.get("/models/Qwen/Qwen2.5-72B-Instruct")
    assert page.status_code == 200
    published = page.text[page.text.index('id="published-scores"') :]
    assert (
        "MMLU-PRO" in published and "51.4" in published and "Open LLM Leaderboard v2" in published
    )
    assert "github.com/nipun-taneja" in published
    assert page.text.index("Published results") < page.text.index("Measurements (yours)")
    board = c.get("/leaderboard")
    table = board.text[board.text.index('id="published"') :]
    assert "IFEval (Open LLM Leaderboard v2)" in table and "86.38" in table
    assert "on arithmetic (n=3)" in table  # yours, in its own column
