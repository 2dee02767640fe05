"""Answer tokens in one tokenizer for every model: what the recommendation's axes count.

A remote server's `completion_tokens` is its word, believed up to one a byte: claiming 64
for twenty words made the same stream in the same time 3.3 times faster and cheaper, and
recommended (42nd probe). Counted by one tokenizer over the text that arrived, as llmperf
counts every endpoint with one tokenizer, the figure is the same for the same text, whoever
sends it, and models with different tokenizers are measured in one unit. The tokenizer is
the embedded SmolLM2's (its vocabulary alone is loaded, in milliseconds).
"""

from __future__ import annotations

import atexit
import math
import threading
from typing import Any

_lock = threading.Lock()
_vocab: list[Any] = []  # the loaded vocabulary, once per process; [None] when unavailable


def _tokenizer() -> Any:
    if not _vocab:
        try:
            import llama_cpp

            from openscout.engines.bundled import smollm2_path
            from openscout.engines.llama_log import quiet_llama

            quiet_llama(llama_cpp)
            path = str(smollm2_path())
            vocab = llama_cpp.Llama(path, vocab_only=True, verbose=False)
            atexit.register(vocab.close)  # while llama_cpp can still free it
            _vocab.append(vocab)
        except Exception:
            _vocab.append(None)
    return _vocab[0]


def load() -> None:
    """Load the vocabulary now: a memory measurement that starts after this does not charge
    its 29 MB to the first model measured (the first of two identical models was "24%
    bigger", and the order of `-m` decided between them: 47th probe)."""
    with _lock:
        _tokenizer()


def count(text: str) -> int | None:
    """Tokens of `text` in the reference tokenizer; None where it is not installed."""
    with _lock:
        vocab = _tokenizer()
        if vocab is None:
            return None
        if not text:
            return 0
        return len(vocab.tokenize(text.encode("utf-8", "replace"), add_bos=False, special=False))


# Reference tokens counted for an answer, at most, for each token asked. A server sending its
# max_tokens deltas and then a burst of text (within the engines' 64 characters a token)
# counted whole was 13 times faster and cheaper, and recommended; held to 1.5 a token, the
# padding still won the whole speed and cost axes, which are scaled between the models
# compared (45th probe). At one, an answer that reached max_tokens counts as much as any
# other: a model whose tokenizer writes more text a token than SmolLM2's gets no credit
# for it at the limit, the price of a count no server can raise. Thinking counts: max_tokens
# covers it too.
MOST_A_TOKEN_ASKED = 1.0


def count_answer(text: str, max_tokens: int) -> int | None:
    """`count(text)`, held to what `max_tokens` can have produced."""
    n = count(text)
    return None if n is None else min(n, math.ceil(MOST_A_TOKEN_ASKED * max_tokens))
