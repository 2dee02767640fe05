"""A conversation as the model expects it: chat messages, or a Q/A prompt for a base model.

A base model (`prompt_format: completion`, like the bundled gemma-3-270m) was never trained on
a chat template: handed one, it streams the template's own tokens back or repeats one line.
So every chat caller (the arena, the API's chat route and through it the web chat, `openscout
chat`) asks `chat_request` how to send a conversation, and a base model gets a plain
Question/Answer transcript with stop strings where its answer ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from openscout.engines.base import Message, SamplingParams

BASE_MARK = "base model"
# where a base model's answer ends: the next question it would invent, or a blank line
BASE_STOPS = ("\nQuestion:", "\n\n")


def is_base(prompt_format: str) -> bool:
    return prompt_format == "completion"


def qa_prompt(messages: Sequence[Message]) -> str:
    """The conversation as a Question/Answer transcript that ends where the answer begins."""
    parts: list[str] = []
    for m in messages:
        text = m["content"].strip()
        if m["role"] == "system":
            parts.append(text + "\n\n")
        elif m["role"] == "user":
            parts.append(f"Question: {text}\n")
        else:
            parts.append(f"Answer: {text}\n\n")
    return "".join(parts) + "Answer:"


def with_stops(params: SamplingParams, stops: Sequence[str]) -> SamplingParams:
    """The caller's stop strings plus `stops`, each once, in order."""
    merged = tuple(dict.fromkeys((*params.stop, *stops)))
    return replace(params, stop=merged)


def chat_request(
    prompt_format: str, messages: Sequence[Message], params: SamplingParams
) -> tuple[dict[str, Any], SamplingParams]:
    """The keyword (`messages` or `prompt`) and sampling to send a conversation with."""
    if not is_base(prompt_format):
        return {"messages": list(messages)}, params
    return {"prompt": qa_prompt(messages)}, with_stops(params, BASE_STOPS)
