import sqlite3
from pathlib import Path

import pytest

from openscout.store.db import connect, migrations, schema_version


def test_migrations_are_numbered_uniquely_and_applied(tmp_path: Path) -> None:
    ms = migrations()
    assert [n for n, _, _ in ms] == sorted({n for n, _, _ in ms})
    conn = connect(tmp_path / "a.db")
    assert schema_version(conn) == ms[-1][0]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "generations" in tables


def test_reopening_does_not_reapply(tmp_path: Path) -> None:
    p = tmp_path / "b.db"
    connect(p).execute(
        "INSERT INTO generations (model_id, engine, mode, params_json, input_json, output)"
        " VALUES ('m','e','chat','{}','[]','x')"
    )
    raw = sqlite3.connect(p)
    assert raw.execute("SELECT count(*) FROM generations").fetchone()[0] == 1


def test_a_new_database_is_the_user_s_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Made by `runs list` in a dir that `models list` made 0755, the database was 0644:
    chats and prompts readable by every local user (thirteenth probe)."""
    import stat

    from openscout.store.db import connect

    path = tmp_path / "open" / "openscout.db"
    connect(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_database_on_a_full_disk_is_said_to_be_on_a_full_disk(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On a full disk SQLite says "disk I/O error" opening its WAL index, and openscout said
    the file might be damaged, "move it aside": a sound database hidden for nothing, and the
    server answered store_error without Retry-After (34th probe)."""
    import os
    import sqlite3 as real_sqlite3
    from types import SimpleNamespace

    from openscout.errors import StoreError, is_out_of_disk
    from openscout.store import db

    def no_room(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise real_sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(db.sqlite3, "connect", no_room)
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_bavail=0, f_frsize=4096))
    with pytest.raises(StoreError) as e:
        db.connect(tmp_path / "openscout.db")
    assert "disk holding it is full" in e.value.message and "aside" not in str(e.value)
    assert is_out_of_disk(e.value)
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_bavail=10**6, f_frsize=4096))
    with pytest.raises(StoreError, match="move it aside"):  # room enough: maybe damaged
        db.connect(tmp_path / "openscout.db")
