"""A deleted chat's id (and its messages' ids) is never given again (41st probe, medium).

SQLite's plain `INTEGER PRIMARY KEY` gives the highest id again once its row is deleted: a
tab, link or API client still holding a deleted chat's id wrote into, and opened, the next
new chat (another model, another person's title) instead of getting "no chat"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from openscout import chats
from openscout.config import Settings
from openscout.errors import ChatNotFoundError
from openscout.store.db import connect, migrations, schema_version


def test_a_deleted_chat_s_id_stays_unknown(settings: Settings) -> None:
    alice = chats.create_chat(settings, "m", "Alice: medical question")
    bob = chats.create_chat(settings, "m", "Bob: draft")
    kept = chats.add_message(settings, alice.id, "user", "hello")
    gone = chats.add_message(settings, bob.id, "user", "Bob's words")
    chats.delete_chat(settings, bob.id)

    carol = chats.create_chat(settings, "m2", "Carol: new chat")
    assert carol.id > bob.id
    with pytest.raises(ChatNotFoundError):  # the stale tab's next turn
        chats.add_message(settings, bob.id, "user", "Bob's follow-up")
    with pytest.raises(ChatNotFoundError):
        chats.get_chat(settings, bob.id)
    assert chats.add_message(settings, alice.id, "user", "again").id > gone.id > kept.id


def test_the_migration_keeps_every_chat_and_message(tmp_path: Path) -> None:
    """Chats made before the ids were fixed keep their ids, messages and cascade; new ids
    follow the highest kept."""
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys=ON")
    for number, _, sql in migrations():
        if number < 10:
            raw.executescript(sql)
            raw.execute(f"PRAGMA user_version={number}")
    raw.execute("INSERT INTO chats (id, title, model_id, params_json) VALUES (4, 't', 'm', '{}')")
    raw.execute("INSERT INTO chats (id, title, model_id) VALUES (7, 'u', 'm')")
    for chat_id, text in [(4, "a"), (7, "b"), (4, "c")]:
        raw.execute(
            "INSERT INTO chat_messages (chat_id, role, content) VALUES (?, 'user', ?)",
            (chat_id, text),
        )
    raw.close()

    conn = connect(path)
    assert schema_version(conn) == migrations()[-1][0]
    assert [tuple(r) for r in conn.execute("SELECT id, title FROM chats ORDER BY id")] == [
        (4, "t"),
        (7, "u"),
    ]
    got = conn.execute("SELECT id, chat_id, content FROM chat_messages ORDER BY id").fetchall()
    assert [tuple(r) for r in got] == [(1, 4, "a"), (2, 7, "b"), (3, 4, "c")]
    conn.execute("DELETE FROM chats WHERE id = 7")  # still cascades to its messages
    assert conn.execute("SELECT count(*) FROM chat_messages").fetchone()[0] == 2
    new = conn.execute("INSERT INTO chats (title, model_id) VALUES ('v', 'm')").lastrowid
    assert new == 8
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
