"""Hub API answers within bounds: a Hub endpoint (a mirror, a broken proxy) that sends a
3 GB answer, trickles one a byte a second or pages without end took `catalog search --hub`
past 2.4 GB or kept it running for ever (twenty-second probe). Each is a clear HubError
within the operation's bounds, and the next operation works."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openscout.catalog import hub_datasets, hub_http, load_catalog
from openscout.catalog.hub import hub_model, hub_search
from openscout.config import Settings
from openscout.errors import HubError

pytest.importorskip("huggingface_hub")
LIMIT_BYTES = 2**20
LIMIT_S = 4.0
BUFFERS = 16 * 2**20  # what the sockets hold between the fake and the client


class HostileHub:
    def __init__(self) -> None:
        self.mode = "fine"
        self.sent = 0  # bytes of hostile answers written before the client left
        self.requests = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:  # the search's reachability probe
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:  # the http.server API names it so
                hub.requests += 1
                if hub.mode == "headers":  # a header line now and then, never the body
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for i in range(600):
                        self.wfile.write(f"X-Wait-{i}: 1\r\n".encode())
                        self.wfile.flush()
                        time.sleep(0.5)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if hub.mode == "gzip":  # 64 KiB on the wire, 64 MiB once inflated
                    bomb = _gzip_bomb()
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(bomb)))
                    self.end_headers()
                    self.wfile.write(bomb)
                    return
                if hub.mode == "pages":  # nothing, and a next page, for ever
                    nxt = f"http://{self.headers['Host']}/api/models?p={hub.requests}"
                    self.send_header("Link", f'<{nxt}>; rel="next"')
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"[]")
                    return
                self.end_headers()
                body = _fine(self.path) if hub.mode == "fine" else None
                if body is not None:
                    self.wfile.write(body)
                    return
                try:
                    self.wfile.write(b'{"id": "')
                    piece = b"x" * (2**16 if hub.mode == "huge" else 1)
                    for _ in range(1024 if hub.mode == "huge" else 600):  # 64 MiB, 10 min
                        self.wfile.write(piece)
                        self.wfile.flush()
                        hub.sent += len(piece)
                        if hub.mode == "trickle":
                            time.sleep(1)
                except OSError:
                    pass  # the client hung up: what the test wants

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@cache
def _gzip_bomb() -> bytes:
    return gzip.compress(b"[" + b" " * (64 * 2**20) + b"]", compresslevel=9)


def _fine(path: str) -> bytes:
    if path.startswith("/api/models?") or path.startswith("/api/models/?"):
        return json.dumps([{"id": "acme/small-model", "tags": ["license:mit"]}]).encode()
    return json.dumps({"id": "acme/small-model", "tags": ["license:mit"], "siblings": []}).encode()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileHub]:
    monkeypatch.setattr(hub_http, "MAX_BYTES", LIMIT_BYTES)
    monkeypatch.setattr(hub_http, "OPERATION_S", LIMIT_S)
    fake = HostileHub()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.mark.timeout(120)  # a hang guard: without bounds these ran for ever
@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("huge", "larger than openscout reads"),
        ("trickle", "in time"),
        ("headers", "in time"),  # each header line well within the read time-out
        ("gzip", "compressed answer"),
    ],
)
def test_a_hostile_search_answer_is_a_clear_error_within_bounds(
    hub: HostileHub, settings: Settings, mode: str, why: str
) -> None:
    hub.mode = mode
    started = time.monotonic()
    with pytest.raises(HubError, match=f"could not answer.*{why}"):
        hub_search("probe", settings=settings, catalog=load_catalog(), endpoint=hub.url)
    took = time.monotonic() - started
    assert took < LIMIT_S + 35  # the deadline, and one read time-out at most beyond it
    assert hub.sent < LIMIT_BYTES + BUFFERS
    assert hub.requests <= hub_http.MAX_REQUESTS + 1
    hub.mode = "fine"  # the next operation is not held by the last one's budget
    got = hub_search("fine", settings=settings, catalog=load_catalog(), endpoint=hub.url)
    assert [e.id for e in got["entries"]] == ["acme/small-model"]


@pytest.mark.timeout(120)
def test_a_huge_model_record_is_a_clear_error(hub: HostileHub, settings: Settings) -> None:
    hub.mode = "huge"
    with pytest.raises(HubError, match="larger than openscout reads"):
        hub_model("acme/big", settings=settings, catalog=load_catalog(), endpoint=hub.url)
    assert hub.sent < LIMIT_BYTES + BUFFERS


@pytest.mark.timeout(120)
def test_a_huge_dataset_file_list_is_a_clear_error(
    hub: HostileHub, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub.mode = "huge"
    with pytest.raises(HubError, match="larger than openscout reads"):
        hub_datasets.dataset_files("org/data", tmp_path)
    assert hub.sent < LIMIT_BYTES + BUFFERS


@pytest.mark.timeout(120)
def test_a_next_page_without_end_is_not_followed(hub: HostileHub, settings: Settings) -> None:
    """Empty pages, each naming a next one: `list_models` followed them for ever."""
    hub.mode = "pages"
    got = hub_search("probe", settings=settings, catalog=load_catalog(), endpoint=hub.url)
    assert got["entries"] == [] and hub.requests == 1
    from huggingface_hub import HfApi

    pages = HfApi(endpoint=hub.url).list_models(search="probe", limit=5)
    with pytest.raises(HubError, match="more requests"):  # any paging left is bounded too
        hub_http.call("the test's pages", lambda: list(pages))


def test_a_registry_a_hostile_endpoint_left_in_hf_home_breaks_nothing(
    hub: HostileHub, settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With telemetry on, huggingface_hub asks the endpoint for an agent registry and keeps
    the answer in HF_HOME for a day: a hostile endpoint's list there made every later Hub
    call of every process fail (twenty-fifth probe). openscout turns the telemetry off."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    poisoned = tmp_path / ".agent_harnesses.json"
    poisoned.write_text('[{"id": "org/m"}]')
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(poisoned))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", False)
    monkeypatch.setattr(_detect_agent, "_registry", None)
    monkeypatch.setattr(hub_http, "_installed", False)
    got = hub_search("fine", settings=settings, catalog=load_catalog(), endpoint=hub.url)
    assert [e.id for e in got["entries"]] == ["acme/small-model"]
