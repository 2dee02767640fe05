"""Examples as token ids, exactly as the engine will prompt the tuned model.

The prompt is rendered and tokenized by the base model's own llama.cpp engine (its chat
template, in the same sandbox; its tokenizer), so the tuned model learns to answer the very
tokens `openscout generate` and `eval` will send it. The answer is the completion's tokens
followed by the end-of-generation token, which is where llama.cpp stops. Loss is taken on
the answer only.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openscout.chat_prompt import qa_prompt
from openscout.errors import DataFileError
from openscout.tune.data import Example

IGNORE = -100  # label of prompt tokens: no loss there


@dataclass(frozen=True)
class Encoded:
    """As 32-bit arrays: a data file of 256 MiB held 3 GB more as lists of ints (36 bytes
    an id) than as arrays (4 bytes)."""

    line: int
    input_ids: array[int]
    labels: array[int]

    @property
    def n_answer(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


def prompt_ids(engine: Any, ex: Example, prompt_format: str) -> list[int]:
    """The prompt's token ids as the engine sends them (chat template or plain text)."""
    if prompt_format == "chat":
        return list(engine.chat_ids(ex.as_messages()))
    text = ex.prompt if ex.prompt is not None else qa_prompt(ex.as_messages())
    return list(engine.tokenize(text))


def encode(
    engine: Any,
    examples: list[Example],
    prompt_format: str,
    n_ctx: int,
    path: str,
    done: Callable[[int], None] = lambda n: None,
) -> list[Encoded]:
    """Token ids and labels of every example; one longer than the context names its line.
    `done(n)` hears how many are encoded, every 1,000 (a large file takes minutes)."""
    eos = int(engine.llm.token_eos())
    out = []
    for k, ex in enumerate(examples):
        if k % 1000 == 0:
            done(k)
        prompt = prompt_ids(engine, ex, prompt_format)
        answer = [*engine.encode(ex.completion), eos]
        n = len(prompt) + len(answer)
        if n > n_ctx:
            raise DataFileError(
                f"the example has {n} tokens ({len(prompt)} prompt + {len(answer)} answer) but"
                f" the model's context holds {n_ctx}",
                path=path,
                line=ex.line,
                hint="shorten or drop the example, or register the base with a larger --n-ctx",
            )
        ids, labels = array("i", prompt), array("i", [IGNORE]) * len(prompt)
        ids.extend(answer)
        labels.extend(answer)
        out.append(Encoded(ex.line, ids, labels))
    return out
