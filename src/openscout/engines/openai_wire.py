"""What an OpenAI-compatible server's answer holds, read without trusting it: its error
shapes, Retry-After, choices, text, usage and finish. Every value of the wrong kind is a
transient EngineResponseError or counts as absent, never a crash (openai_http.py sends the
requests; this module only reads what came back)."""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass
from typing import Any

from openscout.engines.base import Final, FinishReason, LoglikelihoodResult
from openscout.engines.http_bounds import EVENT_MAX_VALUES, load_json
from openscout.errors import EngineResponseError

CHARS_PER_TOKEN_CAP = 64  # no real token is longer; more text per token asked is runaway


def error_message(body: bytes | str, status: int) -> str:
    """Pull the human message out of any of the error shapes servers use, whole: the caller
    cuts it after taking secrets out (a cut first could leave part of a key)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = load_json(text, EVENT_MAX_VALUES)
    except (ValueError, RecursionError):
        return text.strip() or f"HTTP {status}"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if data.get("object") == "error" and data.get("message"):
            return str(data["message"])
        if data.get("detail"):
            return str(data["detail"])
        if data.get("message"):
            return str(data["message"])
    return text.strip()


def embedded_status(data: dict[str, Any]) -> int | None:
    """The HTTP status an error inside a 200 answer names (`{"error": {"code": 403}}`, or its
    `status`), as providers that began answering before they refused write it; None if none."""
    err = data.get("error")
    if not isinstance(err, dict):
        return None
    for key in ("code", "status"):
        value = err.get(key)
        if isinstance(value, str) and value.isdigit() and len(value) == 3:
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value < 600:
            return value
    return None


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError, OverflowError):  # year 99999999999: OverflowError (probe 12)
        return None


def choices_of(event: dict[str, Any], url: str, path: str) -> list[dict[str, Any]]:
    """The choices of an answer or a stream event; anything but a list of objects is a
    malformed answer, never a crash."""
    choices = event.get("choices")
    if choices is None:
        return []
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise EngineResponseError(
            f"{url}{path}: malformed response (choices is not a list of objects)",
            transient=True,
            cause="malformed body",
        )
    return choices


def text_of(holder: object, key: str) -> str:
    """The text a choice (or its delta / message) carries; non-text is a malformed answer."""
    value = holder.get(key) if isinstance(holder, dict) else None
    if value is None or isinstance(value, str):
        return value or ""
    raise EngineResponseError(
        f"malformed response ({key} is {type(value).__name__}, not text)",
        transient=True,
        cause="malformed body",
    )


def answer_of(holder: object, key: str, chat: bool) -> str:
    """A choice's answer: its text, or in a chat its `refusal` (OpenAI's own field for a
    model declining), which is the model's answer too: dropped, a refusal scored as the empty
    answer (45th probe, low)."""
    return text_of(holder, key) or (text_of(holder, "refusal") if chat else "")


def usage_of(event: dict[str, Any]) -> dict[str, int] | None:
    """Token counts where the server gave whole numbers; anything else counts as none."""
    usage = event.get("usage")
    if not isinstance(usage, dict):
        return None
    counts = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens")}
    if not all(is_token_count(v) for v in counts.values()):
        return None
    return counts  # type: ignore[return-value]


def is_number(value: object) -> bool:
    """A finite int or float (not a bool): what a log-prob or an offset must be. Python's
    JSON reader takes `-Infinity` too, which would then print as non-JSON in `--json`."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_token_count(value: object) -> bool:
    """A token count we can store and divide by: a whole number below 2**31 (no context comes
    near; 2**63 overflowed SQLite and 10**30 gave 3.2e21 tokens/s)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


# tokens a chat template and a provider's own instructions may add to the prompt's text
PROMPT_TOKENS_SLACK = 512


# the finish reasons servers give a whole answer: OpenAI, vLLM, Ollama and llama.cpp "stop";
# TGI's Messages API "eos_token" and "stop_sequence"; a call of a tool or function
WHOLE_ANSWER = frozenset({"stop", "eos_token", "stop_sequence", "tool_calls", "function_call"})
# an answer cut by room: max_tokens ("length"), or the context (Mistral's "model_length")
CUT_ANSWER = frozenset({"length", "model_length"})


def finish_of(reason: object, where: str) -> FinishReason:
    """The end of an answer as a reason we know. Any other ("error", vLLM's "abort", a word
    of a server's own) is not an answer's end: read as "stop", a blank answer cut by the
    context scored 1.0 on negative checks and a part answer ended by "error" was scored and
    cached as whole, and so was a whole body without one, which a stream cannot be (47th
    probe). Asked again, as a failed request is."""
    if isinstance(reason, str):
        if reason in WHOLE_ANSWER:
            return "stop"
        if reason in CUT_ANSWER:
            return "length"
        if reason == "content_filter":  # read as "stop", a withheld answer was scored (45th)
            return "content_filter"
    said = "no finish_reason" if reason is None else f"finish_reason {repr(reason)[:40]}"
    raise EngineResponseError(
        f"{where}: the answer ended with {said}, not the end of a whole answer",
        transient=True,
        cause="unknown finish_reason",
    )


def final_of(
    usage: dict[str, Any] | None,
    n_chunks: int,
    finish: FinishReason,
    asked: int,
    prompt_bytes: int,
    answer_bytes: int,
) -> Final:
    """The answer's end, with the server's token counts where they can be true: no more
    answer tokens than `max_tokens` asked, nor than one a byte of the text that arrived
    (answer and thinking) and the end token: thinking a server says it kept back is its word
    alone, and claiming it let "a b" pass as 64 tokens (39th probe); no more prompt tokens than
    one a byte of the prompt and a template's slack. A server reporting 10^9 answer tokens
    for 20 deltas (37th probe), or 64 for the 3 bytes "a b" (38th), had thousands of times
    the speed and the recommendation; past those bounds its counts are not believed and the
    deltas are counted instead, as for a server that gives none."""
    if usage and (
        usage["completion_tokens"] > asked
        or usage["completion_tokens"] > answer_bytes + 1
        or usage["prompt_tokens"] > prompt_bytes + PROMPT_TOKENS_SLACK
    ):
        usage = None
    if usage:
        return Final(
            int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), finish
        )
    # No usage from the server: one SSE delta is one token on every server we know, and no
    # more than were asked (deltas past max_tokens were counted: 38th probe)
    estimated = min(n_chunks, asked)
    return Final(0, estimated, finish, extra={"usage_estimated": True})


@dataclass(frozen=True)
class Asked:
    """What a generation request asked: the answer tokens (max_tokens) and the prompt's
    bytes, the bounds of what the server may say it produced and read."""

    tokens: int
    prompt_bytes: int

    @property
    def max_chars(self) -> int:
        return CHARS_PER_TOKEN_CAP * self.tokens


def bytes_of(payload: dict[str, Any]) -> int:
    """UTF-8 bytes of a request's prompt or messages (text parts of multi-part content too)."""
    if isinstance(payload.get("prompt"), str):
        return utf8_bytes(payload["prompt"])
    total = 0
    for message in payload.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            text = part.get("text") if isinstance(part, dict) else part
            total += utf8_bytes(text) if isinstance(text, str) else 0
    return total


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# where servers stream a reasoning model's thinking (vLLM and DeepSeek, OpenRouter, others)
THINKING_FIELDS = ("reasoning_content", "reasoning", "thinking")


def thinking_text(holder: object) -> str:
    """The thinking a delta carries besides its answer. Only the fields servers use for it:
    any other string field counted as a token, and 144 deltas `{"x": "a"}` gave 4.9 million
    tokens/s (38th probe). The first of them that holds text, once: servers renaming the
    field (vLLM's `reasoning_content` to `reasoning`) send both with the same text, which
    joined counted it twice, twice the speed and half the cost (44th probe)."""
    if not isinstance(holder, dict):
        return ""
    return next((v for k in THINKING_FIELDS if isinstance(v := holder.get(k), str) and v), "")


# How servers say a prompt does not fit: OpenAI's code, vLLM's words, llama-server's error
# type, TGI's validation message (422) (36th probe: the last two read as outages)
_OVERFLOW_WORDS = (
    b"context_length_exceeded",
    b"maximum context length",
    b"exceed_context_size",
    b"exceeds the available context size",
    b"`max_new_tokens` must be <=",
    b"`inputs` must have less than",
    b"request too large",  # OpenAI's 429 for one request past the tokens-a-minute limit
)


def context_overflow(body: bytes) -> bool:
    """An error body saying the prompt does not fit the model's context."""
    head = body[:4096].lower()
    return any(words.lower() in head for words in _OVERFLOW_WORDS)


def echo_logprobs(data: dict[str, Any], shown_url: str) -> dict[str, Any]:
    """The echo log-probs of a /completions answer, each item of the kind it must be."""
    try:
        lp = data["choices"][0]["logprobs"]
        for key in ("tokens", "text_offset", "token_logprobs"):
            if not isinstance(lp[key], list):
                raise TypeError(key)
        # each item of the kind it must be (ninth probe: a string log-prob was a TypeError
        # mid-scoring, an "unexpected error" that left the run `running`)
        if not (
            all(is_number(x) for x in lp["text_offset"])
            and all(x is None or is_number(x) for x in lp["token_logprobs"])
            and all(isinstance(x, str) for x in lp["tokens"])
            and all(
                t is None or (isinstance(t, dict) and all(is_number(v) for v in t.values()))
                for t in lp.get("top_logprobs") or []
            )
        ):
            raise TypeError("log-probs of the wrong type")
    except (KeyError, IndexError, TypeError) as e:
        raise EngineResponseError(
            f"{shown_url}: no echo log-probs in the response ({e!r})",
            hint="this server cannot score text; register it with --no-logprobs",
        ) from e
    return lp  # type: ignore[no-any-return]


def continuation_logprob(
    lp: dict[str, Any], context: str, continuation: str, shown_url: str
) -> LoglikelihoodResult:
    """Log-prob of `continuation` after `context` from the echo log-probs of both, and whether
    it is the greedy one (the convention lm-evaluation-harness relies on)."""
    full = context + continuation
    total, greedy, n = 0.0, True, 0
    for off, tok, tlp, top in zip(
        lp["text_offset"],
        lp["tokens"],
        lp["token_logprobs"],
        lp.get("top_logprobs") or [None] * len(lp["tokens"]),
        strict=False,
    ):
        # The continuation's tokens only: not the context, not the generated token.
        if off < len(context) or off >= len(full) or tlp is None:
            continue
        total += tlp
        n += 1
        if top:
            best = max(top, key=lambda k: top[k])
            if best != tok and top[best] > tlp + 1e-6:
                greedy = False
    if n == 0:
        raise EngineResponseError(
            f"{shown_url}: no log-probs for the continuation {continuation!r}",
            cause="no continuation tokens",
        )
    return LoglikelihoodResult(total, greedy, n)
