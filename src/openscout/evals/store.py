"""Evaluation storage: runs, items (committed one by one), the output cache, model identity.

One connection per runner, guarded by a lock, in autocommit mode: every finished item is its
own committed INSERT, so a killed run keeps everything it finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from openscout.config import Settings
from openscout.engines.kinds import kind_of
from openscout.engines.pinned import PinnedFile, Version
from openscout.engines.spec import ModelSpec
from openscout.errors import ModelFileError, OpenscoutError
from openscout.pids import pid_alive
from openscout.store.db import connect

CACHE_FORMAT = 1  # bump when the cached value layout changes
_read_digests: dict[Version, str] = {}  # whole-file digests this process has read


def file_digest(conn: sqlite3.Connection, path: Path) -> str:
    """sha256 of the whole file, remembered per path and file version (device, inode, size,
    both times) in the database and in this process: each version is read once (a second a
    GB). The first and last MiB and the size were the digest once, and a file changed only in
    between took another's cached answers and score (37th probe). A regular file only, opened
    without waiting: a pipe named as a model held `eval` for ever here (32nd probe)."""
    with PinnedFile(path) as pinned:
        version = json.dumps(pinned.version)
        row = conn.execute(
            "SELECT version, digest FROM model_fingerprints WHERE path = ?", (str(path),)
        ).fetchone()
        if row and row["version"] == version:
            return str(row["digest"])
        digest = _read_digests.get(pinned.version) or pinned.sha256()
        if pinned.changed():
            raise ModelFileError(
                f"{path.name} changed while it was being read",
                hint="wait until the file is written whole, then use it again",
            )
        _read_digests[pinned.version] = digest
    conn.execute(
        "INSERT OR REPLACE INTO model_fingerprints (path, version, digest) VALUES (?,?,?)",
        (str(path), version, digest),
    )
    return digest


def model_key(conn: sqlite3.Connection, spec: ModelSpec, settings: Settings) -> str:
    """What makes two models the same for the cache: the weights, or the endpoint and name."""
    return kind_of(spec).cache_identity(spec, settings, lambda path: file_digest(conn, path))


def known_model_key(conn: sqlite3.Connection, spec: ModelSpec, settings: Settings) -> str:
    """The model's identity as `model_key` last gave it, without reading its files (pages must
    not spend a second a GB to tell whose a result is): a path's last digest, or for a path
    never read, a key no run holds. A file rewritten in place (a reinstall, a touch) counts
    as the same until a run reads it again."""

    def remembered(path: Path) -> str:
        row = conn.execute(
            "SELECT digest FROM model_fingerprints WHERE path = ?", (str(path),)
        ).fetchone()
        return str(row["digest"]) if row else f"unread:{path}"

    return kind_of(spec).cache_identity(spec, settings, remembered)


def current_model_keys(settings: Settings, specs: list[ModelSpec]) -> dict[str, str]:
    """known_model_key of each registered model whose identity can be told now."""
    if not settings.db_path.exists():
        return {}
    conn = connect(settings.db_path)
    try:
        keys = {}
        for spec in specs:
            with contextlib.suppress(OpenscoutError):  # unresolvable: shown as it was
                keys[spec.id] = known_model_key(conn, spec, settings)
        return keys
    finally:
        conn.close()


def cache_key(model: str, kind: str, request: dict[str, Any]) -> str:
    blob = json.dumps([CACHE_FORMAT, model, kind, request], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class EvalStore:
    def __init__(self, settings: Settings) -> None:
        self.conn = connect(settings.db_path)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.conn.close()

    # -- cache ---------------------------------------------------------------------------
    def cache_get(self, key: str) -> Any | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT value_json FROM eval_cache WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(row["value_json"]) if row else None

    def cache_put(self, key: str, model: str, kind: str, value: Any) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO eval_cache (key, model_key, kind, value_json)"
                " VALUES (?,?,?,?)",
                (key, model, kind, json.dumps(value)),
            )

    # -- runs ----------------------------------------------------------------------------
    def resumable(self, fingerprint: str) -> str | None:
        """The latest unfinished run doing the same work, unless a live process owns it."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT id, pid FROM eval_runs WHERE fingerprint = ? AND status != 'done'"
                " ORDER BY created_at DESC, rowid DESC",
                (fingerprint,),
            ).fetchall()
        for row in rows:
            if not pid_alive(row["pid"]):
                return str(row["id"])
        return None

    def create_run(
        self,
        *,
        suite: str,
        version: str,
        source: str,
        seed: int,
        limit: int | None,
        models: list[str],
        fingerprint: str,
        config: dict[str, Any],
    ) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        with self.lock:
            self.conn.execute(
                "INSERT INTO eval_runs (id, status, suite, suite_version, source, seed, item_limit,"
                " models_json, fingerprint, config_json, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    "running",
                    suite,
                    version,
                    source,
                    seed,
                    limit,
                    json.dumps(models),
                    fingerprint,
                    json.dumps(config, sort_keys=True),
                    os.getpid(),
                ),
            )
        return run_id

    def claim(self, run_id: str) -> None:
        with self.lock:
            self.conn.execute(
                "UPDATE eval_runs SET pid = ?, status = 'running' WHERE id = ?",
                (os.getpid(), run_id),
            )

    def finish(self, run_id: str, status: str, summary: dict[str, Any] | None) -> None:
        with self.lock:
            self.conn.execute(
                "UPDATE eval_runs SET status = ?, finished_at = ?, summary_json = ? WHERE id = ?",
                (status, _now(), json.dumps(summary) if summary is not None else None, run_id),
            )

    def finished_items(self, run_id: str, model_id: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT * FROM eval_items WHERE run_id = ? AND model_id = ? AND error IS NULL",
                (run_id, model_id),
            ).fetchall()
        return {r["item_id"]: item_row(r) for r in rows}

    def all_items(self, run_id: str, model_id: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT * FROM eval_items WHERE run_id = ? AND model_id = ? ORDER BY item_index",
                (run_id, model_id),
            ).fetchall()
        return [item_row(r) for r in rows]

    def save_item(self, run_id: str, model_id: str, rec: dict[str, Any]) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO eval_items (run_id, model_id, item_id, item_index,"
                " input_json, output, score, metrics_json, detail_json, error, latency_s,"
                " prompt_tokens, completion_tokens, engine_calls, cached_calls, retries,"
                " retry_causes_json, answer_cached) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    model_id,
                    rec["item_id"],
                    rec["index"],
                    json.dumps(rec["input"]),
                    rec["output"],
                    rec["score"],
                    json.dumps(rec["metrics"]),
                    json.dumps(rec["detail"]),
                    rec["error"],
                    rec["latency_s"],
                    rec["prompt_tokens"],
                    rec["completion_tokens"],
                    rec["engine_calls"],
                    rec["cached_calls"],
                    rec.get("retries", 0),
                    json.dumps(rec.get("retry_causes") or []),
                    rec.get("answer_cached"),
                ),
            )


def item_row(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "item_id": r["item_id"],
        "index": r["item_index"],
        "input": json.loads(r["input_json"]),
        "output": r["output"],
        "score": r["score"],
        "metrics": json.loads(r["metrics_json"] or "{}"),
        "detail": json.loads(r["detail_json"] or "{}"),
        "error": r["error"],
        "latency_s": r["latency_s"],
        "prompt_tokens": r["prompt_tokens"],
        "completion_tokens": r["completion_tokens"],
        "engine_calls": r["engine_calls"],
        "cached_calls": r["cached_calls"],
        "retries": r["retries"],
        "retry_causes": json.loads(r["retry_causes_json"] or "[]"),
        "answer_cached": None if r["answer_cached"] is None else bool(r["answer_cached"]),
    }


def _shown_status(r: sqlite3.Row) -> str:
    """A run left `running` by a process that is gone (killed, crashed) reads "interrupted":
    the same command resumes it."""
    if r["status"] == "running" and r["pid"] != os.getpid() and not pid_alive(r["pid"]):
        return "interrupted"
    return str(r["status"])


def _run_row(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": r["id"],
        "created_at": r["created_at"],
        "finished_at": r["finished_at"],
        "status": _shown_status(r),
        "suite": r["suite"],
        "suite_version": r["suite_version"],
        "source": r["source"],
        "seed": r["seed"],
        "limit": r["item_limit"],
        "models": json.loads(r["models_json"]),
        "summary": json.loads(r["summary_json"]) if r["summary_json"] else None,
        "model_keys": json.loads(r["config_json"] or "{}").get("model_keys", {}),
    }


def list_runs(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    conn = connect(settings.db_path)
    try:
        rows = conn.execute(
            "SELECT * FROM eval_runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_run_row(r) for r in rows]
    finally:
        conn.close()


def get_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """A run with all its items. A unique prefix of the id is enough."""
    conn = connect(settings.db_path)
    try:
        rows = conn.execute(
            "SELECT * FROM eval_runs WHERE id LIKE ? ESCAPE '\\' ORDER BY id",
            (run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        if not rows:
            raise OpenscoutError(f"no evaluation run {run_id!r}", hint="see `openscout runs list`")
        if len(rows) > 1:
            raise OpenscoutError(f"{run_id!r} matches {len(rows)} runs", hint="give more of the id")
        run = _run_row(rows[0])
        items = conn.execute(
            "SELECT * FROM eval_items WHERE run_id = ? ORDER BY model_id, item_index", (run["id"],)
        ).fetchall()
        run["items"] = [{"model_id": r["model_id"], **item_row(r)} for r in items]
        return run
    finally:
        conn.close()
