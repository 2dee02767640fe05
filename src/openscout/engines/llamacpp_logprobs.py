"""Per-token log-probabilities of a text under a llama.cpp model, for `/v1/completions` with
`echo` and `logprobs`.

The log-prob of token i comes from the distribution computed after tokens 0..i-1 (row i-1 of
the decoded batch), never from row i: llama-cpp-python's own server is off by one here, and
lm-evaluation-harness's API backends rely on it being right. The first token of the text is
scored against the BOS token when the model has one; without BOS it has no context and gets None,
as in OpenAI's API.
"""

from __future__ import annotations

import numpy as np

from openscout.engines.base import TokenLogprobs
from openscout.engines.llamacpp import LlamaCppEngine
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
    rows_out = engine.next_token_rows(toks) if len(toks) > 1 else []
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
        out.token_logprobs.append(float(row[tok]))
        if top_n > 0:
            best = np.argsort(row)[::-1][:top_n]
            out.top_logprobs.append(
                {
                    engine.llm.detokenize([int(b)]).decode("utf-8", "replace"): float(row[b])
                    for b in best
                }
            )
        else:
            out.top_logprobs.append(None)
    return out
