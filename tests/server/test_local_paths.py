"""Files of the serving machine are named by their name only on the pages: a fine-tune's
model page showed five absolute paths (its training data, adapter, the database, openscout's
own code): the home folder, the data dir and the install, to anyone the server answers (30th
probe, medium). An imported leaderboard's source is such a file too."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openscout.catalog.leaderboard_import import import_results
from openscout.config import Settings
from openscout.models import get_model
from openscout.server.app import create_app
from openscout.tune import register
from tests.server.conftest import BASE, mock_engines

SAMPLE = Path(__file__).parents[1] / "catalog" / "fixtures" / "leaderboard" / "contents_sample.csv"
SHOWN = "{} (a file on the serving machine)"


def _pages(settings: Settings, *paths: str) -> str:
    client = TestClient(create_app(settings, engines=mock_engines()), base_url=BASE)
    pages = [client.get(p) for p in paths]
    assert all(p.status_code == 200 for p in pages), [p.status_code for p in pages]
    return "".join(p.text for p in pages)


def _no_paths(html: str, *paths: Path) -> None:
    for path in paths:
        assert str(path) not in html, path
    assert "file://" not in html


def test_a_fine_tunes_page_names_its_files_without_their_paths(
    settings: Settings, tmp_path: Path
) -> None:
    info = {
        "data_path": str(tmp_path / "private-folder" / "small.jsonl"),
        "data_sha256": "ab" * 32,
        "run_id": "r1",
        "rank": 4,
        "targets": ["q_proj"],
        "n_train": 8,
        "n_heldout": 2,
        "adapter_gguf": str(settings.home / "tune" / "t4" / "t4.lora.gguf"),
        "params": 134_515_008,
    }
    base = get_model(settings, "smollm2-135m-instruct")
    entry = register.catalog_entry(settings, base, "t4", info)  # as `tune` writes it
    register.write_catalog_entry(settings, entry, "t4")
    assert all(c["source"].startswith("file:///") for c in entry["openness"].values())
    html = _pages(settings, "/models/local/t4")
    _no_paths(html, tmp_path, settings.home, Path(register.__file__).parents[1])
    for name in ("small.jsonl", "t4.lora.gguf", "openscout.db", "train.py", "evals"):
        assert SHOWN.format(name) in html, name


def test_an_imported_leaderboards_file_is_named_without_its_path(
    settings: Settings, tmp_path: Path
) -> None:
    export = tmp_path / "private-folder" / "export.csv"
    export.parent.mkdir()
    # a bundled model's row, so that the pages show it (SmolLM2's curated row would win)
    export.write_text(SAMPLE.read_text().replace("acme/small-1b", "google/gemma-3-270m"))
    import_results(str(export), home=settings.home, cache_dir=settings.cache_dir)
    html = _pages(settings, "/leaderboard", "/models/google/gemma-3-270m")
    _no_paths(html, tmp_path)
    assert SHOWN.format("export.csv") in html


@pytest.mark.parametrize(
    "machines",
    ["machines:\n  box: [1, 2\n", "machines:\n  box:\n    memory: lots\n"],
    ids=["malformed", "a bad value"],
)
@pytest.mark.parametrize("folder", ["plain", "John Smith's files", "srv:data"])
def test_an_error_on_a_page_names_its_file_without_the_path(
    tmp_path: Path, machines: str, folder: str
) -> None:
    """A damaged machines.yaml put the data dir's path on the model and catalog pages, whose
    viewer chooses the machine (31st probe, medium); a path holding a space, a quote or a
    colon still showed (32nd probe, medium)."""
    settings = Settings(home=tmp_path / folder / ".openscout")
    settings.ensure()
    (settings.home / "machines.yaml").write_text(machines)
    html = _pages(settings, "/models/smollm2-135m-instruct?machine=box", "/catalog?machine=box")
    _no_paths(html, settings.home)
    assert folder not in html.replace("&#39;", "'")
    assert html.count("machines.yaml") >= 2  # on both pages, by its name
