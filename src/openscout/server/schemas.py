"""Request bodies of the OpenAI-compatible routes: tolerant of unknown fields, strict on bounds.

Structural checks live in the pydantic models; the configurable bounds (Limits) are checked in
`check_*`, each raising a 400 in OpenAI's shape that names the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from openscout.engines.base import Message, SamplingParams
from openscout.server.errors import APIError
from openscout.server.limits import Limits

# JSON numbers are doubles: above 2**53 an integer is no longer exact, and a bound there would
# hold for some spellings of a number and not others (schemathesis found this at 2**63).
MAX_INT = 2**53 - 1


NonEmpty = Annotated[str, Field(min_length=1)]
TokenId = Annotated[int, Field(ge=0, le=MAX_INT)]
TokenIds = Annotated[list[TokenId], Field(min_length=1)]
# sampling settings, shared by the /v1 requests and the settings a saved chat keeps; the
# bounds also refuse NaN and the infinities, which compare false against any bound
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(ge=0.0, le=1.0)]
MaxTokens = Annotated[int, Field(ge=0, le=MAX_INT)]
Seed = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]


def _whole_numbers(value: Any) -> Any:
    """1.0 is the integer 1 in JSON Schema, also inside (nested) token-id lists."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _bare(annotation: Any) -> Any:
    """int for Annotated[int, Field(...)]: the type under its constraints."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _holds_int(annotation: Any) -> bool:
    kinds = {_bare(a) for a in get_args(annotation) or (annotation,)}
    return int in kinds and float not in kinds


def _list_of_ints(annotation: Any) -> bool:
    bare = _bare(annotation)
    return get_origin(bare) is list and _holds_int(get_args(bare)[0])


class _Wire(BaseModel):
    # extra fields: clients send ones we do not use, fine. strict: "10" and true are not
    # integers, "yes" is not a boolean (a client that sends them has a bug worth seeing)
    model_config = ConfigDict(extra="ignore", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON (and JSON Schema, which our OpenAPI document speaks) reads 10.0 as the
        integer 10: accept it as such; 10.5 stays an error."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        if isinstance(value, float) and value.is_integer() and _holds_int(field.annotation):
            return int(value)
        if isinstance(value, list) and _list_of_ints(field.annotation):
            # token ids too: `/detokenize` refused [1.0, 2], `/v1/completions` took it (59th)
            return [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _unicode(cls, value: Any) -> Any:
        """A lone surrogate ("\\ud800") is valid JSON but not text: refuse it here, before
        it reaches a tokenizer, the database or the log."""
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as e:
                    raise ValueError("the text holds a lone surrogate, which is not Unicode") from e
        return value


class ContentPart(_Wire):
    type: str
    text: str | None = None


class ChatMessageIn(_Wire):
    role: str = Field(max_length=32)
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=256)


class StreamOptions(_Wire):
    include_usage: bool = False


class _Sampling(_Wire):
    model: str = Field(min_length=1, max_length=256)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    stop: str | list[str] | None = None
    seed: Seed | None = None
    n: int | None = Field(default=None, ge=1, le=MAX_INT)
    user: str | None = Field(default=None, max_length=256)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def token_budget(self) -> tuple[str, int | None]:
        """The field that asks how many tokens to generate, and its value."""
        return "max_tokens", self.max_tokens


class ChatSettings(_Wire):
    """The sampling settings a saved chat keeps (web chat): the /v1 fields and bounds, and
    nothing else, so what is stored is what a later request would accept."""

    model_config = ConfigDict(extra="forbid", strict=True)
    temperature: Temperature | None = None
    top_p: TopP | None = None
    # at least 1, as /v1/chat/completions takes it; its upper bound is the server's (ui_api)
    max_tokens: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None
    seed: Seed | None = None


class ChatRequest(_Sampling):
    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: MaxTokens | None = None
    logprobs: bool | None = None  # log-probs of the generated tokens
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_INT)

    @property
    def token_budget(self) -> tuple[str, int | None]:
        """OpenAI's newer name wins; an error names the field the client sent."""
        if self.max_completion_tokens is not None:
            return "max_completion_tokens", self.max_completion_tokens
        return super().token_budget


class CompletionRequest(_Sampling):
    # OpenAI's four forms: text, texts, token ids, lists of token ids; required and never
    # empty (llama.cpp cannot start from no tokens at all)
    prompt: (
        NonEmpty
        | Annotated[list[NonEmpty], Field(min_length=1)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1)]
    )
    echo: bool = False
    logprobs: int | None = Field(default=None, ge=0, le=MAX_INT)

    @field_validator("prompt", mode="before")
    @classmethod
    def _id_numbers(cls, value: Any) -> Any:
        return _whole_numbers(value) if isinstance(value, list) else value


def _stop(req: _Sampling, limits: Limits) -> tuple[str, ...]:
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > limits.max_stop:
        raise APIError(
            400, f"at most {limits.max_stop} stop sequences", code="invalid_value", param="stop"
        )
    if any(len(s) > limits.max_stop_chars for s in stop):
        raise APIError(
            400,
            f"a stop sequence is longer than {limits.max_stop_chars} characters",
            code="invalid_value",
            param="stop",
        )
    return tuple(s for s in stop if s)


def sampling(
    req: _Sampling,
    limits: Limits,
    n_ctx: int,
    default_max: int,
    allow_zero: bool = False,
) -> SamplingParams:
    """Turn a request into SamplingParams, refusing out-of-bounds values with a 400."""
    name, max_tokens = req.token_budget
    wanted = default_max if max_tokens is None else max_tokens
    cap = min(limits.max_tokens, n_ctx)
    if wanted > cap:
        raise APIError(
            400,
            f"{name} is {wanted} but this model allows at most {cap}",
            code="invalid_value",
            param=name,
        )
    if wanted < 1 and not allow_zero:
        raise APIError(400, f"{name} must be at least 1", code="invalid_value", param=name)
    n = req.n or 1
    if n > limits.max_n:
        raise APIError(
            400, f"n is {n} but at most {limits.max_n} is allowed", code="invalid_value", param="n"
        )
    return SamplingParams(
        temperature=1.0 if req.temperature is None else req.temperature,
        top_p=1.0 if req.top_p is None else req.top_p,
        max_tokens=max(wanted, 0),
        stop=_stop(req, limits),
        seed=None if req.seed is None else req.seed % 2**32,
    )


def chat_messages(req: ChatRequest, limits: Limits) -> list[Message]:
    if len(req.messages) > limits.max_messages:
        raise APIError(
            400,
            f"at most {limits.max_messages} messages per request",
            code="invalid_value",
            param="messages",
        )
    out: list[Message] = []
    total = 0
    for i, m in enumerate(req.messages):
        role = "system" if m.role == "developer" else m.role
        if role not in ("system", "user", "assistant"):
            raise APIError(
                400,
                f"messages[{i}].role {m.role!r} is not supported; use system, user or assistant",
                code="invalid_value",
                param=f"messages.{i}.role",
            )
        if isinstance(m.content, list):
            if any(p.type != "text" for p in m.content):
                raise APIError(
                    400,
                    "only text content parts are supported",
                    code="invalid_value",
                    param=f"messages.{i}.content",
                )
            text = "".join(p.text or "" for p in m.content)
        else:
            text = m.content or ""
        if len(text) > limits.max_message_chars:
            raise APIError(
                400,
                f"messages[{i}] is longer than {limits.max_message_chars} characters",
                code="context_length_exceeded",
                param=f"messages.{i}.content",
            )
        total += len(text)
        out.append({"role": role, "content": text})  # type: ignore[typeddict-item]
    if total > limits.max_total_chars:
        raise APIError(
            400,
            f"the messages hold more than {limits.max_total_chars} characters",
            code="context_length_exceeded",
            param="messages",
        )
    return out


Prompt = str | list[int]


def prompts(req: CompletionRequest, limits: Limits) -> list[Prompt]:
    """The request's prompts, each a text or a list of token ids (one choice each)."""
    p: Any = req.prompt
    if isinstance(p, str):
        items: list[Prompt] = [p]
    elif p and all(isinstance(x, int) for x in p):
        items = [list(p)]
    else:
        items = list(p)
    if not items or not all(items):  # llama.cpp cannot start from no tokens at all
        raise APIError(400, "the prompt is empty", code="invalid_value", param="prompt")
    if len(items) > limits.max_prompts:
        raise APIError(
            400,
            f"at most {limits.max_prompts} prompts per request",
            code="invalid_value",
            param="prompt",
        )
    if sum(len(x) for x in items) > limits.max_total_chars:
        raise APIError(
            400,
            f"the prompt holds more than {limits.max_total_chars} characters",
            code="context_length_exceeded",
            param="prompt",
        )
    return items


Endpoint = Literal["chat", "completion"]
