"""The server over a database another program locks, or one moved aside while it runs (41st
probe, medium). Before: after 30 s each write answered 500 "internal error" with a traceback
in the log, and a database moved aside (as the damaged-file hint says) left every page a 500
"no such table" until a restart."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from openscout.config import Settings
from openscout.server.limits import Limits
from openscout.store.db import connect


def test_a_locked_database_is_a_503_to_ask_again(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client(limits=Limits(db_lock_wait_s=0.5))
    chat = client.post("/ui/api/chats", json={"model": "mock-a"}).json()
    other = sqlite3.connect(settings.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for method, path, body in [
            ("POST", "/ui/api/chats", {"model": "mock-a"}),
            ("DELETE", f"/ui/api/chats/{chat['id']}", None),
            ("POST", f"/ui/api/chats/{chat['id']}/messages", {"role": "user", "content": "x"}),
        ]:
            start = time.monotonic()
            r = client.request(method, path, json=body)
            assert time.monotonic() - start < 10
            assert r.status_code == 503, r.text
            error = r.json()["error"]
            assert (
                error["code"] == "store_error" and "locked by another program" in error["message"]
            )
            assert r.headers["retry-after"] == "5"
        assert client.get(f"/ui/api/chats/{chat['id']}").status_code == 200  # reads go on
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.delete(f"/ui/api/chats/{chat['id']}").status_code == 200


def test_a_database_moved_aside_is_made_again(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    assert client.post("/ui/api/chats", json={"model": "mock-a"}).status_code == 200
    connect(settings.db_path).close()
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in os.listdir(settings.db_path.parent):
        if name.startswith(settings.db_path.name):
            os.rename(settings.db_path.parent / name, aside / name)
    for path in ("/", "/ui/api/chats", "/ui/api/arena/ratings"):
        assert client.get(path).status_code == 200, path
    assert client.post("/ui/api/chats", json={"model": "mock-a"}).status_code == 200
