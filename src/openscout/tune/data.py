"""Training examples from a JSONL file, and the held-out split. Pure Python, no torch.

One JSON object a line, in either form:

    {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}
    {"prompt": "...", "completion": "..."}

In chat form the last message is the assistant's answer the model learns to give; the
messages before it are the prompt (a system message too). A fault names the file and the line.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openscout import datafile
from openscout.engines.base import Message
from openscout.errors import DataFileError

MAX_FILE_BYTES = 256 * 2**20
# characters in one example, all its texts together: far more than any context a tune
# trains on holds (an example longer than the context is refused once tokenized), but the
# tokenizer is never handed 120 MB, which reached 4 GB and aborted (eleventh probe)
MAX_EXAMPLE_CHARS = 2**20
ROLES = ("system", "user", "assistant")
FORMAT_HINT = (
    'one JSON object a line: {"messages": [{"role": "user", "content": ...}, '
    '{"role": "assistant", "content": ...}]} or {"prompt": ..., "completion": ...}'
)


@dataclass(frozen=True)
class Example:
    line: int  # where it is in the file (1-based), for messages that name it
    completion: str  # what the model learns to answer
    messages: tuple[Message, ...] | None = None  # chat form: the prompt as messages
    prompt: str | None = None  # prompt/completion form

    def as_messages(self) -> list[Message]:
        """The prompt as a conversation (a prompt/completion pair becomes one user turn)."""
        if self.messages is not None:
            return list(self.messages)
        return [{"role": "user", "content": self.prompt or ""}]


@dataclass(frozen=True)
class Dataset:
    path: str
    sha256: str
    examples: list[Example]


def _fault(path: Path, line: int, message: str) -> DataFileError:
    return DataFileError(message, path=str(path), line=line, hint=FORMAT_HINT)


def _text(value: Any, what: str, path: Path, line: int) -> str:
    if not isinstance(value, str):
        raise _fault(path, line, f"{what} must be a string, not {type(value).__name__}")
    return value


def parse_example(obj: Any, path: Path, line: int) -> Example:
    if not isinstance(obj, dict):
        raise _fault(path, line, f"expected a JSON object, got {type(obj).__name__}")
    if "messages" in obj:
        extra = set(obj) - {"messages"}
        msgs = obj["messages"]
        if not isinstance(msgs, list) or len(msgs) < 2:
            raise _fault(path, line, "`messages` must be a list of at least two messages")
        out: list[Message] = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ROLES or "content" not in m:
                raise _fault(
                    path, line, f"message {i + 1} needs a role ({', '.join(ROLES)}) and content"
                )
            out.append({"role": m["role"], "content": _text(m["content"], "content", path, line)})
        if out[-1]["role"] != "assistant" or not out[-1]["content"].strip():
            raise _fault(path, line, "the last message must be the assistant's, and not empty")
        if extra:
            raise _fault(path, line, f"unknown keys {sorted(extra)}")
        return Example(line, out[-1]["content"], messages=tuple(out[:-1]))
    if "prompt" in obj or "completion" in obj:
        extra = set(obj) - {"prompt", "completion"}
        if extra:
            raise _fault(path, line, f"unknown keys {sorted(extra)}")
        if "prompt" not in obj or "completion" not in obj:
            raise _fault(path, line, "a prompt/completion example needs both keys")
        prompt = _text(obj["prompt"], "prompt", path, line)
        completion = _text(obj["completion"], "completion", path, line)
        if not completion.strip():
            raise _fault(path, line, "the completion is empty")
        return Example(line, completion, prompt=prompt)
    raise _fault(path, line, f"neither `messages` nor `prompt`/`completion` (keys: {sorted(obj)})")


def _within_bound(example: Example, path: Path) -> Example:
    texts = [example.completion, example.prompt or ""]
    texts += [m["content"] for m in example.messages or ()]
    size = sum(len(t) for t in texts)
    if size > MAX_EXAMPLE_CHARS:
        raise _fault(
            path,
            example.line,
            f"the example holds {size:,} characters; openscout trains on examples of at most"
            f" {MAX_EXAMPLE_CHARS:,} (far beyond any model's context)",
        )
    return example


def read_jsonl(path: str | Path) -> Dataset:
    """Every example of the file, or a DataFileError naming the first bad line. The file is
    read by datafile.py: size, UTF-8, nesting depth and lone surrogates checked there."""
    p = Path(path).expanduser()
    raw = datafile.read_bytes(p, MAX_FILE_BYTES)
    # the bytes, decoded a line at a time: the file is never in memory twice (bytes and text)
    examples = [
        _within_bound(parse_example(obj, p, n), p)
        for n, obj in datafile.jsonl_values(raw, str(p), hint=FORMAT_HINT)
    ]
    if not examples:
        raise DataFileError("no examples in the file", path=str(p), hint=FORMAT_HINT)
    return Dataset(str(p.resolve()), hashlib.sha256(raw).hexdigest(), examples)


def split(
    examples: list[Example], holdout: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(train, held-out): a seeded shuffle, then `holdout` of it (at least one example when
    asked for any and there are at least two prompts) held out. Examples asking the same
    prompt fall on one side together: split by line, a repeated question sat in both, and
    the held-out loss measured answers the model had trained on (42nd probe, low). A group
    is held out only where it fits in what is still wanted: the first group drawn was taken
    whatever its size, 90 of 100 examples at --holdout 0.1 (44th probe). Where no group
    fits, nothing is held out (tune says so); some always train. Data without repeats splits
    as it always did."""
    if not 0.0 <= holdout < 1.0:
        raise ValueError("the held-out fraction must be in [0, 1)")
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(_prompt_key(ex), []).append(i)
    order = list(groups.values())  # first appearance: the file's order without repeats
    random.Random(f"openscout-tune-split:{seed}").shuffle(order)
    wanted = round(len(examples) * holdout)
    if holdout > 0 and wanted == 0 and len(order) >= 2:
        wanted = 1
    # and never all of them: three prompts at 0.9 held out all three (47th probe)
    wanted = min(wanted, len(examples) - 1)
    held: list[int] = []
    for group in order:  # what fits in `wanted` (under all of it) leaves some to train
        if len(held) >= wanted:
            break
        if len(held) + len(group) <= wanted:
            held += group
    out = set(held)
    train = [i for i in range(len(examples)) if i not in out]
    return [examples[i] for i in train], [examples[i] for i in sorted(held)]


def split_note(holdout: float, held: list[Example]) -> list[str]:
    """What tune says of a split that held nothing out though asked to."""
    if holdout <= 0 or held:
        return []
    return [
        f"nothing held out: no prompt's examples fit in the {holdout:.0%} asked, and examples"
        " asking the same prompt are never split (the held-out loss would measure answers"
        " the model trained on)"
    ]


def _prompt_key(example: Example) -> str:
    """What the model is asked, as one string: the same question asked twice is one key,
    as a prompt or as the one user turn it trains as, whatever its blanks (both sat on
    both sides: 44th probe, low)."""
    # the system turn aside: the same question and answer under two system prompts sat on
    # both sides (46th probe, low)
    turns = [m for m in example.as_messages() if m["role"] != "system"]
    return json.dumps([[m["role"], " ".join(m["content"].split())] for m in turns])
