"""The tokenizer half of the llama.cpp engine: text to token ids and back, the chat prompt
from the file's template, special tokens, and what `/tokenizer_info` tells.

A mixin of LlamaCppEngine (llamacpp.py), which opens the model these methods read: its
`llm` (llama_cpp.Llama), `_lib` (the llama_cpp module), `header` (the checked GGUF header),
`_child_vocab` (the tokenizer of a file openscout cannot vouch for, run in a child) and
`_spellings` (control-token spellings, read on first use).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from openscout.engines.base import Message, SamplingParams
from openscout.engines.chat_template import render_chat
from openscout.engines.gguf import GGUFHeader
from openscout.engines.plain_spellings import ControlSpellings, plain_chat_ids
from openscout.engines.thinking import prompt_opens_thinking
from openscout.engines.tokenizer_child import ChildTokenizer

THINK_TAIL_TOKENS = 16  # enough for `<think>` spelt in plain tokens, and the lines after it


class LlamaTokens:
    llm: Any
    _lib: Any
    header: GGUFHeader
    _child_vocab: ChildTokenizer | None
    _spellings: ControlSpellings | None
    bos_text: str
    eos_text: str

    def _token_text(self, tok: int) -> str:
        if not 0 <= tok < self.n_vocab:  # llama_token_to_piece does not check: it aborts
            return ""
        return self.llm.detokenize([tok], special=True).decode("utf-8", "replace")

    @property
    def n_ctx(self) -> int:
        return int(self.llm.n_ctx())

    def render(self, messages: Sequence[Message]) -> str:
        text = render_chat(self.header.chat_template, messages, self.bos_text, self.eos_text)
        # Only a tokenizer that adds BOS itself would get it twice from a template that writes
        # it. SmolLM2's BOS is <|im_start|>, not added: stripping it cut every chat prompt's
        # first token.
        if self.adds_bos and self.bos_text and text.startswith(self.bos_text):
            text = text[len(self.bos_text) :]
        return text

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return self._tokens(text, add_bos=True, special=special)

    def _tokens(self, text: str, add_bos: bool, special: bool) -> list[int]:
        if self._child_vocab is not None:
            return self._child_vocab.tokenize(text, add_bos, special)
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    # -- token ids (the TokenIdEngine path: llamacpp_logprobs.py) ---------------------------

    def encode(
        self, text: str, add_special: bool = False, parse_special: bool = False
    ) -> list[int]:
        """Token ids of text: a BOS only when asked and the model uses one; special-token
        text (`<|im_end|>`) read as those tokens only with parse_special."""
        return self._tokens(text, add_bos=add_special, special=parse_special)

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.piece(t) for t in ids).decode("utf-8", "replace")

    def piece(self, tok: int) -> bytes:
        """One token's bytes as the model writes them: no leading space stripped, special
        tokens as their text (llama-cpp-python's own helper returns a padded buffer)."""
        import ctypes

        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._lib.llama_token_to_piece(self.llm._model.vocab, tok, buf, size, 0, True)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    @property
    def n_vocab(self) -> int:
        return int(self.llm.n_vocab())

    @property
    def adds_bos(self) -> bool:
        return bool(self.llm.tokenize(b"", add_bos=True))

    def opens_thinking(self, prompt: Sequence[int]) -> bool:
        """Whether the prompt ends in an opened `<think>` (engines/thinking.py): its last
        tokens' text, special tokens written out."""
        return prompt_opens_thinking(self.decode(prompt[-THINK_TAIL_TOKENS:]))

    def is_eog(self, tok: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self.llm._model.vocab, tok))

    def tokenizer_info(self) -> dict[str, object]:
        """What vLLM's /tokenizer_info tells: special tokens, chat template, context length."""
        # llama.cpp's own pad id, checked against the vocabulary: the file's metadata said
        # 1,000,000 and `GET /tokenizer_info` aborted `serve` (twenty-sixth probe)
        pad = self._lib.llama_vocab_pad(self.llm._model.vocab)
        return {
            "tokenizer_class": "GGUF (llama.cpp)",
            "bos_token": self.bos_text or None,
            "eos_token": self.eos_text or None,
            "pad_token": self._token_text(pad) or None,
            "add_bos_token": self.adds_bos,
            "chat_template": self.header.chat_template,
            "model_max_length": self.n_ctx,
            "vocab_size": self.n_vocab,
        }

    def chat_tokens(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> tuple[list[int], tuple[str, ...]]:
        """A chat's prompt tokens and its stop strings (the end-of-turn text too)."""
        stop = tuple(params.stop) + ((self.eos_text,) if self.eos_text else ())
        return self.chat_ids(messages), stop

    def chat_ids(self, messages: Sequence[Message]) -> list[int]:
        """The template's control tokens as tokens; the messages' text as plain characters,
        also where it spells a control token (plain_spellings.py)."""
        if self._spellings is None:  # read on first use: 0.2 s for Gemma 3's vocabulary
            self._spellings = ControlSpellings(
                self._lib, self.llm._model.vocab, partial(self._tokens, add_bos=False, special=True)
            )
        return plain_chat_ids(messages, self._spellings, self.render, self._tokens)
