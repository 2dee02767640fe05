"""A scripted, deterministic engine, registered like the real ones. Used by tests and demos.

Behaviour: if the prompt (last user message, or the raw prompt) matches a key in `script`,
that reply is streamed word by word; otherwise the engine answers `default` or, when that is
None, echoes the prompt reversed word-wise. Log-likelihoods come from a stable hash so that
they are deterministic and differ between continuations. `calls` counts every engine call.
"""

from __future__ import annotations

import hashlib
import threading
import time
import zlib
from collections.abc import Iterator, Sequence

from openscout.engines.base import (
    BatchRequest,
    BatchResult,
    Capabilities,
    Chunk,
    Final,
    LoglikelihoodResult,
    Message,
    SamplingParams,
    StreamEvent,
    collect,
)
from openscout.errors import EngineError


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_texts(mapping: object) -> bool:
    return isinstance(mapping, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    )


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


class MockEngine:
    LANES = 1  # sequences its batch path takes at once (none: it has no batch path)

    def __init__(
        self,
        model_id: str = "mock",
        script: dict[str, str] | None = None,
        default: str | None = None,
        loglik_bias: dict[str, float] | None = None,
        delay_s: float = 0.0,
        fail_with: str | None = None,
        max_parallel: int = 4,
    ) -> None:
        # options may come from a hand-written models.yaml: wrong kinds fail here, where the
        # loader names the model, not in the middle of a request
        bias = loglik_bias or {}
        if not _is_texts(script or {}) or not (
            isinstance(bias, dict) and all(_is_number(v) for v in bias.values())
        ):
            raise TypeError("script must map texts to texts, loglik_bias texts to numbers")
        if not all(v is None or isinstance(v, str) for v in (default, fail_with)):
            raise TypeError("default and fail_with must be texts")
        if not _is_number(delay_s) or not 0 <= delay_s <= 60:
            raise ValueError("delay_s must be a number of seconds from 0 to 60")
        if not isinstance(max_parallel, int) or isinstance(max_parallel, bool):
            raise TypeError("max_parallel must be a whole number")  # 'abc' was a 500 later
        if not 1 <= max_parallel <= 1024:
            raise ValueError("max_parallel must be from 1 to 1024")
        self.model_id = model_id
        self.script = dict(script or {})
        self.default = default
        self.loglik_bias = dict(loglik_bias or {})
        self.delay_s = delay_s
        self.fail_with = fail_with
        self.capabilities = Capabilities(
            chat=True,
            completion=True,
            loglikelihood=True,
            chat_template=True,
            max_parallel=max_parallel,
            batch_lanes=self.LANES,
        )
        self.calls = 0
        self.batches: list[int] = []  # sizes of the generate_batch calls
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.calls += 1
        if self.fail_with:
            raise EngineError(self.fail_with)

    def _reply_for(self, prompt: str) -> str:
        if prompt in self.script:
            return self.script[prompt]
        if self.default is not None:
            return self.default
        return " ".join(reversed(prompt.split())) or "ok"

    def _stream(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        self._count()
        words = _words(self._reply_for(prompt))[: params.max_tokens]
        text_so_far = ""
        for w in words:
            if self.delay_s:
                time.sleep(self.delay_s)
            text_so_far += w
            for s in params.stop:
                if s and s in text_so_far:
                    yield Final(len(prompt.split()), len(text_so_far.split()), "stop")
                    return
            yield Chunk(w, time.perf_counter())
        reason = "length" if len(words) >= params.max_tokens else "stop"
        yield Final(len(prompt.split()), len(words), reason)

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]:
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        return self._stream(last_user, params)

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        return self._stream(prompt, params)

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult:
        self._count()
        digest = hashlib.sha256((context + "\x00" + continuation).encode()).digest()
        base = -1.0 - digest[0] / 64.0  # in (-5, -1]
        n = max(1, len(continuation.split()))
        lp = base * n + self.loglik_bias.get(continuation.strip(), 0.0)
        return LoglikelihoodResult(logprob=lp, is_greedy=lp > -2.0, n_tokens=n)

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        """Words are the mock's tokens, as in its usage counts."""
        return [zlib.crc32(w.encode()) for w in text.split()]

    def close(self) -> None:
        pass


class BatchingMockEngine(MockEngine):
    """A mock with the batch path (BatchGenerator), as llama.cpp has: several requests in
    one call. The `mock` kind makes one when a spec's options say `batch: true`."""

    LANES = 8

    def generate_batch(
        self, requests: Sequence[BatchRequest], params: SamplingParams
    ) -> list[BatchResult]:
        self.batches.append(len(requests))
        out = []
        for req in requests:
            stream = (
                self.stream_chat(req.messages, params)
                if req.messages is not None
                else self.stream_completion(req.prompt or "", params)
            )
            text, final, _ = collect(stream)
            out.append(BatchResult(text, final, 0.0))
        return out
