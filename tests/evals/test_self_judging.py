"""Whether a suite's judge is one of the models scored: by id, by server, by file."""

from __future__ import annotations

import re
from pathlib import Path

from openscout.config import Settings
from openscout.evals.self_judging import self_judged
from openscout.models import ModelSpec


def _remote(mid: str, url: str, model: str) -> ModelSpec:
    return ModelSpec(id=mid, engine="openai", base_url=url, model=model)


def test_one_server_spelt_two_ways_is_one_model(settings: Settings) -> None:
    """Compared as spelt, a judge registered as `localhost` (or with the model name in
    capitals) judged the same server's answers unrefused (54th probe)."""
    model = _remote("m", "http://127.0.0.1:9000/v1", "qwen")
    same = [
        _remote("j1", "http://localhost:9000/v1/", "Qwen"),
        _remote("j2", "HTTP://[::1]:9000/v1", "qwen"),
        _remote("j3", "http://user:pw@127.0.0.1:9000/v1?key=x", "QWEN"),
        # loopback in the spellings a connection accepts, and paths that reach /v1 (55th)
        _remote("j7", "http://127.1:9000/v1", "qwen"),
        _remote("j8", "http://2130706433:9000/v1", "qwen"),
        _remote("j9", "http://[::ffff:127.0.0.1]:9000//v1", "qwen"),
        _remote("j10", "http://localhost:9000/v1/../v1", "qwen"),
        _remote(
            "j11", "http://127\u30020\u30020\u30021:9000/v1", "qwen"
        ),  # ideographic dots (56th)
        _remote("j12", "http://127.0.0.1:9000/v1", "qwen:latest"),  # Ollama's own tag (58th)
    ]
    other = [
        _remote("j4", "http://127.0.0.1:9001/v1", "qwen"),
        _remote("j5", "http://127.0.0.1:9000/v2", "qwen"),
        _remote("j6", "http://127.0.0.1:9000/v1", "llama"),
        _remote("j13", "http://127.0.0.1:9000/v1", "qwen:7b"),
    ]
    assert self_judged(same + other, [model], settings) == [(j.id, "m") for j in same]


def test_a_copy_of_the_same_weights_is_the_same_model(settings: Settings, tmp_path: Path) -> None:
    """The resolved path alone let a copy of a compared GGUF under another path judge it."""
    weights = b"GGUF" + bytes(range(256)) * 1000
    # a fine-tune differing only in its middle: alike in size and ends (55th probe)
    middle = weights[:128_000] + bytes(4096) + weights[128_000 + 4096 :]
    for name, data in (
        ("a.gguf", weights),
        ("copy.gguf", weights),
        ("other.gguf", weights[::-1]),
        ("tuned.gguf", middle),
    ):
        (tmp_path / name).write_bytes(data)

    def local(mid: str, name: str) -> ModelSpec:
        return ModelSpec(id=mid, engine="llamacpp", path=str(tmp_path / name))

    judges = [local("copy", "copy.gguf"), local("other", "other.gguf"), local("t", "tuned.gguf")]
    assert self_judged(judges, [local("a", "a.gguf")], settings) == [("copy", "a")]


def test_a_score_its_own_judge_gave_is_marked_where_it_is_shown(
    settings: Settings, tmp_path: Path
) -> None:
    """The note was in the terminal and `runs show` only: the leaderboard and the model
    page showed `1.000` beside honest runs (55th probe). The stored score carries the mark."""
    from openscout.evals import run_eval
    from openscout.server.data import eval_rows
    from tests.evals.helpers import add_mock, write_suite

    add_mock(settings, "self", default="PASS ok w0")
    add_mock(settings, "honest", default="ok w0")
    suite = write_suite(tmp_path / "s.yaml", 1, judge="self")
    run_eval(settings, str(suite), ["self", "honest"])
    shown = {r.model: r.score for r in eval_rows(settings, [])}
    assert shown["self"].endswith("(judged by itself)")
    assert "judged" not in shown["honest"]


def test_runs_list_marks_the_scores_a_compared_judge_gave(
    settings: Settings, tmp_path: Path
) -> None:
    """`runs list` showed both scores of a self-judged run unmarked (56th probe, low)."""
    from typer.testing import CliRunner

    from openscout.cli.main import app
    from openscout.evals import run_eval
    from tests.evals.helpers import add_mock, write_suite

    add_mock(settings, "self", default="PASS ok w0")
    add_mock(settings, "honest", default="ok w0")
    run_eval(settings, str(write_suite(tmp_path / "s.yaml", 1, judge="self")), ["self", "honest"])
    run_eval(settings, str(write_suite(tmp_path / "t.yaml", 1)), ["honest"])
    r = CliRunner().invoke(app, ["runs", "list"])
    assert r.exit_code == 0, r.output
    # the table wraps at the terminal's width: its cells read as one line
    flat = " ".join(re.sub("[│┃]", " ", r.output).split())
    assert "self 1.000 (judged by itself)" in flat
    assert "honest 1.000 (judged by a rival)" in flat
    assert flat.count("judged") == 2  # the run without a compared judge is unmarked


def test_a_judge_served_here_under_a_local_model_s_id_is_that_model(
    settings: Settings, tmp_path: Path
) -> None:
    """`openscout serve` serves each local model under its id: a judge pointed at it judged
    its own weights unrefused (60th probe)."""
    local = ModelSpec(id="smol", engine="llamacpp", path=str(tmp_path / "smol.gguf"))
    served = _remote("served", "http://localhost:8765/v1", "smol")
    elsewhere = _remote("far", "http://10.0.0.5:8765/v1", "smol")
    other = _remote("other", "http://localhost:8765/v1", "gemma")
    assert self_judged([served, elsewhere, other], [local], settings) == [("served", "smol")]
    assert self_judged([local], [served], settings) == [("smol", "served")]
