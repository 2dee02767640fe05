"""Tuning runs and their per-step losses in the SQLite store (migration 0006_tune.sql)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from openscout.config import Settings
from openscout.store.db import connect


@dataclass(frozen=True)
class StepLog:
    step: int  # 1-based: the optimizer steps taken
    train_loss: float
    heldout_loss: float | None
    lr: float
    tokens: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def start_run(
    settings: Settings,
    *,
    run_id: str | None,
    name: str,
    base: str,
    data_path: str,
    data_sha256: str,
    fingerprint: str,
    config: dict[str, Any],
) -> str:
    """A new run row, or the existing one marked running again (a resumed run)."""
    conn = connect(settings.db_path)
    try:
        if run_id is not None:
            found = conn.execute("SELECT 1 FROM tune_runs WHERE id = ?", (run_id,)).fetchone()
            if found:
                conn.execute(
                    "UPDATE tune_runs SET status = 'running', finished_at = NULL WHERE id = ?",
                    (run_id,),
                )
                return run_id
        run_id = run_id or uuid.uuid4().hex[:12]
        conn.execute(
            "INSERT INTO tune_runs (id, name, base, data_path, data_sha256, fingerprint,"
            " config_json, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running')",
            (run_id, name, base, data_path, data_sha256, fingerprint, json.dumps(config)),
        )
        return run_id
    finally:
        conn.close()


def forget_after(settings: Settings, run_id: str, step: int) -> None:
    """Drop the steps after a checkpoint: the resumed run logs them again."""
    conn = connect(settings.db_path)
    try:
        conn.execute("DELETE FROM tune_steps WHERE run_id = ? AND step > ?", (run_id, step))
    finally:
        conn.close()


def log_step(settings: Settings, run_id: str, s: StepLog) -> None:
    conn = connect(settings.db_path)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO tune_steps (run_id, step, train_loss, heldout_loss, lr,"
            " tokens, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, s.step, s.train_loss, s.heldout_loss, s.lr, s.tokens, s.seconds),
        )
    finally:
        conn.close()


def finish_run(settings: Settings, run_id: str, status: str, summary: dict[str, Any]) -> None:
    conn = connect(settings.db_path)
    try:
        conn.execute(
            "UPDATE tune_runs SET status = ?, summary_json = ?,"
            " finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            (status, json.dumps(summary), run_id),
        )
    finally:
        conn.close()


def steps(settings: Settings, run_id: str) -> list[StepLog]:
    conn = connect(settings.db_path)
    try:
        rows = conn.execute(
            "SELECT step, train_loss, heldout_loss, lr, tokens, seconds FROM tune_steps"
            " WHERE run_id = ? ORDER BY step",
            (run_id,),
        ).fetchall()
    finally:
        conn.close()
    return [StepLog(*tuple(r)) for r in rows]


def run_row(settings: Settings, run_id: str) -> dict[str, Any] | None:
    conn = connect(settings.db_path)
    try:
        row = conn.execute("SELECT * FROM tune_runs WHERE id = ?", (run_id,)).fetchone()
    finally:
        conn.close()
    return dict(row) if row else None
