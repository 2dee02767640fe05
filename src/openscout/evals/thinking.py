"""A reasoning model's thinking, set aside before its answer is scored.

Servers with a reasoning parser stream thinking apart (`reasoning_content`), and the engines
keep it out of the answer text; the same model run by llama.cpp, or by a server without that
parser, writes it inline: `<think>...</think>` before the answer, or only the closing tag
where the chat template opened it (the engine says so: engines/thinking.py). Scored whole, the
same answer got 0.000 inline and 1.000 apart (40th probe), and a judge thinking inline never
reached its verdict.
"""

from __future__ import annotations

from openscout.engines.thinking import CLOSE, OPEN


def split_thinking(text: str, opened: bool = False) -> tuple[str, str | None]:
    """(answer, thinking): the text after the first `</think>` when it holds one; "" when it
    was cut off while thinking: it opens a `<think>` that never closes, or its prompt had
    opened one (`opened`: Final.thinking_open); else the text as it is."""
    end = text.find(CLOSE)
    if end >= 0:
        thought = text[:end].strip()
        return text[end + len(CLOSE) :].lstrip(), thought.removeprefix(OPEN).strip()
    if opened or text.lstrip().startswith(OPEN):
        return "", text.lstrip().removeprefix(OPEN).strip()
    return text, None


def cut_off_thinking(text: str, opened: bool = False) -> bool:
    """Whether the text ends inside thinking that never closed: no answer at all, which is
    not the empty answer (scored "", it passed every `not-*` check: 44th probe)."""
    return CLOSE not in text and (opened or text.lstrip().startswith(OPEN))
