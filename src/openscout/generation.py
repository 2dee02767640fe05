"""One layer above the engines: run a generation, time it, log it.

Callers (CLI, evals, server) use `generate` / `stream_generate`; engines stay ignorant of
timing policy and storage. Every generation lands in the `generations` table, bounded:
each row keeps the head of its input and output, and the newest rows are kept.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

from openscout.config import Settings
from openscout.engines.base import Chunk, Engine, Final, Message, SamplingParams
from openscout.errors import CapabilityError, ClientGoneError, OpenscoutError, recorded
from openscout.store import lock_wait
from openscout.store.db import connect, immediate
from openscout.timing import stream_timing

log = logging.getLogger("openscout.generation")


@dataclass
class GenerationResult:
    model_id: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    ttft_s: float | None
    output_tps: float | None
    prefill_tps: float | None
    total_s: float
    mode: str
    thinking_open: bool = False  # the text began inside thinking the prompt opened

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def as_messages(prompt: str, system: str | None = None) -> list[Message]:
    msgs: list[Message] = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": prompt})
    return msgs


def stream_generate(
    engine: Engine,
    *,
    messages: Sequence[Message] | None = None,
    prompt: str | None = None,
    params: SamplingParams | None = None,
    settings: Settings | None = None,
    engine_name: str = "",
    source: str = "cli",
) -> Iterator[Chunk | GenerationResult]:
    """Yield chunks as they arrive, then one GenerationResult. Logs when settings is given."""
    params = params or SamplingParams()
    mode = "chat" if messages is not None else "completion"
    if mode == "chat" and not engine.capabilities.chat:
        raise CapabilityError(f"{engine.model_id} cannot chat; send a raw prompt instead")
    t0 = time.perf_counter()
    stream = (
        engine.stream_chat(messages, params)
        if messages is not None
        else engine.stream_completion(prompt or "", params)
    )
    times: list[float] = []
    parts: list[str] = []
    final: Final | None = None
    error: str | None = None
    try:
        for ev in stream:
            if isinstance(ev, Chunk):
                if ev.text or ev.thought:  # a generated token's time, answer or thinking
                    times.append(ev.t)
                parts.append(ev.text)
                yield ev
            else:
                final = ev
    except OpenscoutError as e:
        error = None if isinstance(e, ClientGoneError) else str(e)  # logged as cancelled
        raise
    finally:
        t_end = time.perf_counter()
        if final is None:
            final = Final(0, len(parts), "error" if error else "cancelled")
        timing = stream_timing(t0, times, t_end, final.prompt_tokens, final.completion_tokens)
        result = GenerationResult(
            engine.model_id,
            "".join(parts),
            final.prompt_tokens,
            final.completion_tokens,
            final.finish_reason,
            timing.ttft_s,
            timing.output_tps,
            timing.prefill_tps,
            timing.total_s,
            mode,
            final.thinking_open,
        )
        if settings is not None:
            log_generation(
                settings,
                result,
                engine_name,
                source,
                params,
                list(messages) if messages is not None else prompt,
                error,
            )
    yield result


def generate(engine: Engine, **kwargs: object) -> GenerationResult:
    """Run to completion and return the result (chunks are dropped)."""
    result = None
    for ev in stream_generate(engine, **kwargs):  # type: ignore[arg-type]
        if isinstance(ev, GenerationResult):
            result = ev
    assert result is not None
    return result


# The log is a record, not an archive: each row keeps this much of its input (as JSON) and
# of its output, and the newest KEPT_GENERATIONS are kept: about 200 MB at most.
LOGGED_CHARS = 4_000
KEPT_GENERATIONS = 10_000


def log_generation(
    settings: Settings,
    r: GenerationResult,
    engine_name: str,
    source: str,
    params: SamplingParams,
    inp: object,
    error: str | None = None,
) -> None:
    """Add one row to the generation log, keeping the newest KEPT_GENERATIONS. Each refused
    400,000-character request was stored whole, for ever: one client added 78 MB a minute
    (33rd probe). A log that cannot be written (a full disk, a lock) fails no generation
    and keeps no one waiting."""
    waiting = lock_wait.for_requests(lock_wait.BEST_EFFORT)
    try:
        conn = connect(settings.db_path)
        try:
            with immediate(conn):
                cur = conn.execute(
                    "INSERT INTO generations (model_id, engine, source, mode, params_json,"
                    " input_json, output, prompt_tokens, completion_tokens, finish_reason, ttft_s,"
                    " output_tps, total_s, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        r.model_id,
                        engine_name,
                        source,
                        r.mode,
                        json.dumps(params.as_dict()),
                        _logged_input(inp),
                        _cut(r.text),
                        r.prompt_tokens,
                        r.completion_tokens,
                        r.finish_reason,
                        r.ttft_s,
                        r.output_tps,
                        r.total_s,
                        recorded(error),
                    ),
                )
                oldest_kept = (cur.lastrowid or 0) - KEPT_GENERATIONS
                conn.execute("DELETE FROM generations WHERE id <= ?", (oldest_kept,))
        finally:
            conn.close()
    except (OpenscoutError, sqlite3.Error, OSError) as e:
        log.warning("the generation log could not be written: %s", e)
    finally:
        lock_wait.done(waiting)


def _logged_input(inp: object) -> str:
    """The input as JSON, or beyond LOGGED_CHARS its head, marked as cut."""
    text = json.dumps(inp)
    if len(text) <= LOGGED_CHARS:
        return text
    return json.dumps({"cut": True, "chars": len(text), "head": text[:LOGGED_CHARS]})


def _cut(text: str) -> str:
    if len(text) <= LOGGED_CHARS:
        return text
    return text[:LOGGED_CHARS] + f"\n[{len(text) - LOGGED_CHARS:,} more characters not logged]"


def recent_generations(
    settings: Settings, limit: int = 20, model_id: str | None = None
) -> list[dict[str, object]]:
    conn = connect(settings.db_path)
    try:
        sql = "SELECT * FROM generations"
        args: list[object] = []
        if model_id:
            sql += " WHERE model_id = ?"
            args.append(model_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [dict(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()
