"""The leaderboard page with imported results: it shows them, parses the imported cache once
per change rather than per view, and builds its data off the event loop (so /health answers
while a large cache is read)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import yaml
from fastapi.testclient import TestClient

from openscout.catalog import published
from openscout.catalog.leaderboard_import import import_results
from openscout.config import Settings
from openscout.server import data
from tests.catalog.test_import_bounds import SAMPLE, count_parses


@pytest.fixture
def board(settings: Settings, make_client: Callable[..., TestClient]) -> TestClient:
    """A server with a registered model whose catalog id has imported scores."""
    settings.ensure()
    spec = {"id": "small", "engine": "mock", "catalog_id": "acme/small-1b"}
    settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": [spec]}))
    import_results(str(SAMPLE), home=settings.home, cache_dir=settings.cache_dir)
    return make_client(engines=None, arena_models=None)


@pytest.fixture(autouse=True)
def no_cached_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(published, "_imported_cache", None)


def test_the_leaderboard_shows_imported_scores_and_parses_them_once(
    board: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_parses(monkeypatch)
    for _ in range(3):
        page = board.get("/leaderboard")
        assert page.status_code == 200
        table = page.text[page.text.index('id="published"') :]
        assert "acme/small-1b" in table and "IFEval (Open LLM Leaderboard v2)" in table
        assert "40" in table and "(a file on the serving machine)" in table  # by name only
    assert len(calls) == 1


def test_the_leaderboard_data_is_built_off_the_event_loop(
    board: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[bool] = []
    real = data.published_rows

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: no loop runs here
            on_loop.append(False)
        else:
            on_loop.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "published_rows", spy)
    assert board.get("/leaderboard").status_code == 200
    assert on_loop == [False]


@pytest.mark.parametrize("planted", ["pipe", "deep"])
def test_a_hostile_report_in_the_reports_folder_is_skipped(settings, planted: str) -> None:  # type: ignore[no-untyped-def]
    """`reports/*/report.json` was read whole with read_text on every view: a pipe held the
    page's thread for ever, 100,000 levels of nesting answered 500, and a 600 MB file was
    read each time (31st probe, medium)."""
    import os

    from openscout.server.app import create_app

    path = settings.reports_dir / "planted" / "report.json"
    path.parent.mkdir(parents=True)
    if planted == "pipe":
        os.mkfifo(path)
    else:
        path.write_text("[" * 100_000 + "]" * 100_000)
    client = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    for page in ("/leaderboard", "/"):
        assert client.get(page).status_code == 200
