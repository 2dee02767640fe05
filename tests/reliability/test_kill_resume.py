"""SIGKILL at random moments: the database always opens cleanly, and the run resumes to the
same result as one that was never interrupted. Also a server killed mid-stream."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from openscout.config import Settings
from openscout.evals.store import list_runs
from openscout.store.db import connect
from tests.evals.helpers import add_mock, script_for, write_suite
from tests.reliability.helpers import CLI, cli, count, integrity, serve

N_ITEMS = 60
KILLS = 6
SEED = 20261126  # the kill points are random, but the same on every run of the test


def _items(env: dict[str, str], run_id: str) -> list[tuple[str, object, object]]:
    shown = json.loads(cli(env, "runs", "show", run_id, "--json").stdout)["items"]
    return sorted((i["item_id"], i["score"], i["output"]) for i in shown)


@pytest.mark.slow
def test_eval_killed_at_random_points_resumes_to_the_uninterrupted_result(
    cli_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    suite = write_suite(tmp_path / "s.yaml", N_ITEMS)
    # 2 words per answer at 25 ms each, one at a time: ~3 s of generation in all
    add_mock(settings, "slow", script=script_for(N_ITEMS), delay_s=0.025, max_parallel=1)
    db = settings.db_path
    args = ["eval", "--suite", str(suite), "-m", "slow", "--json"]
    rng = random.Random(SEED)
    killed, finished_before, mid_items = [], 0, 0
    for n in range(KILLS):
        proc = subprocess.Popen(
            [*CLI, *args], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if n % 2 == 0:
            # anywhere in the first 1.6 s: interpreter start-up, before the database exists,
            # the migrations, the first items (how far it gets depends on the machine's load)
            at: object = round(rng.uniform(0.05, 1.6), 2)
            time.sleep(at)  # type: ignore[arg-type]
        else:
            # between items, whatever the load: once a few more items are committed
            at = f"after item {finished_before + rng.randint(2, 6)}"
            target, deadline = int(str(at).rsplit(" ", 1)[1]), time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if db.exists() and count(db, "SELECT count(*) FROM eval_items") >= target:
                    break
                time.sleep(0.01)
        if proc.poll() is not None:
            break  # the run finished before this kill point: nothing left to interrupt
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed.append(at)
        if db.exists():
            assert integrity(db) == "ok", f"after a kill at {at}"
            connect(db).close()  # and openscout itself opens it (migrations and all)
            done = count(db, "SELECT count(*) FROM eval_items")
            assert done >= finished_before, "a committed item was lost"
            finished_before = done
            mid_items += 0 < done < N_ITEMS
            assert count(db, "SELECT count(*) FROM eval_runs") <= 1  # resumed, never duplicated
            for run in list_runs(settings):  # not `running` for ever (probes 6 and 11)
                assert run["status"] in ("interrupted", "done"), run["status"]
    assert len(killed) >= 3, f"too few kills landed on a running process: {killed}"
    assert mid_items >= 2, f"too few kills landed between items: {killed}, {finished_before}"

    resumed = json.loads(cli(cli_env, *args).stdout)
    assert integrity(db) == "ok"
    assert count(db, "SELECT count(*) FROM eval_runs") == 1
    res = resumed["results"][0]
    assert res["n"] == N_ITEMS and res["errors"] == 0

    home2 = tmp_path / "clean-home"
    env2 = dict(cli_env, OPENSCOUT_HOME=str(home2))
    add_mock(Settings(home=home2), "slow", script=script_for(N_ITEMS), delay_s=0.0)
    clean = json.loads(cli(env2, *args).stdout)
    # the same numbers, item for item, as a run that was never interrupted
    assert res["score"] == clean["results"][0]["score"] == 0.5
    assert (res["ci_low"], res["ci_high"]) == (
        clean["results"][0]["ci_low"],
        clean["results"][0]["ci_high"],
    )
    assert _items(cli_env, resumed["run_id"]) == _items(env2, clean["run_id"])


@pytest.mark.slow
def test_server_killed_mid_stream_leaves_a_sound_database(
    cli_env: dict[str, str], settings: Settings
) -> None:
    add_mock(settings, "mock", default=" ".join(f"w{i}" for i in range(200)), delay_s=0.005)
    db = settings.db_path
    stop = threading.Event()
    logged: list[int] = []

    def chatter(url: str) -> None:
        """Keep the server writing: chats with messages, and generations as they finish."""
        with httpx.Client(base_url=url, timeout=10) as c:
            try:
                chat = c.post("/ui/api/chats", json={"model": "mock"}).json()["id"]
                while not stop.is_set():
                    r = c.post(
                        f"/ui/api/chats/{chat}/messages",
                        json={"role": "user", "content": "x" * 2000},
                    )
                    logged.append(r.status_code)
            except httpx.HTTPError:
                pass  # the server went away under us: that is the point

    def streamer(url: str, max_tokens: int) -> None:
        body = {
            "model": "mock",
            "messages": [{"role": "user", "content": "go"}],
            "stream": True,
            "max_tokens": max_tokens,
        }
        with httpx.Client(base_url=url, timeout=30) as c:
            try:
                while not stop.is_set():
                    with c.stream("POST", "/v1/chat/completions", json=body) as r:
                        for _ in r.iter_lines():
                            pass
            except httpx.HTTPError:
                pass

    rng = random.Random(SEED)
    for round_ in range(3):
        stop.clear()
        with serve(cli_env) as (url, proc):
            threads = [threading.Thread(target=chatter, args=(url,))]
            threads += [
                threading.Thread(target=streamer, args=(url, rng.choice([5, 40, 150])))
                for _ in range(4)
            ]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.5, 1.5))
            os.kill(proc.pid, signal.SIGKILL)  # mid-stream: 150 tokens take ~0.75 s
            proc.wait()
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert integrity(db) == "ok", f"round {round_}"
        connect(db).close()
    assert logged and all(s == 200 for s in logged)
    assert count(db, "SELECT count(*) FROM generations") > 0
    assert count(db, "SELECT count(*) FROM chat_messages") > 0
    # and the server starts again on the same data
    with serve(cli_env) as (url, _):
        r = httpx.post(
            url + "/v1/chat/completions",
            json={
                "model": "mock",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 3,
            },
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
