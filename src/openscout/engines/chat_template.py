"""Render chat templates taken from GGUF files, in a sandbox.

A chat template is code written by whoever made the model file. It runs only in Jinja's
ImmutableSandboxedEnvironment: attribute access to Python internals (`__class__`,
`__globals__`, ...) raises SecurityError, which we turn into a clear TemplateError. Models
without a template get a plain ChatML prompt.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from openscout.engines.base import Message
from openscout.errors import ModelFileError

MAX_RENDERED = 4 * 2**20  # a template that balloons the prompt is refused


class _TemplateRaised(Exception):
    pass


def _raise(message: str) -> None:
    raise _TemplateRaised(message)


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Also refuses arithmetic that would build a huge value (`'x' * 10**10`, `9 ** 10**9`)
    before it is computed: the sandbox alone bounds ranges, not memory."""

    intercepted_binops = frozenset(["*", "**", "+"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if (
            operator == "**"
            and _is_num(left)
            and _is_num(right)
            and abs(right) > 64
            and abs(left) > 1
        ):
            raise _TooLarge(f"{left!r} ** {right!r}")
        if operator == "*":
            seq, n = (left, right) if _is_seq(left) else (right, left)
            if _is_seq(seq) and _is_num(n) and len(seq) * max(int(n), 0) > MAX_RENDERED:
                raise _TooLarge(f"a sequence of {len(seq)} repeated {n} times")
        if (
            operator == "+"
            and _is_seq(left)
            and _is_seq(right)
            and len(left) + len(right) > MAX_RENDERED
        ):
            raise _TooLarge("a concatenation")
        return super().call_binop(context, operator, left, right)


class _TooLarge(Exception):
    pass


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_seq(x: Any) -> bool:
    return isinstance(x, str | list | tuple)


def _env() -> ImmutableSandboxedEnvironment:
    env = _BoundedSandbox(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(str(fmt))
    return env


@functools.lru_cache(maxsize=16)
def _compiled(template: str) -> Any:
    """Compiling a template costs about 6 ms; a suite renders the same one for every item."""
    return _env().from_string(template)


def render_chat(
    template: str | None, messages: Sequence[Message], bos_token: str = "", eos_token: str = ""
) -> str:
    if not template:
        return chatml(messages)
    try:
        rendered = _compiled(template).render(
            messages=list(messages),
            add_generation_prompt=True,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    except _TooLarge as e:
        raise ModelFileError(f"the model's chat template asked for a value too large: {e}") from e
    except _TemplateRaised as e:
        raise ModelFileError(f"the model's chat template refused these messages: {e}") from e
    except (
        JinjaTemplateError,
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
        IndexError,
        ArithmeticError,  # the sandbox's "range too big" is an OverflowError
        RecursionError,
        MemoryError,
    ) as e:
        # SecurityError is a jinja2 TemplateError subclass: a hostile template ends here
        raise ModelFileError(
            f"the model's chat template failed: {e.__class__.__name__}: {e}",
            hint="use the model as a completion model (prompt_format: completion)",
        ) from e
    if len(rendered) > MAX_RENDERED:
        raise ModelFileError("the model's chat template produced an oversized prompt")
    return rendered


def chatml(messages: Sequence[Message]) -> str:
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"
