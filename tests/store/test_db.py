import sqlite3
from pathlib import Path

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
