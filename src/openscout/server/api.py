"""The OpenAI-compatible routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions.

Shapes follow OpenAI's API (see DESIGN.md, "OpenAI-compatible API"): SSE chunks share one id
and `created`, the stream ends with `data: [DONE]`, `stream_options.include_usage` adds one
chunk with `choices: []` and the usage, and speed figures travel in an extra `timings` field
shaped like llama.cpp's server. Errors before the first byte get a real status; an error in
the middle of a stream is sent as one `data: {"error": ...}` event before `[DONE]`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from openscout.chat_prompt import chat_request
from openscout.engines.base import (
    Chunk,
    Engine,
    Message,
    RequestForwarding,
    SamplingParams,
    Tokenizer,
)
from openscout.errors import (
    CapabilityError,
    EngineResponseError,
    OpenscoutError,
    QueueFullError,
)
from openscout.generation import GenerationResult
from openscout.server.errors import APIError, from_openscout
from openscout.server.pool import ModelPool, unless_gone
from openscout.server.schemas import (
    ChatRequest,
    CompletionRequest,
    Prompt,
    chat_messages,
    prompts,
    sampling,
)
from openscout.server.token_completions import (
    chat_logprobs,
    chat_one,
    check_top,
    complete_one,
    completion_choice,
)
from openscout.server.usage import Usage

Event = Chunk | GenerationResult
log = logging.getLogger("openscout.server")


def client_id(request: Request) -> str:
    """Who is asking, for fair queueing: the key digest when there is one, else the address."""
    auth = request.headers.get("authorization", "")
    if auth:
        return "k:" + hashlib.sha256(auth.encode()).hexdigest()[:16]
    return "a:" + (request.client.host if request.client else "?")


def sse(data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def timings(r: GenerationResult) -> dict[str, float | int | None]:
    """llama.cpp server's `timings` shape, plus TTFT and our total."""
    ttft = r.ttft_s or 0.0
    return {
        "prompt_n": r.prompt_tokens,
        "prompt_ms": ttft * 1000,
        "prompt_per_second": r.prefill_tps,
        "predicted_n": r.completion_tokens,
        "predicted_ms": max(r.total_s - ttft, 0.0) * 1000,
        "predicted_per_second": r.output_tps,
        "ttft_ms": ttft * 1000 if r.ttft_s is not None else None,
        "total_ms": r.total_s * 1000,
    }


def finish(r: GenerationResult) -> str:
    return r.finish_reason if r.finish_reason in ("length", "content_filter") else "stop"


async def start_stream(
    pool: ModelPool,
    model_id: str,
    client: str,
    *,
    params: SamplingParams,
    messages: list[Message] | None = None,
    prompt: str | None = None,
    source: str = "api",
    request: Request | None = None,
) -> tuple[Event, AsyncIterator[Event]]:
    """Begin a generation and wait for its first event, so errors still get a real status.
    With `request`, a client that goes away while it waits (in the queue, or for its first
    token) gives up its place at once instead of holding it until it is served."""
    agen = pool.stream(
        model_id, client, params=params, messages=messages, prompt=prompt, source=source
    )
    try:
        first = await unless_gone(
            agen.__anext__(), request.is_disconnected if request else None, None
        )
    except QueueFullError as e:
        raise APIError(
            e.status,
            e.message,
            code="queue_full",
            headers={"Retry-After": str(pool.limits.retry_after_s)},
        ) from e
    return first, agen


async def chain(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for ev in rest:
        yield ev


async def collect(
    first: Event, rest: AsyncIterator[Event], request: Request | None = None
) -> tuple[str, GenerationResult]:
    """Drain a generation. With `request`, a client that has gone away stops it early."""
    parts: list[str] = []
    result: GenerationResult | None = None
    async for ev in chain(first, rest):
        if isinstance(ev, Chunk):
            parts.append(ev.text)
            if request is not None and len(parts) % 4 == 0 and await request.is_disconnected():
                await rest.aclose()  # type: ignore[attr-defined]
                raise APIError(499, "the client closed the request", code="client_closed")
        else:
            result = ev
    assert result is not None
    return "".join(parts), result


def stream_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _error_event(e: OpenscoutError | APIError) -> bytes:
    api = from_openscout(e) if isinstance(e, OpenscoutError) else e
    return sse(
        {"error": {"message": api.message, "type": "server_error", "param": None, "code": api.code}}
    )


class StreamShape:
    """How one endpoint words its SSE chunks (chat deltas or completion text)."""

    def __init__(self, cid: str, obj: str, model: str, include_usage: bool, chat: bool) -> None:
        self.cid, self.obj, self.model = cid, obj, model
        self.include_usage, self.chat = include_usage, chat
        self.created = int(time.time())

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": self.cid,
            "object": self.obj,
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }
        if self.include_usage and "usage" not in body:
            body["usage"] = None  # as OpenAI: null on every chunk but the usage one
        return sse(body)

    def choice(
        self, i: int, text: str | None, finish_reason: str | None = None, role: bool = False
    ) -> dict[str, Any]:
        if self.chat:
            delta: dict[str, Any] = {} if text is None else {"content": text}
            if role:
                delta["role"] = "assistant"
            return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {"index": i, "text": text or "", "logprobs": None, "finish_reason": finish_reason}


async def sse_choices(
    pool: ModelPool,
    shape: StreamShape,
    client: str,
    params: SamplingParams,
    jobs: list[dict[str, Any]],
    first: tuple[Event, AsyncIterator[Event]],
    echo: str | None = None,
    n: int = 1,
) -> AsyncIterator[bytes]:
    """Stream each job (one choice) in turn; usage chunk and [DONE] at the end. Jobs come n
    to a prompt: job i answers prompt i // n."""
    used = Usage()
    try:
        for i, job in enumerate(jobs):
            f, r = (
                first
                if i == 0
                else await start_stream(pool, shape.model, client, params=params, **job)
            )
            if shape.chat:
                yield shape.chunk([shape.choice(i, "", role=True)])
            elif echo is not None:
                yield shape.chunk([shape.choice(i, job["prompt"])])
            async for ev in chain(f, r):
                if isinstance(ev, Chunk):
                    if ev.text:
                        yield shape.chunk([shape.choice(i, ev.text)])
                else:
                    used.add(i // n, ev.prompt_tokens, ev.completion_tokens)
                    yield shape.chunk([shape.choice(i, None, finish(ev))], timings=timings(ev))
        if shape.include_usage:
            yield shape.chunk([], usage=used.as_dict())
    except (OpenscoutError, APIError) as e:
        yield _error_event(e)
    except Exception:  # never a traceback on the wire: log it, tell the client plainly
        log.exception("a stream failed")
        yield _error_event(APIError(500, "internal error", code="internal_error"))
    yield sse("[DONE]")


def make_router(pool: ModelPool) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/models")
    async def models() -> dict[str, Any]:
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {
                    "id": s.id,
                    "object": "model",
                    "created": created,
                    "owned_by": "openscout",
                    "engine": s.engine,
                    "prompt_format": s.prompt_format,
                    "context_length": s.n_ctx,
                }
                for s in pool.specs()
            ],
        }

    @router.post("/v1/chat/completions")
    async def chat_completions(req: ChatRequest, request: Request) -> Any:
        spec = pool.spec(req.model)
        msgs = chat_messages(req, pool.limits)
        params = sampling(req, pool.limits, spec.n_ctx, 512)
        client = client_id(request)
        shape = StreamShape(
            f"chatcmpl-{uuid.uuid4().hex}",
            "chat.completion.chunk",
            spec.id,
            req.include_usage,
            chat=True,
        )
        ask, params = chat_request(spec.prompt_format, msgs, params)  # base model: Q/A prompt
        if req.logprobs:
            if req.stream:
                raise APIError(
                    400,
                    "logprobs are not available when streaming",
                    code="unsupported",
                    param="logprobs",
                )
            check_top(req.top_logprobs, pool.limits, "top_logprobs")
            if isinstance(await pool.engine(spec.id), RequestForwarding):
                return await _forwarded(
                    pool, "/chat/completions", req, params, shape, client, request.is_disconnected
                )
            return await _chat_by_token_ids(
                pool, req, spec.id, client, shape, ask, params, request.is_disconnected
            )
        jobs = [ask] * (req.n or 1)
        first = await start_stream(pool, spec.id, client, params=params, request=request, **ask)
        if req.stream:
            return stream_response(
                sse_choices(pool, shape, client, params, jobs, first, n=len(jobs))
            )
        choices, results, used = [], [], Usage()
        for i in range(len(jobs)):
            f, r = (
                first
                if i == 0
                else await start_stream(
                    pool, spec.id, client, params=params, request=request, **ask
                )
            )
            text, result = await collect(f, r, request)
            results.append(result)
            used.add(0, result.prompt_tokens, result.completion_tokens)
            choices.append(
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": finish(result),
                }
            )
        return {
            "id": shape.cid,
            "object": "chat.completion",
            "created": shape.created,
            "model": spec.id,
            "choices": choices,
            "usage": used.as_dict(),
            "timings": timings(results[0]),
        }

    @router.post("/v1/completions")
    async def completions(req: CompletionRequest, request: Request) -> Any:
        spec = pool.spec(req.model)
        items = prompts(req, pool.limits)
        scoring = req.logprobs is not None
        # max_tokens 0 asks for no completion: the prompt is only counted (and scored)
        params = sampling(req, pool.limits, spec.n_ctx, 16, allow_zero=True)
        check_top(req.logprobs, pool.limits, "logprobs")
        if scoring and req.stream:
            raise APIError(
                400,
                "logprobs are not available when streaming",
                code="unsupported",
                param="logprobs",
            )
        client = client_id(request)
        shape = StreamShape(
            f"cmpl-{uuid.uuid4().hex}", "text_completion", spec.id, req.include_usage, chat=False
        )
        token_ids = not all(isinstance(p, str) for p in items)
        if scoring or token_ids or params.max_tokens == 0:
            engine = await pool.engine(spec.id)
            if isinstance(engine, RequestForwarding):  # a remote model: its server computes it
                return await _forwarded(
                    pool, "/completions", req, params, shape, client, request.is_disconnected
                )
        if scoring or token_ids:
            return await _by_token_ids(
                pool, req, spec.id, client, shape, items, params, request.is_disconnected
            )
        items = [p for p in items if isinstance(p, str)]  # text only from here on
        if req.stream and params.max_tokens > 0:
            jobs = [{"prompt": p} for p in items for _ in range(req.n or 1)]
            first = await start_stream(
                pool, spec.id, client, params=params, prompt=items[0], request=request
            )
            return stream_response(
                sse_choices(
                    pool,
                    shape,
                    client,
                    params,
                    jobs,
                    first,
                    echo="" if req.echo else None,
                    n=req.n or 1,
                )
            )
        choices: list[dict[str, Any]] = []
        used = Usage()
        first_result: GenerationResult | None = None
        for k, p in enumerate(items):
            for _ in range(req.n or 1):
                text, r = "", None
                if params.max_tokens > 0:
                    f, rest = await start_stream(
                        pool, spec.id, client, params=params, prompt=p, request=request
                    )
                    text, r = await collect(f, rest, request)
                    first_result = first_result or r
                    used.add(k, r.prompt_tokens, r.completion_tokens)
                elif not used.counted(k):  # its n choices share the one count
                    used.add(
                        k,
                        await pool.run_exclusive(
                            spec.id, client, _count_tokens, p, gone=request.is_disconnected
                        ),
                    )
                choices.append(
                    {
                        "index": len(choices),
                        "text": (p if req.echo else "") + text,
                        "logprobs": None,
                        "finish_reason": finish(r) if r else "length",
                    }
                )
        if req.stream:  # max_tokens 0: nothing to generate, the counted answer as one stream
            return stream_response(_sse_counted(shape, choices, used.as_dict()))
        out: dict[str, Any] = {
            "id": shape.cid,
            "object": "text_completion",
            "created": shape.created,
            "model": spec.id,
            "choices": choices,
            "usage": used.as_dict(),
        }
        if first_result is not None:
            out["timings"] = timings(first_result)
        return out

    return router


async def _sse_counted(
    shape: StreamShape, choices: list[dict[str, Any]], used: dict[str, int]
) -> AsyncIterator[bytes]:
    for c in choices:
        yield shape.chunk([shape.choice(c["index"], c["text"], c["finish_reason"])])
    if shape.include_usage:
        yield shape.chunk([], usage=used)
    yield sse("[DONE]")


def _count_tokens(engine: Engine, text: str) -> int:
    """The prompt's tokens when nothing is generated; only the model's tokenizer can say."""
    if not isinstance(engine, Tokenizer):
        raise CapabilityError(
            f"{engine.model_id} cannot count tokens without generating",
            hint="ask for max_tokens of 1 or more",
        )
    return len(engine.tokenize(text))


async def _forwarded(
    pool: ModelPool,
    route: str,
    req: ChatRequest | CompletionRequest,
    params: SamplingParams,
    shape: StreamShape,
    client: str,
    gone: Callable[[], Awaitable[bool]],
) -> Any:
    """What only a remote model's own server can compute (token ids, echo, logprobs), sent on
    as the client wrote it, with our limit on max_tokens, in one queue slot."""
    body = req.model_dump(exclude_unset=True, exclude={"stream", "stream_options"})
    body.pop("max_completion_tokens", None)
    body["max_tokens"] = params.max_tokens
    data, answer = await pool.run_exclusive(
        shape.model, client, forward_request, route, body, gone=gone
    )
    choices = data.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise APIError(502, "the upstream server sent no list of choices", code="engine_error")
    if not req.stream:
        return answer
    used = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    texts = [
        {"index": i, "text": str(c.get("text") or ""), "finish_reason": c.get("finish_reason")}
        for i, c in enumerate(choices)
    ]  # no logprobs here (refused when streaming): the whole answer as one stream
    return stream_response(_sse_counted(shape, texts, used))


def forward_request(
    engine: Engine, route: str, body: dict[str, Any] | None
) -> tuple[dict[str, Any], Response]:
    """In a worker thread: the request sent on by the model's remote engine, and its answer
    already encoded (a large answer encoded on the event loop would stall every client)."""
    if not isinstance(engine, RequestForwarding):
        raise CapabilityError(f"{engine.model_id} has no upstream server to ask")
    data = engine.forward(route, body)
    choices, asked = data.get("choices"), _choices_asked(body)
    if isinstance(choices, list) and len(choices) > asked:  # each one is built and sent on
        raise EngineResponseError(
            f"{engine.model_id}: the upstream sent {len(choices):,} choices for {asked} asked",
            cause="malformed body",
        )
    try:
        encoded = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except ValueError as e:  # NaN or Infinity, which json.loads takes and JSON has not
        raise EngineResponseError(
            f"{engine.model_id}: the upstream answer holds a number JSON cannot carry",
            cause="malformed body",
        ) from e
    return data, Response(encoded, media_type="application/json")


def _choices_asked(body: dict[str, Any] | None) -> int:
    """Answers a forwarded request asks for: n for each prompt of a batch."""
    body = body or {}
    n = body.get("n") if isinstance(body.get("n"), int) else 1
    prompt = body.get("prompt")
    batch = isinstance(prompt, list) and prompt and isinstance(prompt[0], str | list)
    return max(1, n) * (len(prompt) if batch else 1)


async def _chat_by_token_ids(
    pool: ModelPool,
    req: ChatRequest,
    model_id: str,
    client: str,
    shape: StreamShape,
    ask: dict[str, Any],
    params: SamplingParams,
    gone: Callable[[], Awaitable[bool]],
) -> Any:
    """A chat answer with the log-probs of its generated tokens, from their ids (`ask`:
    chat_request's messages, or a base model's Q/A prompt, as the plain chat path sends)."""
    choices, used = [], Usage()
    for i in range(req.n or 1):
        c = await pool.run_exclusive(
            model_id, client, chat_one, ask, params, req.top_logprobs or 0, gone=gone
        )
        choices.append(
            {
                "index": i,
                "message": {"role": "assistant", "content": c.text},
                "logprobs": chat_logprobs(c.logprobs),
                "finish_reason": c.finish_reason,
            }
        )
        used.add(0, c.prompt_tokens, len(c.ids))
    return {
        "id": shape.cid,
        "object": "chat.completion",
        "created": shape.created,
        "model": model_id,
        "choices": choices,
        "usage": used.as_dict(),
    }


async def _by_token_ids(
    pool: ModelPool,
    req: CompletionRequest,
    model_id: str,
    client: str,
    shape: StreamShape,
    items: list[Prompt],
    params: SamplingParams,
    gone: Callable[[], Awaitable[bool]],
) -> Any:
    """Token-id prompts, echo and logprobs: every choice from the ids the model evaluated
    and generated (token_completions.py), one queue slot per choice."""
    choices: list[dict[str, Any]] = []
    counted = Usage()
    for k, p in enumerate(items):
        for _ in range(req.n or 1):
            shown, c = await pool.run_exclusive(
                model_id, client, complete_one, p, params, req.logprobs, req.echo, gone=gone
            )
            choices.append(completion_choice(len(choices), shown, c, req.echo))
            counted.add(k, c.prompt_tokens, len(c.ids))
    used = counted.as_dict()
    if req.stream:  # no logprobs here (refused above): the whole answer as one stream
        return stream_response(_sse_counted(shape, choices, used))
    return {
        "id": shape.cid,
        "object": "text_completion",
        "created": shape.created,
        "model": model_id,
        "choices": choices,
        "usage": used,
    }
