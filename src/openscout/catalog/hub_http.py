"""Bounds on what openscout asks the Hugging Face Hub for through `huggingface_hub`.

`huggingface_hub` reads each API answer whole, with no time-out, and follows a `Link: next`
header for as long as the pages come: a Hub endpoint that is a mirror or a broken proxy (the
user's `HF_ENDPOINT`) took `catalog search --hub` past 2.4 GB with one 3 GB answer, and an
answer trickled a byte a second, or endless empty pages, kept it running for ever
(twenty-second probe). So each Hub operation of openscout runs through `call(...)`: a
deadline, a number of requests and a number of bytes for all its answers together (asked
uncompressed, so the bytes counted are the bytes kept), enforced by hooks on the library's
own HTTP client (its proxies and headers stay as they are) and by a watchdog for the
deadline. A bound crossed raises HubLimitError, which the callers turn into a clear HubError.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from openscout.errors import HubError

OPERATION_S = 60.0  # an API call and its pages
MAX_REQUESTS = 10  # a search is one page, a model two requests (its record, its card)
MAX_BYTES = 16 * 2**20  # a dataset's file list with metadata, or 20 full model records
READ_TIMEOUT_S = 30.0  # between two pieces of one answer (the library sets none)
T = TypeVar("T")


class HubLimitError(HubError):
    """An answer or operation of the Hub past openscout's bounds."""


@dataclass
class _Budget:
    what: str
    deadline: float
    requests_left: int
    bytes_left: int

    def request(self) -> None:
        self.requests_left -= 1
        if self.requests_left < 0:
            raise HubLimitError(f"{self.what}: the Hub asked for more requests than it needs")
        self.in_time()

    def received(self, n: int) -> None:
        self.bytes_left -= n
        if self.bytes_left < 0:
            raise HubLimitError(f"{self.what}: the Hub's answer is larger than openscout reads")
        self.in_time()

    def in_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise HubLimitError(f"{self.what}: the Hub did not answer in time")


_budget: ContextVar[_Budget | None] = ContextVar("openscout_hub_budget", default=None)
_installed = False
_install_lock = threading.Lock()


def call(
    what: str,
    operation: Callable[[], T],
    seconds: float | None = None,
    max_bytes: int | None = None,
) -> T:
    """operation() (one or more requests through `huggingface_hub`'s client) within one
    budget (by default OPERATION_S, MAX_REQUESTS, MAX_BYTES). Past its deadline the caller
    gets HubLimitError at once and the library's client is closed under the operation, which
    fails at its next read: a server trickling its header lines kept it for ever, each read
    well within its time-out (twenty-third probe)."""
    _install()
    seconds = OPERATION_S if seconds is None else seconds
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    budget = _Budget(what, time.monotonic() + seconds, MAX_REQUESTS, max_bytes)
    done: dict[str, Any] = {}

    def run() -> None:
        _budget.set(budget)  # in this thread's own copy of the caller's context
        try:
            done["value"] = operation()
        except BaseException as e:  # handed to the caller
            done["error"] = e

    worker = threading.Thread(target=copy_context().run, args=(run,), daemon=True)
    worker.start()
    worker.join(seconds + 1.0)
    if worker.is_alive():
        budget.deadline = 0.0  # every later step of the operation fails
        from huggingface_hub import close_session

        close_session()
        raise HubLimitError(f"{what}: the Hub did not answer in time")
    if "error" in done:
        raise done["error"]
    return done["value"]  # type: ignore[no-any-return]


@cache
def _bounded_stream() -> type:
    import httpx2  # huggingface_hub's client; an optional dependency, as the Hub is

    class BoundedStream(httpx2.SyncByteStream):
        """A response body that counts what it yields against the operation's budget."""

        def __init__(self, inner: Any, budget: _Budget) -> None:
            self.inner, self.budget = inner, budget

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self.inner:
                self.budget.received(len(chunk))
                yield chunk

        def close(self) -> None:
            self.inner.close()

    return BoundedStream


def _on_request(request: Any) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.request()
        # the budget counts bytes as they come: compressed, 3 MB of gzip were 3 GB
        request.headers["Accept-Encoding"] = "identity"


def _on_response(response: Any) -> None:
    budget = _budget.get()
    if budget is None:
        return
    coding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        response.close()
        raise HubLimitError(
            f"{budget.what}: the Hub sent a compressed answer ({coding[:20]!r}) though asked"
            " for none"
        )
    response.stream = _bounded_stream()(response.stream, budget)  # read next, by the library


def _factory() -> Any:
    import httpx2
    from huggingface_hub.utils._http import default_client_factory

    client = default_client_factory()
    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks.get("request", []), _on_request],
        "response": [*hooks.get("response", []), _on_response],
    }
    client.timeout = httpx2.Timeout(READ_TIMEOUT_S)  # the library's default is none at all
    return client


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            from huggingface_hub import constants, set_client_factory

            set_client_factory(_factory)
            # no telemetry: with it the library asks the endpoint for an "agent harness"
            # registry and keeps whatever comes back in HF_HOME for a day; a hostile endpoint's
            # 15 MB list there broke every later Hub call of every process (twenty-fifth probe)
            constants.HF_HUB_DISABLE_TELEMETRY = True
            _installed = True
