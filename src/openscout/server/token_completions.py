"""Completions computed from token ids (the engine's TokenIdEngine path): token-id prompts,
`echo` + `logprobs` on /v1/completions and `logprobs` on /v1/chat/completions.

Every echoed token, log-prob and offset comes from the ids the model evaluated and generated,
never from re-tokenized text (a prompt " hi" followed by a generated "king" must not come back
as one token " hiking": lm-evaluation-harness cuts the answer by position). Engines without the
path get a clear 400; a remote engine that can forward the request does (openai_http.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from openscout.engines.base import (
    Engine,
    SamplingParams,
    TokenCompletion,
    TokenIdEngine,
    TokenLogprobs,
)
from openscout.server.errors import APIError
from openscout.server.limits import Limits
from openscout.server.schemas import Prompt


def token_engine(engine: Engine, what: str, param: str | None = None) -> TokenIdEngine:
    if not isinstance(engine, TokenIdEngine):
        raise APIError(
            400,
            f"{engine.model_id} cannot {what} (a local GGUF model can)",
            code="unsupported",
            param=param,
        )
    return engine


def check_top(n: int | None, limits: Limits, param: str) -> None:
    if n is not None and n > limits.max_logprobs:
        raise APIError(
            400, f"{param} is at most {limits.max_logprobs}", code="invalid_value", param=param
        )


def check_ids(engine: TokenIdEngine, ids: list[int], param: str = "prompt") -> None:
    """param: the request field that holds the ids (prompt, or tokens for /detokenize)."""
    vocab = engine.tokenizer_info().get("vocab_size")
    if isinstance(vocab, int) and any(t >= vocab for t in ids):
        raise APIError(
            400,
            f"a token id is outside the model's vocabulary (0 to {vocab - 1})",
            code="invalid_value",
            param=param,
        )


def complete_one(
    engine: Engine, prompt: Prompt, params: SamplingParams, top_n: int | None, echo: bool
) -> tuple[str, TokenCompletion]:
    """One choice (runs in a worker thread): the prompt as text to echo, and the completion."""
    if top_n is not None:
        tok = token_engine(engine, "return per-token logprobs", "logprobs")
    else:
        tok = token_engine(engine, "take token-id prompts; send the prompt as text", "prompt")
    if isinstance(prompt, str):
        ids = tok.encode(prompt)
        shown = prompt
    else:
        check_ids(tok, prompt)
        ids, shown = prompt, tok.decode(prompt)
    if not ids:
        raise APIError(400, "the prompt is empty", code="invalid_value", param="prompt")
    return shown, tok.complete_tokens(ids, params, top_n, echo)


def completion_choice(index: int, shown: str, c: TokenCompletion, echo: bool) -> dict[str, Any]:
    return {
        "index": index,
        "text": (shown if echo else "") + c.text,
        "logprobs": c.logprobs.as_dict() if c.logprobs is not None else None,
        "finish_reason": c.finish_reason,
    }


def chat_one(
    engine: Engine, ask: dict[str, Any], params: SamplingParams, top_n: int
) -> TokenCompletion:
    """A chat answer with the log-probs of its generated tokens (worker thread). `ask` is
    chat_request's: the messages, or a base model's Q/A prompt (its stops already in params)."""
    tok = token_engine(engine, "return logprobs", "logprobs")
    if "prompt" in ask:
        return tok.complete_tokens(tok.encode(ask["prompt"]), params, top_n, False)
    ids, stop = tok.chat_tokens(ask["messages"], params)
    return tok.complete_tokens(ids, replace(params, stop=stop), top_n, False)


def chat_logprobs(lp: TokenLogprobs | None) -> dict[str, Any] | None:
    """OpenAI's chat shape: one entry per generated token, its bytes and its alternatives."""
    if lp is None:
        return None

    def entry(token: str, logprob: float | None) -> dict[str, Any]:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    content = []
    for token, logprob, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs, strict=True):
        item = entry(token, logprob)
        item["top_logprobs"] = [entry(t, x) for t, x in (top or {}).items()]
        content.append(item)
    return {"content": content, "refusal": None}
