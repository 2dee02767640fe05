"""Whether a suite's judge is one of the models it scores: a judge favours its own answers
(self-preference), and a hostile server used as the judge passed its own wrong answers and
failed its rivals' right ones, and was recommended (54th probe). `eval` says so; `compare`
refuses it before anything runs, since its pick would rest on a contestant's word."""

from __future__ import annotations

from pathlib import Path

from openscout.config import Settings
from openscout.engines.kinds import kind_of
from openscout.errors import OpenscoutError
from openscout.models import ModelSpec


def _where(spec: ModelSpec, settings: Settings) -> tuple[str, ...]:
    """What the model answers from: its file (and adapter), or its endpoint and name."""
    if spec.base_url:
        return ("url", spec.base_url.rstrip("/"), spec.model or spec.id)
    try:
        path = kind_of(spec).local_file(spec, settings)
    except OpenscoutError:  # an unresolvable file: the id alone tells it
        path = None
    if path is None:
        return ("id", spec.id)
    return ("file", str(Path(path).resolve()), str(spec.lora or ""))


def self_judged(
    judges: list[ModelSpec], models: list[ModelSpec], settings: Settings
) -> list[tuple[str, str]]:
    """(judge id, model id) for each judge that is one of the models scored: the same id,
    the same file, or the same endpoint and model name under another id."""
    out = []
    for judge in judges:
        where = _where(judge, settings)
        out += [
            (judge.id, m.id) for m in models if m.id == judge.id or _where(m, settings) == where
        ]
    return out


def who(judge: str, model: str) -> str:
    """'the judge j is m, one of the models scored (under another id)'."""
    again = " (the same model under another id)" if judge != model else ""
    return f"the judge {judge} is {model}, one of the models scored{again}"


def self_judged_notes(pairs: list[tuple[str, str]]) -> list[str]:
    return [
        f"{who(judge, model)}: it judged its own answers and its rivals'; a judge favours its"
        " own answers, so choose one that is not scored before trusting the comparison"
        for judge, model in pairs
    ]
