"""The server and the CLI writing to one data dir at the same moment: no `database is locked`,
no lost or damaged rows. Everything here is a real process: `openscout serve` (uvicorn),
`openscout eval` and `openscout run`, with registered mock models."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from openscout.config import Settings
from tests.evals.helpers import add_mock, script_for, write_suite
from tests.reliability.helpers import CLI, cli, count, integrity, serve

CLIENTS = 6
REQUESTS = 15  # per client
MESSAGES = 40
N_ITEMS = 40
CLI_RUNS = 6


@pytest.mark.slow
def test_server_and_cli_write_at_once_without_losing_rows(
    cli_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    add_mock(settings, "mock", delay_s=0.002, max_parallel=4)
    add_mock(settings, "slow", script=script_for(N_ITEMS), delay_s=0.01, max_parallel=2)
    suite = write_suite(tmp_path / "s.yaml", N_ITEMS)
    db = settings.db_path
    log = tmp_path / "serve.log"
    statuses: list[int] = []
    lock = threading.Lock()
    cli_done = threading.Event()
    asked: list[int] = []  # requests per client

    def client(url: str, k: int) -> None:
        # at least REQUESTS, and on until the CLI is done: on a loaded machine the clients
        # finished before the first `run` started, and nothing overlapped
        i = 0
        with httpx.Client(base_url=url, timeout=60) as c:
            while i < REQUESTS or not cli_done.is_set():
                body = {
                    "model": "mock",
                    "messages": [{"role": "user", "content": f"request {k} {i}"}],
                    "max_tokens": 8,
                    "stream": i % 2 == 0,
                }
                r = c.post("/v1/chat/completions", json=body)
                ok = r.status_code == 200 and "error" not in r.text
                with lock:
                    statuses.append(200 if ok else r.status_code or 599)
                i += 1
        with lock:
            asked.append(i)

    def chatter(url: str, chat_ids: list[int]) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            chat = c.post("/ui/api/chats", json={"model": "mock"}).json()["id"]
            chat_ids.append(chat)
            for i in range(MESSAGES):
                r = c.post(
                    f"/ui/api/chats/{chat}/messages", json={"role": "user", "content": f"m{i}"}
                )
                with lock:
                    statuses.append(r.status_code)

    chat_ids: list[int] = []
    with serve(cli_env, log=log) as (url, _):
        before_api = count(db, "SELECT count(*) FROM generations WHERE source = 'api'")
        threads = [threading.Thread(target=client, args=(url, k)) for k in range(CLIENTS)]
        threads.append(threading.Thread(target=chatter, args=(url, chat_ids)))
        # the CLI writes at the same time: an eval in one process, `run` in others
        ev = subprocess.Popen(
            [*CLI, "eval", "--suite", str(suite), "-m", "slow", "--json"],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for t in threads:
            t.start()
        try:
            runs = [
                cli(cli_env, "run", f"cli prompt {j}", "-m", "mock", "--json", check=False)
                for j in range(CLI_RUNS)
            ]
            out, err = ev.communicate(timeout=120)
        finally:
            cli_done.set()
            for t in threads:
                t.join(timeout=120)
    logs = log.read_text(encoding="utf-8") + err + "".join(r.stderr for r in runs)
    assert "locked" not in logs and "Traceback" not in logs, logs[-3000:]
    assert ev.returncode == 0 and all(r.returncode == 0 for r in runs), logs[-3000:]
    requests = sum(asked)
    assert len(asked) == CLIENTS and requests >= CLIENTS * REQUESTS
    assert statuses.count(200) == len(statuses) == requests + MESSAGES

    assert integrity(db) == "ok"
    # every request made is a row, exactly once
    api_rows = count(db, "SELECT count(*) FROM generations WHERE source = 'api'") - before_api
    assert api_rows == requests
    prompts = count(
        db,
        "SELECT count(DISTINCT input_json) FROM generations WHERE source = 'api'"
        " AND input_json LIKE '%request %'",
    )
    assert prompts == requests
    assert count(db, "SELECT count(*) FROM generations WHERE source = 'cli'") == CLI_RUNS
    assert count(db, "SELECT count(*) FROM chat_messages WHERE chat_id = ?", chat_ids[0]) == (
        MESSAGES
    )
    result = json.loads(out)["results"][0]
    assert result["n"] == N_ITEMS and result["errors"] == 0 and result["score"] == 0.5
    assert count(db, "SELECT count(*) FROM eval_items WHERE error IS NULL") == N_ITEMS
    # and the writers really did overlap in time (else this test would prove nothing)
    assert (
        count(
            db,
            "SELECT count(*) FROM generations a, generations b WHERE a.source = 'api'"
            " AND b.source IN ('eval', 'cli') AND a.created_at BETWEEN"
            " (SELECT min(created_at) FROM generations WHERE source = b.source)"
            " AND (SELECT max(created_at) FROM generations WHERE source = b.source) LIMIT 1",
        )
        > 0
    )
