"""`catalog import-results ORG/NAME` against a local fake of the Hub's dataset API: the files
land under hashed names in the data dir, within a size bound and a deadline, whatever the
endpoint answers (seventeenth probe: huggingface_hub's snapshot_download wrote outside the
data dir on a sha or ETag of `../..`, and filled the disk from an endless file)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from openscout.catalog import hub_datasets
from openscout.catalog.leaderboard_import import import_results
from openscout.errors import HubError

SHA = "0123456789abcdef0123456789abcdef01234567"
CSV = b"fullname,IFEval,BBH\norg/model-a,40.0,10.0\norg/model-b,50.0,20.0\n"


class FakeDatasets:
    """`/api/datasets/evil/<name>` lists one data.csv; `/datasets/.../resolve/...` serves it.
    Each name is a way to misbehave."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # the http.server API names it so
                fake.requests.append(self.path)
                path = urlparse(self.path).path
                name = path.split("/")[4] if path.startswith("/api/datasets/") else ""
                if name:
                    return self._info(name)
                mode = path.split("/")[3]
                if mode == "endless":  # no length, 1 MiB pieces for ever
                    self.send_response(200)
                    self.end_headers()
                    while True:
                        try:
                            self.wfile.write(b"x" * 2**20)
                        except OSError:
                            return None
                if mode == "headers":  # a header line now and then, never the body
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        for i in range(600):
                            self.wfile.write(f"X-Wait-{i}: 1\r\n".encode())
                            self.wfile.flush()
                            time.sleep(0.2)
                    except OSError:
                        pass
                    return None
                if mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(600):
                        try:
                            self.wfile.write(b"x")
                            self.wfile.flush()
                        except OSError:
                            return None
                        time.sleep(0.2)
                    return None
                if mode == "partial" and path.endswith("/b.csv"):  # the second file fails
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                body = b"\xff\xfe not text \x00" * 100 if mode == "junk" else CSV
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", '"../../../../../../../tmp/pwned-by-etag"')
                self.end_headers()
                self.wfile.write(body)
                return None

            def _info(self, name: str) -> None:
                sha = "../../../../../../../tmp/pwned-by-sha" if name == "bad-sha" else SHA
                if name == "moving":  # a new commit each time it is asked
                    sha = f"{len(fake.requests):040x}"
                size = 10**12 if name == "huge" else len(CSV)
                body = json.dumps(
                    {
                        "id": f"evil/{name}",
                        "sha": sha,
                        "siblings": [
                            {"rfilename": "data.csv", "size": size},
                            {"rfilename": "../../escape.csv", "size": 1},
                            {"rfilename": "README.md", "size": 1},
                        ]
                        + ([{"rfilename": "b.csv", "size": 1}] if name == "partial" else []),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDatasets]:
    from huggingface_hub import constants

    hub = FakeDatasets()
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield hub
    hub.server.shutdown()
    hub.server.server_close()


def _import(name: str, tmp_path: Path) -> object:
    return import_results(f"evil/{name}", home=tmp_path / "home", cache_dir=tmp_path / "cache")


def test_files_land_under_hashed_names_in_the_data_dir(fake: FakeDatasets, tmp_path: Path) -> None:
    report = _import("ok", tmp_path)
    assert report.models == 2  # type: ignore[attr-defined]
    stored = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].suffix == ".csv" and "data" not in stored[0].name
    assert not Path("/tmp/pwned-by-etag").exists()
    # the same commit is not fetched again; the `../` file was never asked for
    _import("ok", tmp_path)
    assert sum("/resolve/" in r for r in fake.requests) == 1
    assert not any("escape" in r for r in fake.requests)


def test_a_hostile_commit_id_writes_nothing(fake: FakeDatasets, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="named no commit"):
        _import("bad-sha", tmp_path)
    assert not Path("/tmp/pwned-by-sha.json").exists()


def test_a_file_listed_over_the_bound_is_not_downloaded(fake: FakeDatasets, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="is over"):
        _import("huge", tmp_path)
    assert not any("/resolve/" in r for r in fake.requests)


@pytest.mark.timeout(120)  # a hang guard: the download had no bound of size or time
def test_an_endless_or_trickled_file_is_cut(
    fake: FakeDatasets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_datasets, "MAX_FILE_BYTES", 8 * 2**20)
    with pytest.raises(HubError, match="is over"):
        _import("endless", tmp_path)
    monkeypatch.setattr(hub_datasets, "DEADLINE_S", 2.0)
    with pytest.raises(HubError, match=r"took more than|in time"):
        _import("trickle", tmp_path)
    with pytest.raises(HubError, match="in time"):  # before any byte of the body
        _import("headers", tmp_path)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no part left


def test_an_import_keeps_its_own_files_only(fake: FakeDatasets, tmp_path: Path) -> None:
    """A failed import kept its downloads, every new commit added a copy and a killed
    download's part stayed: 721 MB after three failed runs, none readable (34th probe)."""
    from openscout.errors import DataFileError

    folder = tmp_path / "cache" / "datasets"
    folder.mkdir(parents=True)
    (folder / "tmpkilled.part").write_bytes(b"x" * 1000)  # a download killed mid-way
    for _ in range(3):
        with pytest.raises(DataFileError):
            _import("junk", tmp_path)
    assert list(folder.iterdir()) == []
    with pytest.raises(HubError, match="404"):  # the download itself fails on its 2nd file
        _import("partial", tmp_path)
    assert list(folder.iterdir()) == []
    for _ in range(3):
        assert _import("moving", tmp_path).models == 2  # type: ignore[attr-defined]
    assert len(list(folder.iterdir())) == 1  # the last commit's file
