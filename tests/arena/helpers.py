"""Arena test helpers."""

from __future__ import annotations

from openscout.arena import battles as arena
from openscout.config import Settings


def answered(settings: Settings, battle_id: str) -> str:
    """Both sides' answers stored, as the server does when it has streamed them: only then
    may a battle be voted on."""
    arena.save_answer(settings, battle_id, "a", "answer a")
    arena.save_answer(settings, battle_id, "b", "answer b")
    return battle_id
