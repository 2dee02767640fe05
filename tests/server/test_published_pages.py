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


def test_yours_beside_published_says_how_many_items_failed(settings) -> None:  # type: ignore[no-untyped-def]
    """A score of 1.000 (n=5) whose five other items had failed was shown there as
    complete; the evaluations table had the failed count (37th probe, low)."""
    from openscout.evals.runner import run_eval
    from openscout.models import ModelSpec, add_model
    from tests.engines.fake_openai import FakeServer, serve

    # a 404 for the first request: an item failed (a refusal of one prompt is a miss now)
    missing = (404, {"error": {"message": "no such model"}})
    fake = FakeServer("refuse", reply=lambda p: "4", misbehave_first=1, refusal=missing)
    with serve(fake):
        spec = ModelSpec(
            id="r",
            engine="openai",
            base_url=fake.url,
            model="fake",
            catalog_id="Qwen/Qwen2.5-72B-Instruct",
        )
        add_model(settings, spec, replace=True)
        run_eval(settings, "arithmetic", ["r"], limit=3, parallel=1)
    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    board = c.get("/leaderboard")
    table = board.text[board.text.index('id="published"') :]
    assert "on arithmetic (n=2, 1 failed)" in table


def test_a_file_suite_is_shown_with_its_file(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A file suite named `"quick "` or `"qu\\u0456ck"` (Cyrillic i) passed the built-in name
    check and was shown as `quick` (39th probe, medium): file suites carry their file's name."""
    from openscout.evals.runner import run_eval

    settings.ensure()
    spec = {"id": "q", "engine": "mock", "catalog_id": "Qwen/Qwen2.5-72B-Instruct",
            "options": {"default": "yes"}}  # fmt: skip
    settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": [spec]}))
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        'name: "qu\\u0456ck"\nprompts: [hi]\ntests:\n  - assert: [{type: contains, value: e}]\n'
    )
    run_eval(settings, str(suite), ["q"])
    board = TestClient(create_app(settings), base_url="http://127.0.0.1:8765").get("/leaderboard")
    assert "qu\u0456ck (file mine.yaml)" in board.text
    table = board.text[board.text.index('id="published"') :]
    assert "on qu\u0456ck (file mine.yaml) (n=1)" in table


def test_a_model_registered_again_under_the_same_id_is_not_shown_with_the_old_scores(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """Pages named a result by the model's id alone: a model removed and registered again
    under that id (another file, server or setting) took the old model's scores as "yours"
    (38th probe, low). Those results are marked as an earlier model's and kept out of it."""
    from openscout.evals.runner import run_eval

    settings.ensure()

    def register(answer: str) -> None:
        spec = {
            "id": "q",
            "engine": "mock",
            "catalog_id": "Qwen/Qwen2.5-72B-Instruct",
            "options": {"default": answer},
        }
        settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": [spec]}))

    register("4")
    run_eval(settings, "arithmetic", ["q"], limit=3)
    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    board = c.get("/leaderboard").text
    assert "on arithmetic (n=3)" in board and "(an earlier model)" not in board
    register("no idea")  # another model under the same id, not evaluated yet
    board = c.get("/leaderboard").text
    evals = board[board.index('id="evals"') : board.index("</table>", board.index('id="evals"'))]
    assert evals.count("(an earlier model)") == 1
    assert "on arithmetic (n=3)" not in board[board.index('id="published"') :]
    page = c.get("/models/Qwen/Qwen2.5-72B-Instruct").text
    assert "(an earlier model)" in page
    from openscout.catalog.views import published_and_yours

    assert published_and_yours("Qwen/Qwen2.5-72B-Instruct", settings)["yours"] == []
    run_eval(settings, "arithmetic", ["q"], limit=3)  # the new model's own result
    assert len(published_and_yours("Qwen/Qwen2.5-72B-Instruct", settings)["yours"]) == 1
    board = c.get("/leaderboard").text
    assert "on arithmetic (n=3)" in board[board.index('id="published"') :]
