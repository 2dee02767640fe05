"""Whether an answer begins inside thinking that its prompt opened.

A reasoning model writes its thinking inline, `<think>...</think>` before the answer, unless
the server streams it apart (`reasoning_content`). Some chat templates (DeepSeek-R1's
distills) write the opening `<think>` themselves, at the end of the prompt: the answer then
carries only the closing tag, and an answer cut off by `max_tokens` while thinking carries no
tag at all, so it read as an answer (a cut-off "... Is it Paris? Hmm, or Lyon" passed
`icontains: Paris`: 42nd probe). The engine that built or sent the prompt says so in its
`Final.thinking_open`; evals/thinking.py reads the answer with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from openscout.engines.base import Chunk, StreamEvent

OPEN, CLOSE = "<think>", "</think>"


def prompt_opens_thinking(prompt_tail: str) -> bool:
    """Whether a prompt (or its last few tokens' text) ends in an opened `<think>`."""
    return prompt_tail.rstrip().endswith(OPEN)


def marked_thinking_open(stream: Iterator[StreamEvent], opened: bool) -> Iterator[StreamEvent]:
    """The stream, its Final marked `thinking_open` where the prompt opened thinking and none
    of it arrived apart (a server with a reasoning parser sends the answer alone)."""
    if not opened:
        return stream
    return _marked(stream)


def _marked(stream: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    apart = False
    try:
        for ev in stream:
            if isinstance(ev, Chunk):
                apart = apart or ev.thought
            elif not apart:
                ev = replace(ev, thinking_open=True)
            yield ev
    finally:  # a reader that hangs up frees the engine now, not at garbage collection
        close = getattr(stream, "close", None)
        if close is not None:
            close()
