"""Two processes writing one chat at the same moment, as two servers on one data dir do.

An append checked the chat's bound and then inserted in separate statements: two appends to a
nearly full chat both passed, the chat went past its bound and could no longer be read (30th
probe: 15 of 15 tries), and an append racing a delete failed on the foreign key (a 500 through
the server: 28 of 60)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from openscout import chats
from openscout.config import Settings

FORK = multiprocessing.get_context("fork")
TRIES = 6


def _append(settings: Settings, chat_id: int, start: Any, out: Any) -> None:
    start.wait()
    try:
        chats.add_message(settings, chat_id, "user", "b" * 150_000)
        out.put("added")
    except chats.ChatFullError:
        out.put("full")
    except chats.ChatNotFoundError:
        out.put("gone")
    except Exception as e:  # what the race must never give
        out.put(f"{type(e).__name__}: {e}")


def _delete(settings: Settings, chat_id: int, start: Any, out: Any) -> None:
    start.wait()
    chats.delete_chat(settings, chat_id)
    out.put("deleted")


def _race(settings: Settings, chat_id: int, *workers: Any) -> list[str]:
    start, out = FORK.Barrier(len(workers)), FORK.Queue()
    procs = [FORK.Process(target=w, args=(settings, chat_id, start, out)) for w in workers]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return sorted(out.get(timeout=5) for _ in procs)


def test_two_appends_to_a_nearly_full_chat_let_one_in(settings: Settings) -> None:
    for _ in range(TRIES):
        chat = chats.create_chat(settings, "mock-a")
        for _ in range(41):  # 8,200,000 bytes: room for one more message of 150,000
            chats.add_message(settings, chat.id, "user", "a" * 200_000)
        assert _race(settings, chat.id, _append, _append) == ["added", "full"]
        assert len(chats.get_chat(settings, chat.id).messages) == 42  # still readable
        chats.delete_chat(settings, chat.id)


def test_an_append_racing_a_delete_finds_the_chat_or_not(settings: Settings) -> None:
    for _ in range(TRIES * 3):
        chat = chats.create_chat(settings, "mock-a")
        got = _race(settings, chat.id, _append, _delete)
        assert got in (["added", "deleted"], ["deleted", "gone"]), got
