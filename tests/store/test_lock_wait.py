"""A write lock another program holds (a backup, the sqlite3 shell, a stopped command) and a
database moved aside while the server runs (41st probe, medium).

Before, each server request waited 30 s for the lock, 40 of them held every worker thread (a
catalog page took 29 s), and then answered 500 "internal error"; a database moved aside (as
the damaged-file hint says) came back without tables until the server restarted."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openscout import chats
from openscout.config import Settings
from openscout.errors import StoreError, is_database_busy
from openscout.store import lock_wait
from openscout.store.db import connect
from openscout.store.lock_wait import LockWait


@pytest.fixture
def held(settings: Settings) -> Iterator[sqlite3.Connection]:
    """Another program's write transaction on the store, held until the test ends."""
    connect(settings.db_path).close()
    other = sqlite3.connect(settings.db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def as_request(wait: LockWait, fn, *args):  # type: ignore[no-untyped-def]
    """`fn(*args)` as a server request runs it; the error or the result, and the seconds."""
    token = lock_wait.for_requests(wait)
    start = time.monotonic()
    try:
        result = fn(*args)
    except Exception as e:
        result = e
    finally:
        lock_wait.done(token)
    return result, time.monotonic() - start


def test_a_request_waits_a_few_seconds_then_says_the_database_is_busy(
    settings: Settings, held: sqlite3.Connection
) -> None:
    got, took = as_request(LockWait(1.0, 4), chats.create_chat, settings, "m", "x")
    assert isinstance(got, sqlite3.OperationalError) and is_database_busy(got)
    assert 0.9 < took < 5, took


def test_a_waiting_request_writes_once_the_lock_is_let_go(
    settings: Settings, held: sqlite3.Connection
) -> None:
    threading.Timer(0.6, held.execute, ("ROLLBACK",)).start()
    got, took = as_request(LockWait(10.0, 4), chats.create_chat, settings, "m", "x")
    assert isinstance(got, chats.Chat), got
    assert took < 5


def test_only_a_few_requests_wait_at_once(settings: Settings, held: sqlite3.Connection) -> None:
    """The others give up at once, so waiting writers cannot hold every worker thread."""
    wait = LockWait(2.0, 2)
    results: list[tuple[object, float]] = []

    def one() -> None:
        results.append(as_request(wait, chats.create_chat, settings, "m", "x"))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6 and all(is_database_busy(r) for r, _ in results)  # type: ignore[arg-type]
    quick = sorted(took for _, took in results)
    assert quick[3] < 1.5 and quick[4] > 1.9, quick  # 4 at once (a moment), 2 the whole wait


def test_a_database_locked_while_it_is_migrated_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "migration failed" (nor SQLite's "cannot rollback" over it) or "if the file is
    damaged, move it aside": the CLI and the server say the lock."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(lock_wait, "COMMAND_WAIT_S", 0.2)
    with pytest.raises(StoreError) as e:
        connect(path)
    assert "locked by another program" in e.value.message and "aside" not in str(e.value)
    assert is_database_busy(e.value)
    other.execute("ROLLBACK")
    other.close()


def test_a_database_moved_aside_while_serving_is_made_again(
    settings: Settings, tmp_path: Path
) -> None:
    chats.create_chat(settings, "m", "before")
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in os.listdir(settings.db_path.parent):
        if name.startswith(settings.db_path.name):
            os.rename(settings.db_path.parent / name, aside / name)
    again = chats.create_chat(settings, "m", "after")  # "no such table: chats" before
    assert [c["title"] for c in chats.list_chats(settings)] == ["after"] and again.id == 1


def test_the_generation_log_does_not_keep_the_model_waiting_for_a_lock(
    settings: Settings, held: sqlite3.Connection
) -> None:
    """The log row is written from the model's own thread, outside any request's context:
    it waited the command's 30 s while holding the model's slot, so every answer of `serve`
    came 30 s late while another program held a lock (42nd probe, medium). It is best effort:
    one short try, then the row is dropped with a warning."""
    from openscout.engines.base import SamplingParams
    from openscout.generation import GenerationResult, log_generation

    r = GenerationResult("m", "hi", 1, 1, "stop", 0.1, 10.0, 10.0, 0.2, "chat")
    start = time.monotonic()
    log_generation(settings, r, "mock", "api", SamplingParams(), "hi")
    assert time.monotonic() - start < 5  # it waited 30 s
