"""The tokenizer routes in the shape vLLM serves: GET /tokenizer_info, POST /tokenize and
POST /detokenize.

lm-evaluation-harness (`local-completions`, `tokenizer_backend` auto or remote) finds them
next to `/v1/completions` and then needs no Hugging Face tokenizer on disk. The harness names
no model here: without `model` the routes use the server's first preloaded model (what
`openscout serve` loads), or its only model. They run through the model's queue like every
other request, behind the same key and bounds; a remote model's requests go on to its server
(vLLM serves these routes); engines that cannot tokenize answer 400.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field

from openscout.chat_prompt import is_base, qa_prompt
from openscout.engines.base import Engine, RequestForwarding, SamplingParams
from openscout.server.api import client_id, forward_request
from openscout.server.errors import APIError
from openscout.server.pool import ModelPool
from openscout.server.schemas import (
    ChatMessageIn,
    ChatRequest,
    TokenId,
    _Wire,
    chat_messages,
)
from openscout.server.token_completions import check_ids, token_engine

ModelName = Field(default=None, min_length=1, max_length=256)


class TokenizeRequest(_Wire):
    model: str | None = ModelName
    prompt: str | None = None  # a text, or
    messages: list[ChatMessageIn] | None = Field(default=None, min_length=1)  # a chat
    add_special_tokens: bool = True  # a BOS, where the model uses one
    add_generation_prompt: bool = True
    return_token_strs: bool = False


class DetokenizeRequest(_Wire):
    model: str | None = ModelName
    tokens: list[TokenId]


def default_model(pool: ModelPool, preload: list[str], given: str | None) -> str:
    """The model a request means: the one it names, else the first preloaded, else the only."""
    if given:
        return given
    if preload:
        return preload[0]
    specs = pool.specs()
    if len(specs) == 1:
        return specs[0].id
    raise APIError(
        400,
        "this server holds several models: name one with `model`",
        code="invalid_value",
        param="model",
    )


def _tokenize(engine: Engine, body: TokenizeRequest, msgs: Any) -> dict[str, Any] | Response:
    if isinstance(engine, RequestForwarding):  # a remote model: its server's tokenizer
        return forward_request(engine, "/tokenize", body.model_dump(exclude_unset=True))[1]
    tok = token_engine(engine, "tokenize")
    if msgs is not None:
        ids, _ = tok.chat_tokens(msgs, SamplingParams())  # what the model will evaluate
    else:
        # special-token text stays text, as in every text prompt openscout reads, so that the
        # harness's tokenized and text requests evaluate the same ids (vLLM reads it as tokens)
        ids = tok.encode(body.prompt or "", body.add_special_tokens, parse_special=False)
    info = tok.tokenizer_info()
    return {
        "count": len(ids),
        "max_model_len": info.get("model_max_length"),
        "tokens": ids,
        "token_strs": [tok.decode([t]) for t in ids] if body.return_token_strs else None,
    }


def _detokenize(engine: Engine, ids: list[int]) -> dict[str, Any] | Response:
    if isinstance(engine, RequestForwarding):
        return forward_request(engine, "/detokenize", {"tokens": ids})[1]
    tok = token_engine(engine, "detokenize")
    check_ids(tok, ids, param="tokens")
    return {"prompt": tok.decode(ids)}


def _info(engine: Engine) -> dict[str, Any] | Response:
    if isinstance(engine, RequestForwarding):
        return forward_request(engine, "/tokenizer_info", None)[1]
    return dict(token_engine(engine, "tell its tokenizer").tokenizer_info())


def make_router(pool: ModelPool) -> APIRouter:
    router = APIRouter()

    def model_of(request: Request, given: str | None) -> str:
        model_id = default_model(pool, list(request.app.state.preload), given)
        pool.spec(model_id)  # an unknown model is a 404 before anything is loaded
        return model_id

    @router.get("/tokenizer_info")
    async def tokenizer_info(request: Request, model: str | None = None) -> dict[str, Any]:
        if model is not None and not 1 <= len(model) <= 256:
            raise APIError(400, "model names are 1 to 256 characters", param="model")
        model_id = model_of(request, model)
        return await pool.run_exclusive(  # type: ignore[no-any-return]
            model_id, client_id(request), _info, gone=request.is_disconnected
        )

    @router.post("/tokenize")
    async def tokenize(body: TokenizeRequest, request: Request) -> dict[str, Any]:
        if (body.prompt is None) == (body.messages is None):
            raise APIError(400, "send either `prompt` or `messages`", param="prompt")
        if body.prompt is not None and len(body.prompt) > pool.limits.max_total_chars:
            raise APIError(
                400,
                f"the prompt holds more than {pool.limits.max_total_chars} characters",
                code="context_length_exceeded",
                param="prompt",
            )
        if body.messages is not None and not body.add_generation_prompt:
            raise APIError(
                400,
                "chats are tokenized with the generation prompt only",
                code="unsupported",
                param="add_generation_prompt",
            )
        model_id = model_of(request, body.model)
        msgs = None
        if body.messages is not None:
            msgs = chat_messages(
                ChatRequest.model_construct(model=model_id, messages=body.messages), pool.limits
            )
        if msgs is not None and is_base(pool.spec(model_id).prompt_format):
            # a base model is sent a chat as a Q/A prompt (chat_prompt.chat_request): counted
            # through a template it never uses, 7 tokens read 25 (47th probe)
            kept = body.model_dump(exclude_unset=True, exclude={"messages"})
            body, msgs = TokenizeRequest(**kept, prompt=qa_prompt(msgs)), None
        return await pool.run_exclusive(  # type: ignore[no-any-return]
            model_id, client_id(request), _tokenize, body, msgs, gone=request.is_disconnected
        )

    @router.post("/detokenize")
    async def detokenize(body: DetokenizeRequest, request: Request) -> dict[str, Any]:
        if len(body.tokens) > pool.limits.max_total_chars:
            raise APIError(
                400,
                f"at most {pool.limits.max_total_chars} tokens",
                code="invalid_value",
                param="tokens",
            )
        model_id = model_of(request, body.model)
        return await pool.run_exclusive(  # type: ignore[no-any-return]
            model_id, client_id(request), _detokenize, body.tokens, gone=request.is_disconnected
        )

    return router
