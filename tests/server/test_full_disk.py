"""A full disk on the serving machine: 503s worth asking again, without a path (33rd probe,
medium). Before, a store that could not be opened answered 400 "cannot open the database
/home/.../openscout.db: disk I/O error (if the file is damaged, move it aside...)", blaming
the client, naming the data dir and telling the user to move a sound database aside; a
write that hit the full disk answered 500 "internal error"."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from fastapi.testclient import TestClient

from openscout import chats
from openscout.errors import StoreError


def store_refused(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise StoreError("cannot open the database /home/someone/.openscout/openscout.db: disk I/O")


def disk_full(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise sqlite3.OperationalError("database or disk is full")


def no_space(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OSError(errno.ENOSPC, "No space left on device", "/home/someone/.openscout/x")


def damaged(*args, **kwargs):  # type: ignore[no-untyped-def]
    """SQLite's own error on a damaged page (37th probe: the CLI said "unexpected")."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 100)
        conn.commit()
        conn.close()
        with open(path, "r+b") as f:
            f.seek(4096)
            f.write(b"\xff" * 8192)
        conn = sqlite3.connect(path)
        try:
            conn.execute("SELECT count(*), max(v) FROM t").fetchall()
        finally:
            conn.close()
    raise AssertionError("the damaged page was read without an error")


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (store_refused, "store_error"),
        (damaged, "store_error"),
        (disk_full, "out_of_disk_space"),
        (no_space, "out_of_disk_space"),
    ],
)
def test_a_store_or_disk_failure_is_a_503_without_a_path(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    failure,
    code,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(chats, "create_chat", failure)
    r = client.post("/ui/api/chats", json={"model": "mock-a"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == code
    assert "/home" not in r.text and ".openscout" not in r.text and "move it aside" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    if code == "out_of_disk_space":
        assert r.headers["retry-after"] == "60"


def store_error_over(failure):  # type: ignore[no-untyped-def]
    """A store function raising a StoreError (naming a path) from `failure`'s error."""

    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            failure()
        except sqlite3.DatabaseError as e:
            raise StoreError("cannot open the database /home/someone/x.db") from e

    return wrapped


def test_a_store_error_with_a_full_disk_under_it_says_the_disk(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(chats, "list_chats", store_error_over(disk_full))
    r = client.get("/ui/api/chats")
    assert r.status_code == 503 and r.json()["error"]["code"] == "out_of_disk_space", r.text
    assert "/home" not in r.text


def test_the_arena_routes_say_a_store_failure_as_the_others_do(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The battle routes answered any store failure as 404 "no such battle" with the
    database's absolute path (35th probe, medium)."""
    from openscout.arena import battles

    monkeypatch.setattr(battles, "get_battle", store_refused)
    for method, path in [
        ("GET", "/ui/api/arena/battles/abc"),
        ("POST", "/ui/api/arena/battles/abc/vote"),
        ("POST", "/ui/api/arena/battles/abc/answer/a"),
    ]:
        r = client.request(method, path, json={"winner": "a"} if path.endswith("vote") else None)
        assert r.status_code == 503 and r.json()["error"]["code"] == "store_error", r.text
        assert "/home" not in r.text


def test_a_store_error_over_a_damaged_database_says_so_once(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every page answered "...cannot be used; see the server log; see the server log" over
    a damaged database (39th probe, low)."""
    monkeypatch.setattr(chats, "create_chat", store_error_over(damaged))
    r = client.post("/ui/api/chats", json={"model": "mock-a"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_error"
    assert r.text.count("see the server log") == 1 and "/home" not in r.text


def test_a_full_disk_says_space_must_be_freed_on_it(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Deleting a chat writes too, so on a full disk it failed with "try again once some is
    freed", as if openscout would free it or deleting could (41st probe, low)."""
    chat = client.post("/ui/api/chats", json={"model": "mock-a"}).json()
    monkeypatch.setattr(chats, "delete_chat", disk_full)
    r = client.delete(f"/ui/api/chats/{chat['id']}")
    assert r.status_code == 503 and r.json()["error"]["code"] == "out_of_disk_space"
    message = r.json()["error"]["message"]
    assert "free space on that disk" in message and "deleting a chat" in message, message


def test_no_room_to_assemble_a_model_is_the_disk_not_the_model() -> None:
    """The embedded Gemma that could not be assembled on a full disk answered 503
    `model_unavailable`, "the model could not be loaded" (41st probe, low), which the arena
    counts against the model: it is the disk's `out_of_disk_space`, without the folder."""
    from openscout.errors import ModelFileError
    from openscout.server.errors import from_openscout
    from openscout.server.ui_api import model_failed

    def mapped(cause: OSError | None):  # type: ignore[no-untyped-def]
        """The server's answer to a load failing with `cause` under it (None: a bad file)."""
        try:
            if cause is None:
                raise ModelFileError("/home/someone/models/x.gguf is not a GGUF file")
            try:
                raise cause
            except OSError as e:
                raise ModelFileError("no room to assemble it in /home/someone/models") from e
        except ModelFileError as e:
            return from_openscout(e)

    full = mapped(OSError(errno.ENOSPC, "No space left on device"))
    assert (full.status, full.code, full.headers) == (
        503,
        "out_of_disk_space",
        {"Retry-After": "60"},
    )
    assert "/home" not in full.message and not model_failed(full)
    broken = mapped(None)
    assert (broken.status, broken.code) == (503, "model_unavailable") and model_failed(broken)
    assert "/home" not in broken.message
