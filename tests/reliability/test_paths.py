"""Names and paths that come from outside (Hub ids, URL paths, request fields, registry
entries) never make openscout write or read outside its data dir, and odd ones get a clear error.

Everything openscout writes under the data dir has a fixed name (models.yaml, openscout.db,
the assembled Gemma file, report.*) or a hashed one (the Hub cache); these tests send
traversal names, absolute paths and NUL bytes at each place a name enters from outside.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscout.catalog import hub as hubmod
from openscout.catalog import load_catalog
from openscout.config import Settings
from openscout.errors import ConfigError, OpenscoutError

HOSTILE = [
    "../x",
    "../../../../tmp/openscout-escape",
    "/etc/passwd",
    "/tmp/openscout-escape",
    "a\x00b",
    "..\\..\\windows",
    "%2e%2e/%2e%2e/x",
    "org/../../name",
    "",
]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _outside(tmp_path: Path, home: Path) -> set[Path]:
    """Every file under the test's tmp dir that is not inside the data dir."""
    return {p for p in _files(tmp_path) if home not in p.parents}


def test_hub_cache_names_are_hashes_inside_the_cache(settings: Settings, tmp_path: Path) -> None:
    before = _outside(tmp_path, settings.home)
    cache = hubmod.HubCache(settings.cache_dir)
    for i, key in enumerate(HOSTILE):
        cache.put("model", key, {"n": i})
        assert cache.get("model", key, None) == {"n": i}  # each key keeps its own entry
    written = _files(settings.cache_dir)
    assert len(written) == len(HOSTILE)
    root = (settings.cache_dir / "hub").resolve()
    assert all(root in p.resolve().parents for p in written)
    assert _outside(tmp_path, settings.home) == before
    assert not Path("/tmp/openscout-escape").exists()


class FakeApi:
    """Stands in for huggingface_hub.HfApi: answers whatever ids it is asked for or given."""

    endpoint = "http://127.0.0.1:9"

    def __init__(self, search_ids: list[str]) -> None:
        self.search_ids = search_ids

    def _info(self, hf_id: str) -> Any:
        return SimpleNamespace(
            id=hf_id,
            author="x",
            tags=["license:mit", "base_model:finetune:org/base"],
            siblings=[SimpleNamespace(rfilename="model.safetensors")],
            card_data=None,
            pipeline_tag="text-generation",
        )

    def model_info(self, hf_id: str, files_metadata: bool = False) -> Any:
        return self._info(hf_id)

    def list_models(self, **kwargs: Any) -> list[Any]:
        return [self._info(i) for i in self.search_ids]


def test_hostile_hub_ids_are_refused_and_never_become_paths(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeApi(["good/model", *HOSTILE, "gpt2"])
    monkeypatch.setattr(hubmod, "_api", lambda endpoint: api)
    monkeypatch.setattr(hubmod, "_probe", lambda api: None)
    monkeypatch.setattr(  # the search's page, as the library's parser would give it
        hubmod,
        "_search_records",
        lambda api, text, limit: [hubmod.record_from_info(i) for i in api.list_models()],
    )
    before = _outside(tmp_path, settings.home)
    catalog = load_catalog()
    found = hubmod.hub_search("anything", settings=settings, catalog=catalog)
    # the one well-formed id survives; the odd records are skipped, not fatal
    assert [e.id for e in found["entries"]] == ["good/model"]
    for bad in [*HOSTILE, "gpt2"]:
        with pytest.raises(OpenscoutError):  # a clear error, whatever the Hub said
            hubmod.hub_model(bad, settings=settings, catalog=catalog)
    assert _outside(tmp_path, settings.home) == before
    cache_root = (settings.cache_dir / "hub").resolve()
    assert all(cache_root in p.resolve().parents for p in _files(settings.home))


@pytest.mark.parametrize("model_id", HOSTILE)
def test_model_ids_with_traversal_are_refused(settings: Settings, model_id: str) -> None:
    from openscout.models import ModelSpec, add_model

    with pytest.raises(ConfigError):
        add_model(settings, ModelSpec(id=model_id, engine="mock"))
    assert not settings.models_file.exists()  # nothing was written


def test_model_paths_with_nul_or_not_gguf_get_clear_errors(settings: Settings) -> None:
    from openscout.models import ModelSpec, add_model

    for path in ["model\x00.gguf", "/etc/passwd", "../../../../etc/hostname"]:
        with pytest.raises(OpenscoutError):
            add_model(settings, ModelSpec(id="m", engine="llamacpp", path=path))
    assert not settings.models_file.exists()


# -- the server: URL paths and ids from clients -------------------------------------------------


@pytest.fixture
def client(settings: Settings) -> TestClient:
    from openscout.engines.mock import MockEngine
    from openscout.server.app import create_app

    app = create_app(settings, engines={"m": MockEngine("m"), "n": MockEngine("n")})
    return TestClient(app, base_url="http://127.0.0.1:8765")


SECRET_FILES = ["etc/passwd", "app.py", "../app.py", "../../config.py"]


@pytest.mark.parametrize(
    "template",
    [
        "/static/../{f}",
        "/static/%2e%2e/{f}",
        "/static/..%2f..%2f{f}",
        "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f{f}",
        "/static//{f}",
        "/models/..%2f..%2f..%2f{f}",
        "/vendor/..%2f..%2f{f}",
    ],
)
def test_url_paths_cannot_reach_files_outside_static(client: TestClient, template: str) -> None:
    for f in SECRET_FILES:
        r = client.get(template.format(f=f))
        assert r.status_code in (400, 404), (template, f, r.status_code)
        body = r.text
        assert "root:" not in body and "def create_app" not in body and "class Settings" not in body


def test_ids_in_urls_are_checked_before_they_reach_anything(client: TestClient) -> None:
    for bad in ["..%2f..%2fx", "%00", "1%00", "-1", "0", "99999999999999999999"]:
        r = client.get(f"/ui/api/chats/{bad}")
        assert r.status_code in (400, 404), (bad, r.text)
        assert r.json()["error"]["message"]
    for bad in ["..%2f..%2fx", "x%00y", "a" * 65]:
        r = client.get(f"/ui/api/arena/battles/{bad}")
        assert r.status_code in (400, 404), (bad, r.text)


def test_chat_export_file_name_is_ours_whatever_the_title(client: TestClient) -> None:
    chat = client.post(
        "/ui/api/chats", json={"model": "m", "title": '../../evil"; x=\r\nSet-Cookie: a=b'}
    ).json()
    for fmt in ("json", "md"):
        r = client.get(f"/ui/api/chats/{chat['id']}/export", params={"format": fmt})
        assert r.status_code == 200
        assert r.headers["content-disposition"] == f'attachment; filename="chat-{chat["id"]}.{fmt}"'
        assert "set-cookie" not in r.headers


def test_data_dir_holds_only_fixed_or_hashed_names_after_use(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """After chats, generations and arena battles from a client, only known files exist."""
    before = _outside(tmp_path, settings.home)
    chat = client.post("/ui/api/chats", json={"model": "m", "title": "../../x"}).json()["id"]
    client.post(f"/ui/api/chats/{chat}/messages", json={"role": "user", "content": "/etc/passwd"})
    client.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "../../x"}], "user": "../x"},
    )
    client.post("/ui/api/arena/battles", json={"prompt": "../../../x\x00"})
    names = {p.name for p in _files(settings.home)}
    assert names <= {"openscout.db", "openscout.db-wal", "openscout.db-shm"}, names
    assert _outside(tmp_path, settings.home) == before


def test_reports_default_inside_the_data_dir(settings: Settings) -> None:
    """`compare` writes its report under <data dir>/reports/<timestamp>/ unless --out says else;
    the file names are fixed (report.html/.md/.json), never taken from model ids."""
    from openscout.comparison import CompareResult
    from openscout.report import write_report

    result = CompareResult.from_json(
        {"models": [], "settings": {"suite": "../../x"}, "machine": "/etc/passwd"}
    )
    try:
        paths = write_report(result, settings.reports_dir / "compare-test")
    except OpenscoutError:
        pytest.skip("the report renderer needs more of a comparison than this")
    assert {p.name for p in paths.values()} == {"report.html", "report.md", "report.json"}
    assert all(settings.reports_dir in p.parents for p in paths.values())


def test_no_file_escaped_during_these_tests() -> None:
    assert not os.path.exists("/tmp/openscout-escape")
