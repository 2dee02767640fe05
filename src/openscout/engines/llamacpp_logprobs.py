"""Per-token log-probabilities under a llama.cpp model, for `/v1/completions` with `echo` and
`logprobs` (`complete_tokens`: from token ids, generated ones included) and `token_logprobs`
(a text's own tokens).

The log-prob of token i comes from the distribution computed after tokens 0..i-1 (row i-1 of
the decoded batch), never from row i: llama-cpp-python's own server is off by one here, and
lm-evaluation-harness's API backends rely on it being right. The first token of the text is
scored against the BOS token when the model has one; without BOS it has no context and gets None,
as in OpenAI's API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from openscout.engines.base import SamplingParams, TokenCompletion, TokenLogprobs
from openscout.engines.llamacpp import LlamaCppEngine
from openscout.engines.llamacpp_batch import common_prefix
from openscout.engines.stops import cut_at_stop
from openscout.errors import ContextLengthError


def _char_offsets(pieces: list[bytes]) -> list[int]:
    """Character offset of each token's start in the decoded text (UTF-8 may split chars)."""
    offsets, buf = [], b""
    for piece in pieces:
        offsets.append(len(buf.decode("utf-8", "ignore")))
        buf += piece
    return offsets


def token_logprobs(engine: LlamaCppEngine, text: str, top_n: int = 0) -> TokenLogprobs:
    """Score every token of `text`; `top_n` most likely alternatives per position."""
    toks = engine.tokenize(text)  # adds BOS when the model wants one
    bos = engine.llm.token_bos()
    has_bos = bool(toks) and toks[0] == bos and bos >= 0
    start = 1 if has_bos else 0
    if len(toks) > engine.n_ctx:
        raise ContextLengthError(
            f"{engine.model_id}: the prompt has {len(toks)} tokens"
            f" but the context holds {engine.n_ctx}",
            hint="shorten the prompt",
        )
    rows_out = engine.next_token_rows(toks, keep_row=_keeper(toks, top_n)) if len(toks) > 1 else []
    pieces = [engine.llm.detokenize([t]) for t in toks[start:]]
    out = TokenLogprobs(text_offset=_char_offsets(pieces))
    for k, (tok, piece) in enumerate(zip(toks[start:], pieces, strict=True)):
        pos = start + k
        out.tokens.append(piece.decode("utf-8", "replace"))
        if pos == 0:
            out.token_logprobs.append(None)
            out.top_logprobs.append(None)
            continue
        row = rows_out[pos - 1]
        out.token_logprobs.append(row.logprob(tok))
        out.top_logprobs.append(
            {engine.llm.detokenize([t]).decode("utf-8", "replace"): lp for t, lp in row.top}
            if top_n > 0
            else None
        )
    return out


def complete_tokens(
    engine: LlamaCppEngine,
    prompt: Sequence[int],
    params: SamplingParams,
    top_n: int | None,
    echo: bool,
) -> TokenCompletion:
    """Generate after the token ids `prompt` and report log-probs of the very ids evaluated
    and generated: re-tokenizing prompt + answer would merge " hi" and a generated "king"
    into " hiking" and shift every position after the boundary.

    A BOS the model wants is put in front (not echoed) unless the prompt starts with it. A
    greedy one-token answer (what lm-evaluation-harness asks for) is read off the scoring
    pass itself, so scoring costs one decode."""
    bad = next((t for t in prompt if not 0 <= t < engine.n_vocab), None)
    if bad is not None:
        raise ValueError(f"token id {bad} is outside the vocabulary")
    bos = engine.llm.token_bos()
    lead = [bos] if engine.adds_bos and bos >= 0 and list(prompt[:1]) != [bos] else []
    full = lead + list(prompt)
    if len(full) > engine.n_ctx or (params.max_tokens > 0 and len(full) >= engine.n_ctx):
        raise ContextLengthError(
            f"{engine.model_id}: the prompt has {len(full)} tokens"
            f" but the context holds {engine.n_ctx}",
            hint="shorten the prompt",
        )
    budget = min(params.max_tokens, engine.n_ctx - len(full))
    one_greedy = budget == 1 and params.greedy
    ids: list[int] = []
    reason = "length"
    if budget > 0 and not one_greedy:
        ids, reason = engine.generate_ids(
            full, params, budget, lambda out: cut_at_stop(engine.decode(out), params.stop)[1]
        )
    rows: list[RowKept] = []
    if one_greedy or (top_n is not None and len(full) + len(ids) > 1):
        upto = len(full) if one_greedy else len(full) + len(ids) - 1
        rows = _rows(engine, full + ids, upto, top_n or 0)
    if one_greedy:
        ids = [rows[-1].top[0][0]]
        reason = "stop" if engine.is_eog(ids[0]) else "length"
    # an end-of-generation id stays in the ids (its log-prob is reported, as vLLM does:
    # lm-evaluation-harness drops the last reported token) but adds no text
    eog = ids[-1:] if ids and engine.is_eog(ids[-1]) else []
    text, cut = cut_at_stop(engine.decode(ids[: len(ids) - len(eog)]), params.stop)
    if cut:
        reason = "stop"
        ids = _ids_within(engine, ids, len(text))
    logprobs = None
    if top_n is not None:
        shown = list(range(len(lead), len(full))) if echo else []
        shown += range(len(full), len(full) + len(ids))
        logprobs = _report(engine, full + ids, rows, shown, top_n, len(lead))
    return TokenCompletion(len(full), ids, text, reason, logprobs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RowKept:
    """What a scoring call keeps of one log-softmax row. A whole row is n_vocab float64s:
    kept for each of 1,950 prompt tokens they took 1 GB (gemma's vocabulary: 5 GB), and a
    second prompt in the same request a 500 (fifteenth probe)."""

    next_token: int  # the token that follows in the sequence scored
    next_logprob: float
    top: tuple[tuple[int, float], ...]  # the likeliest tokens and their log-probs, best first

    def logprob(self, token: int) -> float:
        if token == self.next_token:
            return self.next_logprob
        kept = next((lp for t, lp in self.top if t == token), None)  # a greedy pick: the best
        if kept is None:
            raise ValueError(f"the log-prob of token {token} was not kept")
        return kept


def _keeper(whole: Sequence[int], top_n: int) -> Callable[[int, np.ndarray], RowKept]:
    """Keep of the row at each position the log-prob of the next token and the top
    max(top_n, 1) (the top one is the greedy answer)."""

    def keep(pos: int, row: np.ndarray) -> RowKept:
        n = min(max(top_n, 1), row.size)
        best = np.argpartition(row, -n)[-n:]  # a full sort of the vocabulary per row is slow
        best = best[np.argsort(row[best])[::-1]]
        nxt = int(whole[pos + 1]) if pos + 1 < len(whole) else -1
        return RowKept(
            nxt,
            float(row[nxt]) if nxt >= 0 else float("nan"),
            tuple((int(b), float(row[b])) for b in best),
        )

    return keep


def _rows(engine: LlamaCppEngine, seq: list[int], upto: int, top_n: int) -> list[RowKept]:
    """Rows 0..upto-1 of seq (row p predicts seq[p + 1]; row len(seq) - 1 the next token).

    A row depends only on the tokens up to it, so the rows of the prefix this shares with
    the last call are reused and only the rest is decoded, on the KV cache the scorer kept:
    lm-evaluation-harness sends each option of a question as its own request. A kept row
    holds the log-prob of the token that followed it then, so the last shared row, whose
    next token may differ now, is decoded again."""
    held_ids, held_rows, held_n = getattr(engine, "_held_rows", ([], [], -1))
    shared = common_prefix(held_ids, seq) if held_n == top_n else 0
    k = max(min(shared - 1, len(held_rows), upto), 0)
    rows = list(held_rows[:k])
    if upto > k:
        whole = [*seq, 0][: upto + 1]  # 0: the last row's placeholder
        rows += engine.prefix_rows(whole, k + 1, keep_row=_keeper(whole, top_n))
    engine._held_rows = (seq[:upto], rows, top_n)  # type: ignore[attr-defined]
    return rows


def _ids_within(engine: LlamaCppEngine, ids: list[int], n_chars: int) -> list[int]:
    """The generated ids that begin before a stop string cut the text at n_chars."""
    starts = _char_offsets([engine.piece(t) for t in ids])
    return [t for t, at in zip(ids, starts, strict=True) if at < n_chars]


def _report(
    engine: LlamaCppEngine,
    seq: list[int],
    rows: list[RowKept],
    shown: list[int],
    top_n: int,
    first: int,
) -> TokenLogprobs:
    """Log-probs of seq[p] for p in shown, offsets over the text of seq[first:]."""
    pieces = [engine.piece(t) for t in seq[first:]]
    offsets = _char_offsets(pieces)
    out = TokenLogprobs()
    for p in shown:
        out.tokens.append(pieces[p - first].decode("utf-8", "replace"))
        out.text_offset.append(offsets[p - first])
        if p == 0:  # no context at all: no distribution, as in OpenAI's API
            out.token_logprobs.append(None)
            out.top_logprobs.append(None)
            continue
        row = rows[p - 1]
        out.token_logprobs.append(row.logprob(seq[p]))
        out.top_logprobs.append(_top(engine, row, top_n) if top_n > 0 else None)
    return out


def _top(engine: LlamaCppEngine, row: RowKept, n: int) -> dict[str, float]:
    """The n most likely tokens, by their text."""
    return {engine.piece(t).decode("utf-8", "replace"): lp for t, lp in row.top[:n]}
