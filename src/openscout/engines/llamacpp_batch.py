"""Low-level llama.cpp decoding for scoring: feed tokens, get log-probabilities back.

The high-level `Llama.eval` keeps no logits unless the whole context is allocated for them
(n_ctx x n_vocab floats: 2 GB for Gemma's 262k vocabulary). Scoring needs the distribution at
a few positions only, so we build llama_batch ourselves and flag just those positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from openscout.engines.cancel import check_stop
from openscout.engines.cpu_threads import ContextThreads
from openscout.errors import EngineError


class BatchDecoder:
    """Decodes (seq_id, position, token, want_logits) rows in chunks of n_batch."""

    def __init__(
        self,
        llama_cpp: Any,
        ctx: Any,
        n_batch: int,
        n_vocab: int,
        n_seq_max: int = 1,
        threads: ContextThreads | None = None,
    ) -> None:
        self._lib = llama_cpp
        self._ctx = ctx
        self._threads = threads  # the context's thread count, synced before each decode
        self.n_batch = n_batch
        self.n_vocab = n_vocab
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, n_seq_max)

    def decode(
        self,
        rows: Sequence[tuple[int, int, int, bool]],
        raw: bool = False,
        keep_row: Callable[[int, np.ndarray], Any] | None = None,
    ) -> list[Any]:
        """Decode rows in order; return the log-softmax row for each flagged row, in order
        (raw=True: the logits themselves, float32, which is all greedy sampling needs;
        `keep_row(position, row)`: only what it returns of each row, which is then dropped).
        A caller that hung up (cancel.check_stop) gets no more chunks: scoring 2,000-id prompts
        ran to the end of the prompt for a client gone (41st probe)."""
        out: list[Any] = []
        b = self._batch
        for start in range(0, len(rows), self.n_batch):
            check_stop()
            chunk = rows[start : start + self.n_batch]
            flagged = []
            for i, (seq, pos, tok, want) in enumerate(chunk):
                b.token[i] = tok
                b.pos[i] = pos
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = seq
                b.logits[i] = bool(want)
                if want:
                    flagged.append(i)
            b.n_tokens = len(chunk)
            if self._threads:
                self._threads.sync()
            rc = self._lib.llama_decode(self._ctx, b)
            if rc != 0:
                raise EngineError(f"llama_decode failed with code {rc} (context full?)")
            for i in flagged:
                ptr = self._lib.llama_get_logits_ith(self._ctx, i)
                view = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
                if raw:
                    out.append(view.copy())
                elif keep_row is not None:
                    out.append(keep_row(chunk[i][1], log_softmax(view.astype(np.float64))))
                else:
                    out.append(log_softmax(view.astype(np.float64)))
        return out

    def close(self) -> None:
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None


def log_softmax(x: np.ndarray) -> np.ndarray:
    m = float(np.max(x))
    return x - (m + float(np.log(np.sum(np.exp(x - m)))))


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
