"""Render chat templates taken from GGUF files, in a sandbox.

A chat template is code written by whoever made the model file. It runs only in Jinja's
ImmutableSandboxedEnvironment: attribute access to Python internals (`__class__`,
`__globals__`, ...) raises SecurityError, which we turn into a clear TemplateError. Models
without a template get a plain ChatML prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from openscout.engines.base import Message
from openscout.errors import ModelFileError

MAX_RENDERED = 4 * 2**20  # a template that balloons the prompt is refused


class _TemplateRaised(Exception):
    pass


def _raise(message: str) -> None:
    raise _TemplateRaised(message)


def _env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(str(fmt))
    return env


def render_chat(
    template: str | None, messages: Sequence[Message], bos_token: str = "", eos_token: str = ""
) -> str:
    if not template:
        return chatml(messages)
    try:
        rendered = (
            _env()
            .from_string(template)
            .render(
                messages=list(messages),
                add_generation_prompt=True,
                bos_token=bos_token,
                eos_token=eos_token,
            )
        )
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
