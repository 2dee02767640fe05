"""Render chat templates taken from GGUF files, in a sandbox.

A chat template is code written by whoever made the model file. It runs only in Jinja's
ImmutableSandboxedEnvironment: attribute access to Python internals (`__class__`,
`__globals__`, ...) raises SecurityError, which we turn into a clear TemplateError. Models
without a template get a plain ChatML prompt.

The sandbox stops a template from reaching Python, not from looping for ever or asking for
gigabytes (`"x"|center(2*10**9)`, nested `range(100000)` loops). So templates are compiled
and rendered only in a worker process (openscout.worker) with an address-space limit, a CPU
limit and a wall-clock timeout; one worker per template, so a hostile model file cannot
stall the others. llama-cpp-python never sees a template (see `template_free`).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from openscout.engines.base import Message
from openscout.errors import ChatTemplateError, ModelFileError, WorkerError, WorkerLimitError
from openscout.worker import Limits, Worker

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


TEMPLATE_LIMITS = Limits(memory_bytes=768 * 2**20, cpu_seconds=2, timeout=5.0)
_WORKERS: dict[str, Worker] = {}  # template digest -> its worker (a few models per process)
_WORKERS_LOCK = threading.Lock()
MAX_WORKERS = 4


def _worker(template: str) -> Worker:
    key = hashlib.sha256(template.encode("utf-8", "surrogatepass")).hexdigest()
    with _WORKERS_LOCK:
        w = _WORKERS.pop(key, None)
        if w is None:
            w = Worker(f"{__name__}:render_here", TEMPLATE_LIMITS)
            while len(_WORKERS) >= MAX_WORKERS:  # the least recently used goes
                _WORKERS.pop(next(iter(_WORKERS))).close()
        _WORKERS[key] = w  # most recently used last
        return w


def render_chat(
    template: str | None, messages: Sequence[Message], bos_token: str = "", eos_token: str = ""
) -> str:
    """The prompt for `messages`, rendered by the model's template in a limited worker."""
    if not template:
        return chatml(messages)
    try:
        return str(
            _worker(template).call(
                template=template,
                messages=[dict(m) for m in messages],
                bos_token=bos_token,
                eos_token=eos_token,
            )
        )
    except WorkerError as e:
        raise ChatTemplateError(e.message, hint=e.hint) from e
    except WorkerLimitError as e:
        raise ChatTemplateError(
            f"the model's chat template was stopped: {e}",
            hint="use the model as a completion model (prompt_format: completion)",
        ) from e


def render_here(
    template: str, messages: Sequence[Message], bos_token: str = "", eos_token: str = ""
) -> str:
    """In the worker: compile (cached) and render."""
    try:
        rendered = _compiled(template).render(
            messages=list(messages),
            add_generation_prompt=True,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    except _TooLarge as e:
        raise ModelFileError(f"the model's chat template asked for a value too large: {e}") from e
    except _TemplateRaised as e:  # its words come from the model file: a few hundred at most
        raise ModelFileError(
            f"the model's chat template refused these messages: {_cut(str(e))}"
        ) from e
    except MemoryError as e:  # the worker's address-space limit: an output too big to hold
        raise ModelFileError(
            "the model's chat template was stopped: it ran past its memory limit",
            hint="use the model as a completion model (prompt_format: completion)",
        ) from e
    except (
        JinjaTemplateError,
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
        IndexError,
        ArithmeticError,  # the sandbox's "range too big" is an OverflowError
        RecursionError,
    ) as e:
        # SecurityError is a jinja2 TemplateError subclass: a hostile template ends here
        raise ModelFileError(  # an error's words may quote the template or a message at length
            f"the model's chat template failed: {e.__class__.__name__}: {_cut(str(e))}",
            hint="use the model as a completion model (prompt_format: completion)",
        ) from e
    if len(rendered) > MAX_RENDERED:
        raise ModelFileError("the model's chat template produced an oversized prompt")
    if not rendered.strip():  # an empty prompt would reach the engine as no input at all
        raise ModelFileError(
            "the model's chat template rendered no text for these messages",
            hint="use the model as a completion model (prompt_format: completion)",
        )
    return rendered


def _cut(text: str, most: int = 300) -> str:
    return text if len(text) <= most else text[:most] + "..."


def template_free(llama_class: Any) -> Any:
    """A subclass of llama_cpp.Llama that never sees the file's chat templates: Llama's
    constructor compiles every template in the metadata with Jinja (which folds constant
    expressions at compile time: `{{ "x" * 10**10 }}` allocated 14 GB while a model loaded).
    openscout renders templates itself, in the worker, so the library does not need them."""

    class TemplateFreeLlama(llama_class):  # type: ignore[misc, valid-type]
        @property
        def metadata(self) -> dict[str, Any]:
            return self._openscout_metadata

        @metadata.setter
        def metadata(self, value: dict[str, Any]) -> None:
            self._openscout_metadata = {
                k: v for k, v in value.items() if not k.startswith("tokenizer.chat_template")
            }

    return TemplateFreeLlama


def chatml(messages: Sequence[Message]) -> str:
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"
