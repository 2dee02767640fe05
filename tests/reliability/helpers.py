"""Shared helpers for the reliability tests: the CLI in a subprocess, a `serve` subprocess on a
free port, and a look at the SQLite file from the outside."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import free_port

CLI = [sys.executable, "-m", "openscout.cli.main"]


def cli(
    env: dict[str, str],
    *args: str,
    check: bool = True,
    timeout: float = 120,
    max_memory_bytes: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`max_memory_bytes`: the command's address space, for a case that read without bound
    before its fix (on a regression it fails alone instead of taking the machine's memory)."""

    def cap() -> None:
        if max_memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (max_memory_bytes, max_memory_bytes))

    p = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, preexec_fn=cap
    )
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def integrity(db: Path) -> str:
    """PRAGMA integrity_check of the file as a fresh process would find it ('ok' when sound)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)
    finally:
        conn.close()


def count(db: Path, sql: str, *args: object) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute(sql, args).fetchone()[0])
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return 0  # killed before the migrations ran
        raise
    finally:
        conn.close()


@contextlib.contextmanager
def serve(
    env: dict[str, str], *extra: str, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`openscout serve` in its own process on 127.0.0.1 and a free port; stopped at the end.
    Its stderr goes to `log` (a file, so a chatty server never blocks on a full pipe)."""
    port = free_port()
    log = log or Path(env["OPENSCOUT_HOME"]).parent / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    err = log.open("a", encoding="utf-8")
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--preload", "mock", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited: {log.read_text(encoding='utf-8')}")
            try:
                if httpx.get(url + "/health", timeout=2).json().get("ready"):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("serve did not become ready")
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err.close()
