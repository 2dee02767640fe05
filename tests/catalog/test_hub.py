"""The live-Hub layer against a local fake of the Hub API (recorded responses; no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from openscout.catalog import assess_openness, family_tree, load_catalog
from openscout.catalog.hub import HubError, entry_from_record, hub_model, hub_search
from openscout.config import Settings

FIXTURES = Path(__file__).with_name("fixtures")


class FakeHub:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.extra: dict[str, dict] = {}  # more models by id: `search=evil` lists them
        self.trickled: set[str] = set()  # models whose card comes a byte a second
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # the http.server API names it so
                hub.requests.append(self.path)
                url = urlparse(self.path)
                if url.path == "/api/models":
                    q = parse_qs(url.query)
                    if q.get("search") == ["evil"]:
                        return self._send(200, _dumps(list(hub.extra.values())), "application/json")
                    body = (
                        (FIXTURES / "search_mistral.json").read_bytes()
                        if q.get("search") == ["mistral"]
                        else b"[]"
                    )
                    return self._send(200, body, "application/json")
                if url.path.removeprefix("/api/models/") in hub.extra:
                    body = _dumps(hub.extra[url.path.removeprefix("/api/models/")])
                    return self._send(200, body, "application/json")
                if url.path.startswith("/api/models/"):
                    name = url.path.removeprefix("/api/models/").replace("/", "_")
                    f = FIXTURES / f"model_{name}.json"
                    if f.exists():
                        return self._send(200, f.read_bytes(), "application/json")
                    return self._send(
                        404,
                        b'{"error":"Repository not found"}',
                        "application/json",
                        {"X-Error-Code": "RepoNotFound"},
                    )
                if url.path.removesuffix("/raw/main/README.md").strip("/") in hub.trickled:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    for _ in range(600):  # ten minutes, a byte a second
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(1)
                    return None
                if url.path.endswith("/raw/main/README.md"):
                    name = url.path.removesuffix("/raw/main/README.md").strip("/").replace("/", "_")
                    f = FIXTURES / f"readme_{name}.md"
                    if f.exists():
                        return self._send(200, f.read_bytes(), "text/plain; charset=utf-8")
                return self._send(404, b"not found", "text/plain")

            def _send(
                self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _dumps(data: object) -> bytes:
    return json.dumps(data).encode()


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    yield hub
    hub.stop()


def test_search_merges_curated_facts_with_hub_entries(
    fake_hub: FakeHub, settings: Settings
) -> None:
    cat = load_catalog()
    got = hub_search("mistral", settings=settings, catalog=cat, endpoint=fake_hub.url)
    assert got["source"] == "hub"
    by_id = {e.id: e for e in got["entries"]}
    assert by_id["mistralai/Mistral-7B-v0.1"] is cat.get(
        "mistralai/Mistral-7B-v0.1"
    )  # curated wins
    sql = by_id["someone/mistral-7b-sql"]
    assert (sql.origin, sql.license, sql.base_model, sql.relation) == (
        "hub",
        "Apache-2.0",
        "mistralai/Mistral-7B-v0.1",
        "adapter",
    )
    assert sql.family == "Mistral"  # from its base in the catalog
    gguf = by_id["TheBloke/Mistral-7B-v0.1-GGUF"]
    assert gguf.relation == "quantization"
    assert any("search=mistral" in r for r in fake_hub.requests)


def test_hub_entries_are_judged_without_guessing(fake_hub: FakeHub, settings: Settings) -> None:
    cat = load_catalog()
    got = hub_search("mistral", settings=settings, catalog=cat, endpoint=fake_hub.url)
    merged = cat.with_entries(got["entries"])
    a = assess_openness(merged.get("someone/mistral-7b-sql"), merged)
    assert a.criteria["evaluation_code"].status == "unknown"  # the Hub does not say: unknown
    assert a.criteria["training_code"].own_status == "unknown"
    assert a.criteria["training_code"].status == "closed"  # Mistral withholds it
    assert a.criteria["training_data"].status == "closed"  # inherited from Mistral 7B
    assert a.criteria["training_data"].own_status == "partial"  # a dataset is named in the card
    assert a.label == "open weights" and a.osi_approved
    assert "someone/mistral-7b-sql" in [
        c["id"] for c in family_tree(merged, "mistralai/Mistral-7B-v0.1")["tree"]["children"]
    ]


def test_model_without_base_metadata_gets_an_inferred_base(
    fake_hub: FakeHub, settings: Settings
) -> None:
    cat = load_catalog()
    got = hub_model("acme/med-helper-7b", settings=settings, catalog=cat, endpoint=fake_hub.url)
    e = got["entry"]
    assert not got["curated"] and e.origin == "hub"
    assert e.license == "CC-BY-NC-4.0" and e.params_b == pytest.approx(7.241732096)
    assert e.base_model is None  # the metadata does not say ...
    merged = cat.with_entries([e])
    tree = family_tree(merged, e.id)
    link = tree["ancestors"][0]
    assert (
        link["base"] == "mistralai/Mistral-7B-Instruct-v0.1" and link["inferred"] is True
    )  # ... the card does
    assert "fine-tuned version of mistralai/Mistral-7B-Instruct-v0.1" in link["evidence"]
    a = assess_openness(e, merged)
    assert a.commercial_use == "no" and a.label == "restricted weights"
    assert "gated: manual" in a.criteria["weights"].evidence[0]
    assert any(r.endswith("/raw/main/README.md") for r in fake_hub.requests)


def test_cache_serves_repeat_and_offline_calls(fake_hub: FakeHub, settings: Settings) -> None:
    cat = load_catalog()
    hub_model("acme/med-helper-7b", settings=settings, catalog=cat, endpoint=fake_hub.url)
    n = len(fake_hub.requests)
    again = hub_model("acme/med-helper-7b", settings=settings, catalog=cat, endpoint=fake_hub.url)
    assert again["source"] == "cache" and len(fake_hub.requests) == n
    offline = hub_model("acme/med-helper-7b", settings=settings, catalog=cat, offline=True)
    assert offline["source"] == "cache" and offline["entry"].id == "acme/med-helper-7b"
    assert list((settings.cache_dir / "hub" / "model").glob("*.json"))
    fake_hub.stop()
    stale = hub_model(
        "acme/med-helper-7b", settings=settings, catalog=cat, endpoint=fake_hub.url, ttl_s=0
    )
    assert stale["source"].startswith("cache (the Hub failed")


def test_errors_without_cache(fake_hub: FakeHub, settings: Settings) -> None:
    cat = load_catalog()
    with pytest.raises(HubError, match="offline"):
        hub_search("mistral", settings=settings, catalog=cat, offline=True)
    with pytest.raises(HubError, match="could not answer"):
        hub_model("acme/missing", settings=settings, catalog=cat, endpoint=fake_hub.url)
    fake_hub.stop()
    with pytest.raises(HubError):
        hub_search("mistral", settings=settings, catalog=cat, endpoint=fake_hub.url)


def test_record_parsing_is_tolerant() -> None:
    e = entry_from_record({"id": "x/y", "tags": ["license:mit", "brand-new-field"], "files": None})
    assert e.license == "MIT" and e.params_b is None and e.openness.weights.status == "unknown"
    assert e.tasks == ["unknown"]


def test_cli_show_and_search_with_the_hub(fake_hub: FakeHub, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "HF_ENDPOINT": fake_hub.url, "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    run = [sys.executable, "-m", "openscout.cli.main", "catalog"]
    out = subprocess.run(
        [*run, "show", "acme/med-helper-7b", "--hub", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["facts"]["origin"] == "hub" and data["hub"]["source"] == "hub"
    assert data["tree"]["ancestors"][0]["inferred"] is True
    out = subprocess.run(
        [*run, "search", "mistral", "--hub", "--json", "--limit", "50"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    ids = [i["id"] for i in json.loads(out.stdout)]
    assert "someone/mistral-7b-sql" in ids and "mistralai/Mistral-7B-v0.1" in ids
    assert os.environ.get("HF_ENDPOINT") != fake_hub.url  # the parent process was not changed


HOSTILE = {  # card metadata is written by whoever uploads the model (sixteenth probe)
    "license-list": {"cardData": {"license": ["mit", "apache-2.0"]}},
    "license-map": {"cardData": {"license": {"a": 1}}, "tags": [5, None, "license:mit"]},
    "params-past-float": {"safetensors": {"parameters": {"F16": 1}, "total": 10**400}},
    "params-past-any": {"safetensors": {"parameters": {"F16": 1}, "total": 10**30}},
    "base-traversal": {"cardData": {"base_model": "../../x"}},
    "base-tag-traversal": {"tags": ["base_model:finetune:../../etc/passwd"]},
    "odd-types": {"pipeline_tag": {"a": 1}, "author": ["x"], "downloads": "many"},
}


def test_hostile_card_metadata_is_skipped_or_a_clear_error(
    fake_hub: FakeHub, settings: Settings
) -> None:
    """A licence list, 10**400 parameters or a traversal base killed `catalog search --hub`
    and `show --hub` with "unexpected error" (AttributeError, OverflowError, ValidationError)."""
    cat = load_catalog()
    for name, fields in HOSTILE.items():
        fake_hub.extra[f"evilorg/{name}"] = {"id": f"evilorg/{name}", "siblings": [], **fields}
    found = hub_search("evil", settings=settings, catalog=cat, endpoint=fake_hub.url)
    shown = {e.id for e in found["entries"]}
    assert {"evilorg/license-list", "evilorg/params-past-float", "evilorg/odd-types"} <= shown
    for name in HOSTILE:
        try:
            got = hub_model(
                f"evilorg/{name}", settings=settings, catalog=cat, endpoint=fake_hub.url
            )
        except HubError as e:
            assert f"evilorg/{name}" in e.message and "malformed" in e.message
        else:
            assert got["entry"].params_b is None or got["entry"].params_b < 1e5
    # a record cached by an older openscout is read through the same guard
    with pytest.raises(HubError, match="malformed"):
        entry_from_record({"id": "x/y", "license": ["mit"], "params": 10**400})


@pytest.mark.timeout(60)  # a hang guard: the card's read had no deadline
def test_a_trickled_model_card_is_cut_at_its_deadline(
    fake_hub: FakeHub, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openscout.catalog import hub

    monkeypatch.setattr(hub, "CARD_SECONDS", 3.0)
    fake_hub.extra["evilorg/trickle"] = {"id": "evilorg/trickle", "siblings": []}
    fake_hub.trickled.add("evilorg/trickle")
    got = hub_model(
        "evilorg/trickle", settings=settings, catalog=load_catalog(), endpoint=fake_hub.url
    )
    assert got["entry"].id == "evilorg/trickle" and len(got["hub"]["card_excerpt"] or "") < 10


def test_records_the_hub_library_cannot_parse_are_skipped_in_a_search(
    fake_hub: FakeHub, settings: Settings
) -> None:
    """huggingface_hub parses every record of a search inside its generator: one bad date
    ended the whole `catalog search --hub` (twenty-second probe)."""
    fake_hub.extra = {
        "evilorg/bad-date": {"id": "evilorg/bad-date", "createdAt": "not a date"},
        "evilorg/no-parameters": {"id": "evilorg/no-parameters", "safetensors": {"total": 5}},
        "a string": "evilorg/a-string",  # type: ignore[dict-item]
        "evilorg/fine": {"id": "evilorg/fine", "tags": ["license:mit"]},
    }
    found = hub_search("evil", settings=settings, catalog=load_catalog(), endpoint=fake_hub.url)
    assert [e.id for e in found["entries"]] == ["evilorg/fine"]


def test_a_record_naming_a_curated_model_gets_the_curated_facts(
    fake_hub: FakeHub, settings: Settings
) -> None:
    """Asked for evil/x2, the Hub answered a record whose id is a curated model's, with a
    licence of its own: it was shown as that model with the Hub's licence (twenty-third
    probe). Curated facts win for the id the record gives."""
    cat = load_catalog()
    curated = cat.get("mistralai/Mistral-7B-v0.1")
    assert curated is not None
    fake_hub.extra["evil/x2"] = {
        "id": "mistralai/Mistral-7B-v0.1", "tags": ["license:mit"], "siblings": [],
    }  # fmt: skip
    got = hub_model("evil/x2", settings=settings, catalog=cat, endpoint=fake_hub.url)
    assert got["curated"] and got["entry"] == curated


@pytest.mark.timeout(60)  # a hang guard: a FIFO in the cache held the search for ever
def test_a_fifo_planted_in_the_hub_cache_is_passed_over(
    fake_hub: FakeHub, settings: Settings
) -> None:
    from openscout.catalog.hub import HubCache

    cache = HubCache(settings.cache_dir)
    key = json.dumps({"q": "mistral", "limit": 20})
    path = cache._path("search", key)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    got = hub_search("mistral", settings=settings, catalog=load_catalog(), endpoint=fake_hub.url)
    assert got["source"] == "hub" and got["entries"]
