"""A user's catalog files (`<data dir>/catalog/*.yaml`) of hostile shapes: a chain of 700
fine-tunes went past Python's stack in every tree reader ("unexpected error: RecursionError",
a 500 on the model page), and a bad file was parsed again on every page view, on the event
loop (seventeenth probe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openscout.catalog import family_tree, loader
from openscout.catalog.lineage import MAX_TREE_DEPTH
from openscout.config import Settings
from openscout.server.app import create_app
from tests.server.conftest import BASE, mock_engines

FACTS = (
    "license, params_b, openness.weights, openness.training_data,"
    " openness.training_code, openness.evaluation_code, openness.training_logs"
)


def _chain(home: Path, n: int) -> None:
    (home / "catalog").mkdir(parents=True, exist_ok=True)
    lines = [
        "version: 2",
        "defaults: {organisation: Evil, family: Evil, tasks: [text-generation]}",
        "models:",
    ]
    for i in range(n):
        base = f", base_model: evil/m{i - 1}, relation: fine-tune" if i else ""
        facts = FACTS + (", base_model" if i else "")
        lines.append(
            f"  - {{id: evil/m{i}, name: m{i}, license: MIT, params_b: 1.0,"
            f" unverified: [{facts}]{base}}}"
        )
    (home / "catalog" / "chain.yaml").write_text("\n".join(lines) + "\n")


def test_a_long_chain_of_fine_tunes_is_shown_to_a_bounded_depth(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    from tests.reliability.helpers import cli

    _chain(settings.home, 700)
    cat = loader.load_user_catalog(settings.home)
    tree = family_tree(cat, "evil/m0")
    assert tree["descendant_count"] == 699
    node, depth = tree["tree"], 0
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert depth == MAX_TREE_DEPTH and node["cut"]
    shown = cli(cli_env, "catalog", "tree", "evil/m0")  # Rich's tree: exit 0, no traceback
    assert "evil/m1 (fine-tune)" in shown.stdout and not shown.stderr
    as_json = cli(cli_env, "catalog", "tree", "evil/m0", "--json")
    assert '"cut": true' in as_json.stdout
    client = TestClient(create_app(settings, engines=mock_engines()), base_url=BASE)
    page = client.get("/models/evil/m0")
    assert page.status_code == 200 and "deeper generations, not shown" in page.text


def test_a_bad_user_catalog_file_is_read_once_per_change(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings.home / "catalog").mkdir(parents=True)
    bad = settings.home / "catalog" / "bad.yaml"
    bad.write_text("models:\n  - [1, 2]\n")  # no version: refused
    reads: list[str | None] = []
    real = loader._load
    monkeypatch.setattr(loader, "_load", lambda folder: reads.append(folder) or real(folder))
    loader.forget_catalogs()
    client = TestClient(create_app(settings, engines=mock_engines()), base_url=BASE)
    for _ in range(3):
        assert client.get("/").status_code == 200
        assert client.get("/catalog").status_code == 200  # the curated catalog, served
    assert reads.count(str(settings.home / "catalog")) == 1
    bad.write_text("models:\n  - [1, 2, 3]\n")  # changed: read again
    client.get("/")
    assert reads.count(str(settings.home / "catalog")) == 2


def test_catalogs_of_few_folders_are_kept(tmp_path: Path) -> None:
    """The cache held every folder a process ever read (the lru_cache it replaced held 4)."""
    loader.forget_catalogs()
    for i in range(10):
        (tmp_path / f"d{i}").mkdir()
        loader.load_catalog(tmp_path / f"d{i}")
    assert len(loader._kept) == loader.MAX_KEPT


def test_fit_finds_an_entry_of_the_users_catalog(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    """`catalog show` found it and `fit` said "neither a catalog id ..." (nineteenth probe)."""
    from tests.reliability.helpers import cli

    _chain(settings.home, 1)
    shown = cli(cli_env, "catalog", "show", "evil/m0", "--json")
    fit = cli(cli_env, "fit", "evil/m0", "--json")
    assert (
        json.loads(shown.stdout)["facts"]["id"] == json.loads(fit.stdout)["catalog_id"] == "evil/m0"
    )
