"""A command whose write waited out its 30 s for another program's lock (a backup, the
sqlite3 shell, a stopped command): it says so, not "unexpected error ... please report it"
(41st probe, medium)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from openscout.cli.main import main


def real_busy_error(tmp_path: Path) -> sqlite3.OperationalError:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (v)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        waiter.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as e:
        return e
    finally:
        waiter.close()
        holder.close()
    raise AssertionError("the write got through another's lock")


def test_a_locked_database_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import openscout.evals

    busy = real_busy_error(tmp_path)

    def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise busy

    monkeypatch.setattr(openscout.evals, "list_runs", locked)
    monkeypatch.setattr(sys, "argv", ["openscout", "runs", "list"])
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 1
    assert "locked by another program" in err and "openscout.db" in err, err
    assert "unexpected" not in err and "report it" not in err
