"""The CLI end to end in subprocesses: list, eval with JSON, runs list/show, SIGKILL + resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openscout.config import Settings
from tests.evals.helpers import add_mock, script_for, write_suite

CLI = [sys.executable, "-m", "openscout.cli.main"]


def _cli(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def test_list_suites(cli_env: dict[str, str]) -> None:
    out = _cli(cli_env, "eval", "--list").stdout
    assert "quick" in out and "ifeval" in out and "logic-hard" in out
    data = json.loads(_cli(cli_env, "eval", "--list", "--json").stdout)
    assert {"name", "version", "description", "default_size"} <= set(data[0])


def test_eval_json_runs_list_and_show(
    cli_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    suite = write_suite(tmp_path / "s.yaml", 4)
    add_mock(settings, "m1", script=script_for(4))
    add_mock(settings, "m2", default="nothing right")
    data = json.loads(
        _cli(cli_env, "eval", "--suite", str(suite), "-m", "m1", "-m", "m2", "--json").stdout
    )
    scores = {r["model_id"]: r for r in data["results"]}
    assert scores["m1"]["score"] == 0.5 and scores["m2"]["score"] == 0.0
    assert scores["m1"]["ci_low"] <= 0.5 <= scores["m1"]["ci_high"] and scores["m1"]["n"] == 4
    assert data["comparisons"][0]["method"] == "mcnemar-exact"
    runs = json.loads(_cli(cli_env, "runs", "list", "--json").stdout)
    assert runs[0]["id"] == data["run_id"] and runs[0]["status"] == "done"
    shown = json.loads(_cli(cli_env, "runs", "show", data["run_id"], "--json").stdout)
    assert len(shown["items"]) == 8
    human = _cli(cli_env, "runs", "show", data["run_id"]).stdout
    assert "m1" in human and "test001" in human
    table = _cli(cli_env, "eval", "--suite", str(suite), "-m", "m1").stdout
    assert "0.500" in table


def test_cli_errors_are_clear(cli_env: dict[str, str], tmp_path: Path) -> None:
    p = _cli(cli_env, "eval", "--suite", "nope", "-m", "smollm2-135m-instruct", check=False)
    assert p.returncode == 2 and "no built-in suite" in p.stderr and "Traceback" not in p.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("prompts: [hi]\ntests:\n  - assert:\n    - {type: wrong}\n")
    p = _cli(cli_env, "eval", "--suite", str(bad), "-m", "smollm2-135m-instruct", check=False)
    assert p.returncode == 2 and f"{bad}:4" in p.stderr
    p = _cli(cli_env, "runs", "show", "0000", check=False)
    assert p.returncode == 2 and "no evaluation run" in p.stderr


def test_sigkill_then_rerun_finishes_without_redoing(
    cli_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    n = 12
    suite = write_suite(tmp_path / "s.yaml", n)
    add_mock(settings, "slow", script=script_for(n), delay_s=0.12, max_parallel=1)
    db = settings.db_path
    args = ["eval", "--suite", str(suite), "-m", "slow", "--json"]
    proc = subprocess.Popen(
        [*CLI, *args], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                done = _count(db, "SELECT count(*) FROM eval_items")
            except sqlite3.OperationalError:
                done = 0  # tables not created yet
        if done >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = _count(db, "SELECT count(*) FROM eval_items")
    assert 4 <= finished < n
    # every generation made through openscout is logged: this counts engine calls across processes
    calls_before = _count(db, "SELECT count(*) FROM generations")
    rerun = json.loads(_cli(cli_env, *args).stdout)
    assert rerun["resumed"] is True
    res = rerun["results"][0]
    made = _count(db, "SELECT count(*) FROM generations") - calls_before
    # Only the unfinished items are asked again. One of them may have been answered and
    # cached just before the kill, before its row was committed: it comes from the cache.
    assert made == res["engine_calls"] and res["engine_calls"] + res["cached_calls"] == n - finished
    assert n - finished - 1 <= made <= n - finished and res["n"] == n
    assert _count(db, "SELECT count(*) FROM eval_runs") == 1
    # the same scores as an uninterrupted run in a fresh data dir
    env2 = dict(cli_env, OPENSCOUT_HOME=str(tmp_path / "home2"))
    s2 = Settings(home=tmp_path / "home2")
    add_mock(s2, "slow", script=script_for(n), delay_s=0.12, max_parallel=1)
    clean = json.loads(_cli(env2, *args).stdout)
    assert clean["results"][0]["score"] == rerun["results"][0]["score"] == 0.5
    items = json.loads(_cli(cli_env, "runs", "show", rerun["run_id"], "--json").stdout)["items"]
    clean_items = json.loads(_cli(env2, "runs", "show", clean["run_id"], "--json").stdout)["items"]
    assert [(i["item_id"], i["score"], i["output"]) for i in items] == [
        (i["item_id"], i["score"], i["output"]) for i in clean_items
    ]
    # a second identical run after completion: no engine calls at all
    calls_before = _count(db, "SELECT count(*) FROM generations")
    again = json.loads(_cli(cli_env, *args).stdout)
    assert _count(db, "SELECT count(*) FROM generations") == calls_before
    assert again["resumed"] is False and again["results"][0]["engine_calls"] == 0


@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 30 s on an idle 2-core machine; far more when it is shared
def test_quick_suite_on_both_bundled_models(cli_env: dict[str, str]) -> None:
    models = ["-m", "smollm2-135m-instruct", "-m", "gemma-3-270m"]
    args = ["eval", "--suite", "quick", *models, "--limit", "10", "--json"]
    p = _cli(cli_env, *args, timeout=1700)
    data = json.loads(p.stdout)
    assert [r["model_id"] for r in data["results"]] == ["smollm2-135m-instruct", "gemma-3-270m"]
    for r in data["results"]:
        assert r["n"] == 10 and r["errors"] == 0
        assert 0.0 <= r["ci_low"] <= r["score"] <= r["ci_high"] <= 1.0
        assert r["engine_calls"] > 0
    assert data["comparisons"][0]["n"] == 10


def test_an_answer_nested_too_deep_fails_its_check_not_the_run(
    cli_env: dict[str, str], settings: Settings
) -> None:
    """A model answering 1,200 "[" crashed `eval -s ifeval` and `-s quick` with RecursionError
    at item 31, and again on every resume (33rd probe, medium): IFEval's JSON check parsed
    the answer without the depth bound the JSON assertions had."""
    add_mock(settings, "deep", default="[" * 1200)
    for suite in ("ifeval", "quick"):
        data = json.loads(_cli(cli_env, "eval", "-s", suite, "-m", "deep", "--json").stdout)
        result = data["results"][0]
        assert result["errors"] == 0 and result["n"] > 0, result
        if suite == "ifeval":
            assert result["by_task"]["json_format"]["score"] == 0.0  # not JSON within bounds


def test_json_output_stays_strict_json_whatever_the_model_answers(
    cli_env: dict[str, str], settings: Settings
) -> None:
    """A model answering a 400-digit number put a bare `Infinity` into `eval --json` and
    `runs show --json`, which strict parsers (jq, JSON.parse) refuse whole (33rd probe, low)."""

    def strict(text: str) -> dict:
        def refuse(name: str) -> None:
            raise AssertionError(f"{name} is not JSON")

        return json.loads(text, parse_constant=refuse)  # type: ignore[no-any-return]

    add_mock(settings, "nines", default="Answer: " + "9" * 400)
    args = ("eval", "-s", "arithmetic", "-n", "3", "-m", "nines", "--json", "--items")
    data = strict(_cli(cli_env, *args).stdout)
    assert data["results"][0]["score"] == 0.0 and data["results"][0]["errors"] == 0
    strict(_cli(cli_env, "runs", "show", data["run_id"], "--json").stdout)


def test_print_json_writes_numbers_json_cannot_carry_as_null(capsys) -> None:  # type: ignore[no-untyped-def]
    from openscout.cli.output import print_json

    print_json({"a": float("inf"), "b": [float("nan"), 1.5], "c": (float("-inf"),)})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [None, 1.5], "c": [None]}
