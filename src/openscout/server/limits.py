"""Bounds on what one request may ask for, and on how much may wait. One place, one dataclass."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LANE_CTX = 2048


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 * 2**20  # a request body larger than this gets 413
    # a body must arrive whole within body_timeout_s (408), and at most max_bodies_reading
    # are read at once (503): slow senders held 1 MiB each for ever (30th probe)
    body_timeout_s: float = 30.0
    max_bodies_reading: int = 64
    # large answers (256 KiB or more, a saved chat) being sent at once, in bytes (503 beyond):
    # clients that did not read held 4 MB each (31st probe)
    max_answer_bytes: int = 64 * 2**20
    max_messages: int = 256
    max_message_chars: int = 200_000  # per message
    max_total_chars: int = 400_000  # all messages / the prompt together
    max_tokens: int = 4096  # per completion; also never more than the model's context
    max_n: int = 4
    max_stop: int = 4
    max_stop_chars: int = 64
    max_logprobs: int = 5
    max_prompts: int = 8  # list prompts on /v1/completions
    # Concurrent requests to one llama.cpp model share a continuous batch of this many lanes
    # (1: one request at a time); lane_ctx tokens each (None: the model's n_ctx, at most
    # DEFAULT_LANE_CTX). Defaults measured in docs/performance.md.
    lanes: int = 4
    lane_ctx: int | None = None
    queue_per_model: int = 16  # requests waiting for one model; beyond this: 429
    queue_total: int = 64  # requests waiting for all models; beyond this: 503
    retry_after_s: int = 2
    # a write waits this long for a lock another program holds, and only this many wait at
    # once (the rest answer 503 at once): 40 waiting 30 s held every worker thread (41st probe)
    db_lock_wait_s: float = 5.0
    db_lock_waiters: int = 4
