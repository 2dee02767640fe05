"""The generation log is a bounded record: each row keeps the head of a long input and
output, the newest KEPT_GENERATIONS rows are kept, and a log that cannot be written fails no
generation. Each refused 400,000-character request was stored whole, for ever: one client
added 78 MB a minute (33rd probe, medium)."""

from __future__ import annotations

import json
import sqlite3

from openscout import generation
from openscout.config import Settings
from openscout.engines.base import SamplingParams
from openscout.engines.mock import MockEngine
from openscout.generation import generate, recent_generations


def test_long_inputs_and_outputs_keep_their_head(settings: Settings) -> None:
    engine = MockEngine("m", default="y" * 50_000)
    big = [{"role": "user", "content": "x" * 200_000}, {"role": "user", "content": "z" * 198_000}]
    result = generate(engine, messages=big, params=SamplingParams(max_tokens=8), settings=settings)
    assert result.text == "y" * 50_000  # the answer itself is whole; only its record is cut
    row = recent_generations(settings, 1)[0]
    stored = json.loads(str(row["input_json"]))
    assert stored["cut"] is True and stored["chars"] > 398_000
    assert stored["head"].startswith('[{"role": "user", "content": "xxx')
    assert len(str(row["input_json"])) < generation.LOGGED_CHARS + 200
    assert str(row["output"]).startswith("y" * 100) and "46,000 more characters" in row["output"]
    short = generate(engine, prompt="hi", params=SamplingParams(max_tokens=2), settings=settings)
    assert json.loads(str(recent_generations(settings, 1)[0]["input_json"])) == "hi"
    assert short.text


def test_only_the_newest_rows_are_kept(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(generation, "KEPT_GENERATIONS", 5)
    engine = MockEngine("m", default="ok")
    for i in range(12):
        generate(engine, prompt=f"p{i}", params=SamplingParams(max_tokens=2), settings=settings)
    conn = sqlite3.connect(settings.db_path)
    inputs = [json.loads(r[0]) for r in conn.execute("SELECT input_json FROM generations")]
    conn.close()
    assert inputs == [f"p{i}" for i in range(7, 12)]


def test_a_log_that_cannot_be_written_fails_no_generation(settings: Settings) -> None:
    """A full disk made every generation fail on its log write: SmolLM2 in `serve` answered
    400 "cannot open the database /home/...: disk I/O error" (33rd probe)."""
    settings.ensure()
    settings.db_path.mkdir(parents=True)  # a folder where the database should be: unopenable
    engine = MockEngine("m", default="fine")
    result = generate(engine, prompt="hi", params=SamplingParams(max_tokens=2), settings=settings)
    assert result.text == "fine"
