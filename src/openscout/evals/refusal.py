"""Whether a server refusing an item's prompt is the prompt's doing.

A provider's content filter (Azure's `400 content_filter`, a 403 moderation, a 451) refuses
the same prompt every time: as a failed item it was asked again on every run, the run never
completed, and `compare` could never recommend the model (40th probe). Such a refusal is the
model's answer to that item: a counted miss. A bad key, a missing model or a parameter the
server rejects refuses everything alike, so the same request with a harmless prompt is asked
first (fresh, never from the cache): refused too, the item fails as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from openscout.errors import EngineResponseError, OpenscoutError
from openscout.evals.items import Request

CONTROL = "Reply with the word OK."


def control_request(req: Request) -> Request:
    """The same request (mode, parameters, system message) with a user prompt no filter
    refuses. Without the system message, a server refusing system messages (Gemma's
    template: "System role not supported") answered it, and every item of a suite with a
    `system` was blamed on its prompt, a counted 0 (42nd probe)."""
    if req.messages is not None:
        kept = tuple(m for m in req.messages if m["role"] != "user")
        return dataclasses.replace(req, messages=(*kept, {"role": "user", "content": CONTROL}))
    return dataclasses.replace(req, prompt=f"Question: {CONTROL}\nAnswer:")


def prompt_refusal(
    e: OpenscoutError, req: Request, ask_fresh: Callable[[Request], Any]
) -> str | None:
    """Why the server refused this prompt, when it refuses this prompt only; else None."""
    status = e.status if isinstance(e, EngineResponseError) else None
    if status is None or e.transient or not 400 <= status < 500 or status in (401, 404):
        return None
    try:
        ask_fresh(control_request(req))
    except OpenscoutError:
        return None  # it refuses a harmless prompt too: not this prompt's doing
    return f"the model's server refused the prompt: {e.message}"
