"""Arena battles: which two models to show, anonymity until the vote, and the votes themselves.

Pairing favours the pairs whose order is least certain: a pair's weight is the variance of its
outcome under the current ratings, p (1 - p), divided by sqrt(1 + battles already voted on for
that pair). Pairs never compared, and pairs close in rating with few votes, come up most; every
pair keeps a chance. Sides A and B are then assigned at random.

A battle's model names are kept in the store and given out only after its vote (`reveal`).
Battle ids are random tokens, so one battle cannot be found from another.
"""

from __future__ import annotations

import math
import random
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from openscout.arena.ratings import Battle, point_ratings, win_probability
from openscout.config import Settings
from openscout.errors import ArenaError
from openscout.store.db import connect, count_rows, immediate

VOTES = ("a", "b", "tie", "both_bad")
MAX_PROMPT_CHARS = 8000
# Battles without a vote, newest first, beyond which older ones are let go: those no model
# has answered yet (free to make), and those with an answer or a failure on a side (each
# cost a generation, so another client needs thousands of them to push out the one a user
# is reading or about to vote on; 34th probe; with one side read, 201 free ones did: 47th)
OPEN_BATTLES_KEPT = 200
ANSWERED_BATTLES_KEPT = 2000
# a side answered or failed: what a battle costs a generation to reach
_BEGUN = "(b.answer_a IS NOT NULL OR b.answer_b IS NOT NULL OR b.failed_a OR b.failed_b)"


@dataclass(frozen=True)
class BattleRecord:
    id: str
    prompt: str
    model_a: str
    model_b: str
    answer_a: str | None
    answer_b: str | None
    winner: str | None
    # a side whose model failed this battle's prompt: final, no answer taken on it since
    failed: frozenset[str] = frozenset()

    def public(self) -> dict[str, object]:
        """What the page may see: names only once the vote is in."""
        out: dict[str, object] = {"id": self.id, "prompt": self.prompt, "winner": self.winner}
        if self.winner is not None:
            out.update(model_a=self.model_a, model_b=self.model_b)
        return out


def pair_weights(models: Sequence[str], battles: Sequence[Battle]) -> dict[tuple[str, str], float]:
    """Weight of each unordered pair (sorted names): outcome uncertainty over sqrt(1 + votes)."""
    ratings = point_ratings(battles, models)
    counts = Counter(tuple(sorted((b.model_a, b.model_b))) for b in battles)
    out: dict[tuple[str, str], float] = {}
    names = sorted(set(models))
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p = win_probability(ratings.get(a, 1000.0), ratings.get(b, 1000.0))
            out[(a, b)] = p * (1.0 - p) / math.sqrt(1.0 + counts[(a, b)])
    return out


def choose_pair(
    models: Sequence[str], battles: Sequence[Battle], rng: random.Random
) -> tuple[str, str]:
    """Draw two distinct models (A, B), favouring uncertain pairs; sides at random."""
    _need_two(models)
    return _draw(pair_weights(models, battles), rng)


def _need_two(models: Sequence[str]) -> None:
    if len(set(models)) < 2:
        raise ArenaError("the arena needs at least two models", hint="register another model")


def _draw(weights: dict[tuple[str, str], float], rng: random.Random) -> tuple[str, str]:
    pairs = list(weights)
    a, b = rng.choices(pairs, weights=[max(weights[p], 1e-9) for p in pairs], k=1)[0]
    return (a, b) if rng.random() < 0.5 else (b, a)


# The pair weights fit ratings over every vote: 1.4-3.4 s at 100,000 votes, once per new
# battle, and 25 battles at once held the server 36 s (sixteenth probe). They change only
# with the votes: kept for the last (votes, models) seen, computed by one caller at a time.
_weights_lock = threading.Lock()
_weights_kept: tuple[tuple[object, ...], dict[tuple[str, str], float]] | None = None


def current_pair_weights(settings: Settings, models: Sequence[str]) -> dict[tuple[str, str], float]:
    global _weights_kept
    with _weights_lock:
        conn = connect(settings.db_path)
        try:
            n, last = conn.execute("SELECT COUNT(*), MAX(id) FROM votes").fetchone()
        finally:
            conn.close()
        key = (str(settings.db_path), n, last, tuple(sorted(set(models))))
        if _weights_kept is None or _weights_kept[0] != key:
            _weights_kept = (key, pair_weights(models, voted_battles(settings)))
        return _weights_kept[1]


# -- storage ---------------------------------------------------------------------------------


def _row(row: sqlite3.Row) -> BattleRecord:
    return BattleRecord(
        row["id"],
        row["prompt"],
        row["model_a"],
        row["model_b"],
        row["answer_a"],
        row["answer_b"],
        row["winner"],
        frozenset(side for side in "ab" if row[f"failed_{side}"]),
    )


_SELECT = (
    "SELECT b.id, b.prompt, b.model_a, b.model_b, b.answer_a, b.answer_b, b.failed_a,"
    " b.failed_b, v.winner"
    " FROM battles b LEFT JOIN votes v ON v.battle_id = b.id"
)


def _rows(settings: Settings, sql: str) -> list[sqlite3.Row]:
    conn = connect(settings.db_path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def voted_battles(settings: Settings) -> list[Battle]:
    rows = _rows(
        settings,
        "SELECT b.model_a, b.model_b, v.winner FROM votes v"
        " JOIN battles b ON b.id = v.battle_id ORDER BY v.id",
    )
    return [Battle(r["model_a"], r["model_b"], r["winner"]) for r in rows]


def new_battle(
    settings: Settings, prompt: str, models: Sequence[str], rng: random.Random | None = None
) -> BattleRecord:
    if not prompt.strip():
        raise ArenaError("the prompt is empty", hint="type a question for the two models")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ArenaError(f"the prompt is longer than {MAX_PROMPT_CHARS} characters")
    _need_two(models)
    a, b = _draw(current_pair_weights(settings, models), rng or random.SystemRandom())
    battle_id = secrets.token_urlsafe(16)
    conn = connect(settings.db_path)
    try:
        with immediate(conn):
            conn.execute(
                "INSERT INTO battles (id, prompt, model_a, model_b) VALUES (?,?,?,?)",
                (battle_id, prompt, a, b),
            )
            # battles nobody voted on were kept for ever: 4,511 in 20 s added 37 MB (33rd
            # probe); a vote needs both answers, so voted battles grow at the models' pace
            for begun, kept in (("NOT", OPEN_BATTLES_KEPT), ("", ANSWERED_BATTLES_KEPT)):
                conn.execute(
                    "DELETE FROM battles WHERE rowid IN (SELECT b.rowid FROM battles b"
                    " WHERE NOT EXISTS (SELECT 1 FROM votes v WHERE v.battle_id = b.id)"
                    f" AND {begun} {_BEGUN} ORDER BY b.rowid DESC LIMIT -1 OFFSET ?)",
                    (kept,),
                )
    finally:
        conn.close()
    return BattleRecord(battle_id, prompt, a, b, None, None, None)


def get_battle(settings: Settings, battle_id: str) -> BattleRecord:
    conn = connect(settings.db_path)
    try:
        row = conn.execute(_SELECT + " WHERE b.id = ?", (battle_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise ArenaError("no such battle", hint="start a new battle")
    return _row(row)


def save_answer(settings: Settings, battle_id: str, side: str, text: str) -> None:
    if side not in ("a", "b"):
        raise ArenaError(f"side must be 'a' or 'b', not {side!r}")
    conn = connect(settings.db_path)
    # only before the vote: an answer still streaming then replaced the one judged (30th
    # probe); and never on a side that failed: asked again, it let a voter tell its model
    # from the failure counts the ratings show at once (45th probe, low)
    try:
        conn.execute(
            f"UPDATE battles SET answer_{side} = ? WHERE id = ? AND NOT failed_{side}"
            " AND NOT EXISTS (SELECT 1 FROM votes WHERE battle_id = ?)",
            (text, battle_id, battle_id),
        )
    finally:
        conn.close()


def save_failure(settings: Settings, battle_id: str, side: str) -> None:
    """This side's model failed to answer the battle's prompt (before any vote): counted
    once a battle side, in a per-model count that pruning old battles leaves alone."""
    if side not in ("a", "b"):
        raise ArenaError(f"side must be 'a' or 'b', not {side!r}")
    conn = connect(settings.db_path)
    try:
        with immediate(conn):
            marked = conn.execute(
                f"UPDATE battles SET failed_{side} = 1 WHERE id = ? AND NOT failed_{side}"
                " AND NOT EXISTS (SELECT 1 FROM votes WHERE battle_id = ?)"
                f" RETURNING model_{side} AS model",
                (battle_id, battle_id),
            ).fetchone()
            if marked is not None:
                conn.execute(
                    "INSERT INTO arena_failures (model, failed) VALUES (?, 1)"
                    " ON CONFLICT(model) DO UPDATE SET failed = failed + 1",
                    (marked["model"],),
                )
    finally:
        conn.close()


def failed_answers(settings: Settings) -> Counter[str]:
    """Per model, the battles it failed to answer."""
    rows = _rows(settings, "SELECT model, failed FROM arena_failures")
    return Counter({r["model"]: int(r["failed"]) for r in rows})


def vote(settings: Settings, battle_id: str, winner: str) -> BattleRecord:
    """Record the one vote of a battle and return it, names now revealed."""
    if winner not in VOTES:
        raise ArenaError(f"vote must be one of {', '.join(VOTES)}, not {winner!r}")
    battle = get_battle(settings, battle_id)  # raises for an unknown id
    if battle.failed:  # its failure counted in sight, asked again after an answer (46th)
        raise ArenaError("a side of this battle failed to answer", hint="start a new battle")
    if battle.answer_a is None or battle.answer_b is None:  # a vote on nothing counted in the
        raise ArenaError(  # ratings (twentieth probe)
            "both answers must be given before a vote",
            hint="wait for both answers, or start a new battle",
        )
    conn = connect(settings.db_path)
    try:
        conn.execute("INSERT INTO votes (battle_id, winner) VALUES (?, ?)", (battle_id, winner))
    except sqlite3.IntegrityError as e:
        raise ArenaError("this battle has already been voted on", hint="start a new battle") from e
    finally:
        conn.close()
    return get_battle(settings, battle_id)


def vote_count(settings: Settings) -> int:
    return count_rows(settings.db_path, "votes")
