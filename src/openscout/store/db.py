"""SQLite in WAL mode with numbered migrations (store/migrations/NNNN_name.sql).

Each migration runs in one transaction together with the bump of PRAGMA user_version, so a
crash mid-migration leaves the previous version intact. Connections are per thread; callers
use `connect()` and keep writes short (one finished item, one commit).
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from openscout.errors import StoreError, is_database_busy
from openscout.store import lock_wait

_lock = threading.Lock()


@functools.cache
def latest_migration() -> int:
    return migrations()[-1][0]


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every migration shipped, in order."""
    out = []
    for entry in resources.files("openscout.store").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    numbers = [n for n, _, _ in out]
    if len(numbers) != len(set(numbers)):
        raise StoreError(f"two migrations share a number: {sorted(numbers)}")
    return sorted(out)


def connect(path: str | Path, *, migrate: bool = True) -> sqlite3.Connection:
    path = Path(path)
    wait = lock_wait.current()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # chats and prompts: the user's alone, whoever made the dir
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(
            str(path),
            timeout=lock_wait.timeout_s(wait),
            isolation_level=None,
            check_same_thread=False,
            factory=lock_wait.WaitingConnection,
        )
        conn.lock_wait = wait
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as e:
        error = _cannot_open(path, e)
        raise error from error.__cause__ or e
    # the file's own version, not a note of this process's: a database moved aside (as the
    # damaged-file hint says) or deleted while `serve` ran came back empty and every page
    # answered 500 "no such table" until a restart (41st probe)
    if migrate and schema_version(conn) < latest_migration():
        with _lock:
            _apply_migrations(conn, path)
    return conn


def _cannot_open(path: Path, e: sqlite3.DatabaseError) -> StoreError:
    """The error to raise from its own cause, if it has one, else from `e`."""
    if is_database_busy(e):  # its cause says so: the server answers a 503 with Retry-After
        return StoreError(
            f"the database {path} is locked by another program",
            hint="try again once it is done (another openscout command, a backup, sqlite3)",
        )
    if _disk_full(path.parent):
        # SQLite says "disk I/O error" when it cannot make its WAL index on a full disk:
        # the hint to move a sound database aside hid the user's chats and runs for
        # nothing (34th probe). The cause says the disk, so the server answers with
        # out_of_disk_space and Retry-After.
        full = OSError(errno.ENOSPC, "no space left on the disk holding it", str(path))
        error = StoreError(
            f"cannot open the database {path}: the disk holding it is full",
            hint="free some space; nothing in it is lost",
        )
        error.__cause__ = full
        return error
    return StoreError(
        f"cannot open the database {path}: {e}",
        hint="if the file is damaged, move it aside; openscout will create a new one",
    )


def _disk_full(folder: Path) -> bool:
    """Less than 1 MiB free for the user on the file system holding `folder`."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 2**20


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, begun before anything is read: a check and the write it allows
    happen as one, whichever process writes too (two servers appending to one nearly full
    chat both passed its bound, and the chat could no longer be read: 30th probe)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def count_rows(path: str | Path, table: str) -> int:
    """Rows in one of our own tables (`table` is a name from our code, never from input)."""
    conn = connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _apply_migrations(conn: sqlite3.Connection, path: Path) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, name, sql in migrations():
        if number <= current:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
            # re-read inside the lock: another process may have migrated meanwhile
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("ROLLBACK")
                continue
            for statement in _split(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            if conn.in_transaction:  # not when BEGIN itself was refused (a lock held)
                conn.execute("ROLLBACK")
            if is_database_busy(e):
                raise _cannot_open(path, e) from e
            raise StoreError(f"migration {name} failed on {path}: {e}") from e


def _split(sql: str) -> list[str]:
    """Split a migration into statements, line by line, using SQLite's own notion of a
    complete statement (semicolons inside comments and string literals do not count)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if not _only_comments(buf):
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not _only_comments(buf):
        statements.append(buf.strip())
    return statements


def _only_comments(s: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in s.splitlines())


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
