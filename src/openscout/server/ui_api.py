"""JSON routes behind the web pages (/ui/api/...): stored chats and the arena.

The chat and compare pages stream from the public /v1 routes; the arena streams here, because
its answers must not name the model until the vote is in.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from openscout import chats
from openscout.arena import battles as arena
from openscout.arena.ratings import Rating, compute_ratings
from openscout.chat_prompt import chat_request
from openscout.config import Settings
from openscout.engines.base import Chunk, SamplingParams
from openscout.engines.openai_wire import PROMPT_TOKENS_SLACK
from openscout.errors import ArenaError, ModelNotFoundError, OpenscoutError
from openscout.models import ID_CHARS
from openscout.server.api import chain, client_id, sse, start_stream, stream_response
from openscout.server.errors import APIError, from_openscout
from openscout.server.pool import ModelPool
from openscout.server.schemas import MAX_INT, ChatSettings

ARENA_PARAMS = SamplingParams(temperature=0.7, top_p=0.95, max_tokens=256)


# SQLite integers are 64-bit; a larger id must be a 400, not an OverflowError (schemathesis)
ChatId = Annotated[int, Path(ge=1, le=MAX_INT)]
BattleId = Annotated[str, Path(min_length=1, max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewChat(_Body):
    model: str = Field(min_length=1, max_length=256)
    # the page sends the first message as the title (cut to chats.MAX_TITLE when stored): a
    # first message over 2,000 characters could not be sent (34th probe)
    title: str = Field(default="", max_length=200_000)
    system_prompt: str = Field(default="", max_length=20_000)
    params: ChatSettings = Field(default_factory=ChatSettings)


class NewMessage(_Body):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=200_000)
    # a model id, as registered: free text with line breaks forged turns in the Markdown
    # export's headings (44th probe, low)
    model_id: str | None = Field(default=None, max_length=256, pattern=rf"^{ID_CHARS}$")
    prompt_tokens: int | None = Field(default=None, ge=0, le=10_000_000)
    completion_tokens: int | None = Field(default=None, ge=0, le=10_000_000)
    ttft_s: float | None = Field(default=None, ge=0, le=1e6)
    output_tps: float | None = Field(default=None, ge=0, le=1e9)
    # a user's turn carries the chat's settings as it was sent (NewChat's names): stored, so
    # the chat reopens with the model, system prompt and sampling its last turn used (the
    # first turn's were kept for ever: 41st probe, low)
    model: str | None = Field(default=None, min_length=1, max_length=256)
    system_prompt: str | None = Field(default=None, max_length=20_000)
    params: ChatSettings | None = None


class NewBattle(_Body):
    prompt: str = Field(min_length=1, max_length=arena.MAX_PROMPT_CHARS)


class Vote(_Body):
    winner: Literal["a", "b", "tie", "both_bad"]


def _battle(settings: Settings, battle_id: str) -> arena.BattleRecord:
    """The battle, or a 404 (the arena module words a missing battle as a plain ArenaError).
    Only that: a store that could not be opened was a 404 naming the database's path (35th
    probe); it goes to the shared handler, a 503 without one."""
    try:
        return arena.get_battle(settings, battle_id)
    except ArenaError as e:
        raise APIError(404, e.message, code="not_found", param="battle_id") from e


# What the model itself did: its engine failed, or it could not be loaded or render the
# prompt. Anything else refused the request before the model ran or is the server's own
# trouble (a full queue, 429 or the server-wide 503; a client that left; the database, the
# disk) and is not the model's failure: a busy 503 counted against it, so a flood could
# inflate any model's failures (41st probe). A prompt longer than the model's context is the
# prompt's length, the user's choice: counted, one long paste failed both models (42nd probe).
MODEL_FAILURES = frozenset({"engine_error", "model_unavailable", "chat_template_error"})


def model_failed(err: APIError, fits: bool = False) -> bool:
    """Whether an answer's error counts as the model failing its battle; `fits`: the prompt
    surely fits the model's registered context, so "too long" is the model's own failure (an
    upstream saying it to every prompt kept a clean record: 44th probe)."""
    return err.code in MODEL_FAILURES or (fits and err.code == "context_length_exceeded")


def surely_fits(prompt: str, n_ctx: int) -> bool:
    """Whether a battle's prompt and answer fit a context whatever the tokenizer: at most a
    token a byte, and room for a chat template (the bounds a server's own count is held to)."""
    return len(prompt.encode("utf-8")) + PROMPT_TOKENS_SLACK + ARENA_PARAMS.max_tokens <= n_ctx


def arena_message(err: APIError, fits: bool = False) -> str:
    """The error as the arena words it: never the engine's words nor the model's id (a 429
    names it), which would tell who answers before the vote."""
    if model_failed(err, fits):
        return "the model failed to answer"
    if err.code == "context_length_exceeded":  # no length named: it would tell the models apart
        return "the prompt is too long for this model; try a shorter one"
    if err.status == 429:
        return "the model is busy; try again shortly"
    if err.code == "queue_full":
        return "the server is busy; try again shortly"
    if err.status == 499:
        return "the request was closed"
    return "the server could not ask the model just now; try again shortly"


def arena_models(pool: ModelPool) -> list[str]:
    """The chosen models, or every model that loads (base models get a Q/A prompt)."""
    specs = pool.specs()
    if pool.arena_ids is not None:
        known = {s.id for s in specs}
        return [m for m in pool.arena_ids if m in known]
    return [s.id for s in specs if pool.state(s.id).state != "error"]


_last_ratings: dict[tuple[Any, ...], list[Rating]] = {}  # the last fit only
_fitting = threading.Lock()


def current_ratings(pool: ModelPool) -> list[Rating]:
    """The arena's ratings, refitted only when the votes or the models change: the bootstrap
    takes about half a second at 2000 votes, and pages ask on every view. Called off the
    event loop (`run_in_threadpool`), so a fit never stalls other requests."""
    key = (tuple(arena.voted_battles(pool.settings)), tuple(arena_models(pool)))
    with _fitting:  # concurrent askers share one fit (30 at once refitted 30 times)
        if key not in _last_ratings:
            fitted = compute_ratings(list(key[0]), list(key[1]))
            _last_ratings.clear()
            _last_ratings[key] = fitted
        fitted = _last_ratings[key]
    failed = arena.failed_answers(pool.settings)
    return [replace(r, failed=failed[r.model]) for r in fitted]


def ratings_table(pool: ModelPool) -> list[dict[str, Any]]:
    return [r.as_dict() for r in current_ratings(pool)]


def chat_settings(given: ChatSettings | None, most_tokens: int) -> dict[str, Any] | None:
    """A chat's settings as stored, within this server's /v1 bounds: a `max_tokens` the
    chat's later turns would be refused with was stored (44th probe)."""
    if given is None:
        return None
    if given.max_tokens is not None and given.max_tokens > most_tokens:
        raise APIError(
            400,
            f"params.max_tokens is {given.max_tokens} but at most {most_tokens} is allowed",
            code="invalid_value",
            param="params.max_tokens",
        )
    return given.model_dump(exclude_none=True)


def make_router(pool: ModelPool) -> APIRouter:
    r = APIRouter(prefix="/ui/api")
    settings = pool.settings

    def most_tokens(model: str) -> int:
        """The most max_tokens /v1 takes for the model (404 for an unknown one): its context
        bounds it too, and a chat saved with 4,000 for a 2,048 model was refused every turn
        (47th probe)."""
        return min(pool.limits.max_tokens, pool.spec(model).n_ctx)

    def chat_tokens(chat_id: int) -> int:
        """most_tokens for the chat's model; the server's bound where that model is gone."""
        try:
            return most_tokens(chats.chat_model(settings, chat_id))
        except ModelNotFoundError:
            return pool.limits.max_tokens

    # -- chats -----------------------------------------------------------------------------

    # Routes that touch the database are plain functions, which FastAPI runs in its thread
    # pool: a write lock held by another process (busy_timeout 30 s) froze the whole server,
    # /health too, while one of them waited on the event loop (33rd probe, low).

    @r.get("/chats")
    def list_chats() -> dict[str, Any]:
        return {"chats": chats.list_chats(settings)}

    @r.post("/chats")
    def new_chat(body: NewChat) -> dict[str, Any]:
        return chats.create_chat(
            settings,
            body.model,
            body.title,
            body.system_prompt,
            chat_settings(body.params, most_tokens(body.model)),
        ).as_dict()

    @r.get("/chats/{chat_id}")
    def get_chat(chat_id: ChatId) -> Response:
        # rendered in the thread too: 20 readers of an 8 MB chat made /health take seconds
        # (31st probe)
        text = json.dumps(chats.get_chat(settings, chat_id).as_dict(), ensure_ascii=False)
        return Response(text, media_type="application/json")

    @r.post("/chats/{chat_id}/messages")
    def add_message(chat_id: ChatId, body: NewMessage) -> dict[str, Any]:
        # an unknown model is a 404, as for a new chat; none named: the chat's model bounds
        # it (a client's 4,000 was kept for a 2,048-token model: 48th probe)
        most = most_tokens(body.model) if body.model is not None else chat_tokens(chat_id)
        msg = chats.add_message(
            settings,
            chat_id,
            body.role,
            body.content,
            model_id=body.model_id,
            prompt_tokens=body.prompt_tokens,
            completion_tokens=body.completion_tokens,
            ttft_s=body.ttft_s,
            output_tps=body.output_tps,
            now=chats.ChatSetup(
                body.model,
                body.system_prompt,
                chat_settings(body.params, most),
            ),
        )
        return msg.__dict__

    @r.delete("/chats/{chat_id}")
    def delete_chat(chat_id: ChatId) -> dict[str, Any]:
        chats.delete_chat(settings, chat_id)
        return {"deleted": chat_id}

    @r.get("/chats/{chat_id}/export")
    def export_chat(chat_id: ChatId, format: Literal["json", "md"] = "json") -> Response:
        chat = chats.get_chat(settings, chat_id)
        if format == "md":
            body, media, ext = chats.export_markdown(chat), "text/markdown; charset=utf-8", "md"
        else:
            body, media, ext = chats.export_json(chat), "application/json", "json"
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="chat-{chat_id}.{ext}"'},
        )

    # -- arena -----------------------------------------------------------------------------

    @r.post("/arena/battles")
    async def new_battle(body: NewBattle) -> dict[str, Any]:
        battle = await run_in_threadpool(  # the pairing reads every vote: off the event loop
            arena.new_battle, settings, body.prompt, arena_models(pool), random.SystemRandom()
        )
        return battle.public()

    @r.get("/arena/battles/{battle_id}")
    def get_battle(battle_id: BattleId) -> dict[str, Any]:
        return _battle(settings, battle_id).public()

    @r.post("/arena/battles/{battle_id}/answer/{side}")
    async def answer(battle_id: BattleId, side: Literal["a", "b"], request: Request) -> Any:
        battle = await run_in_threadpool(_battle, settings, battle_id)
        if battle.winner is not None:
            raise APIError(409, "this battle is over", code="battle_over")
        if side in battle.failed:  # its failure is counted, in sight: no vote may follow
            raise APIError(
                409, "this side failed to answer; start a new battle", code="battle_over"
            )
        model = battle.model_a if side == "a" else battle.model_b
        fits = False
        try:
            # a base model gets a Q/A prompt with stop strings (chat_prompt)
            spec = pool.spec(model)  # a model removed since: its id in the error
            fits = surely_fits(battle.prompt, spec.n_ctx)
            ask, params = chat_request(
                spec.prompt_format,
                [{"role": "user", "content": battle.prompt}],
                ARENA_PARAMS,
            )
            first, rest = await start_stream(
                pool,
                model,
                client_id(request),
                params=params,
                source="arena",
                request=request,
                **ask,
            )
        except (OpenscoutError, APIError) as e:
            # the status only: an upstream's URL or a model's own words in the error told
            # which model answers on this side before the vote (sixteenth probe)
            err = from_openscout(e) if isinstance(e, OpenscoutError) else e
            if model_failed(err, fits):
                await run_in_threadpool(arena.save_failure, settings, battle_id, side)
            raise APIError(
                err.status, arena_message(err, fits), code=err.code, headers=err.headers
            ) from e

        async def body() -> AsyncIterator[bytes]:
            parts: list[str] = []
            held = ""  # sent by whole words: one event a token gave the count away (55th)
            try:
                async for ev in chain(first, rest):
                    if isinstance(ev, Chunk):
                        if ev.text:  # a thinking delta has none
                            parts.append(ev.text)
                            words, held = _whole_words(held + ev.text)
                            if words:
                                yield sse({"text": words})
                    else:  # no model name, speed nor token count before the vote: a
                        # model's tokens/s told which one answered (42nd probe), and so
                        # did its count in its own tokenizer (54th); the page counts words
                        if held:
                            yield sse({"text": held})
                            held = ""
                        yield sse({"done": True})
                await run_in_threadpool(
                    arena.save_answer, settings, battle_id, side, "".join(parts)
                )
            except OpenscoutError as e:
                err = from_openscout(e)  # the user leaving (499) is no failure
                if model_failed(err, fits):
                    await run_in_threadpool(arena.save_failure, settings, battle_id, side)
                yield sse({"error": arena_message(err, fits)})
            yield sse("[DONE]")

        return stream_response(body())

    @r.post("/arena/battles/{battle_id}/vote")
    def vote(battle_id: BattleId, body: Vote) -> dict[str, Any]:
        if _battle(settings, battle_id).winner is not None:
            raise APIError(409, "this battle has already been voted on", code="battle_over")
        return arena.vote(settings, battle_id, body.winner).public()

    @r.get("/arena/ratings")
    def ratings() -> dict[str, Any]:
        return {"ratings": ratings_table(pool), "votes": arena.vote_count(settings)}

    return r


def _whole_words(text: str) -> tuple[str, str]:
    """The text up to its last blank, to send, and the word it may still be writing. Text
    without blanks (Chinese, Japanese) goes out every 24 characters, not at the end (56th)."""
    cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    if cut < 0 and len(text) >= 24:
        return text, ""
    return text[: cut + 1], text[cut + 1 :]
