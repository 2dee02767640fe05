"""Several sequences in one llama.cpp batch: the road to fast evaluations (issue 8).

Another llama_context on the already-loaded model, with n_seq_max > 1 and the same settings
as the main one (so scores agree):
- `score_choices` (unified KV cache, so sequences can share cells): the context of a
  multiple-choice item is decoded once (sequence 0, and
  reused from the previous item when it shares a prefix, e.g. five-shot examples); each option
  then gets its own sequence that starts as a copy of sequence 0, and all options' tokens are
  decoded together in one batch.
- `generate_many` (split KV cache: each lane its own cells): continuous batching, several
  prompts advance together, one token per sequence per decode; the prompts' common prefix
  is decoded once into the last sequence and copied into each lane.
Sampling here is done on the logits in numpy (greedy, or temperature/top-p with a seeded RNG).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openscout.engines.base import Final, SamplingParams
from openscout.engines.cpu_threads import ContextThreads, ThreadChooser
from openscout.engines.llamacpp_batch import BatchDecoder, common_prefix
from openscout.engines.stops import cut_at_stop
from openscout.errors import EngineError

# Sharing a prefix costs a whole-stream KV copy per admitted prompt (24 MB for SmolLM2-135M's
# 1024-cell lane) whatever the prefix length; below this many tokens decoding them is cheaper.
MIN_SHARED_PREFIX = 8


@dataclass
class SeqState:
    """One prompt being generated in a batch."""

    prompt: list[int]
    stop: tuple[str, ...]
    budget: int
    out: list[int] = field(default_factory=list)
    text: str = ""
    done: bool = False
    reason: str = "length"
    t_first: float | None = None
    decoder: Any = None


@dataclass
class BatchGeneration:
    text: str
    final: Final
    ttft_s: float | None


class MultiSeqContext:
    def __init__(
        self,
        llm: Any,
        llama_cpp: Any,
        n_ctx: int,
        n_seq: int = 8,
        n_batch: int = 512,
        unified: bool = True,
        threads: ThreadChooser | None = None,
    ) -> None:
        from llama_cpp import _internals

        # Same settings as the main context (attention kernel, KV types), so scores agree.
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = n_seq
        # Unified: sequences copied from sequence 0 share its cells (choice scoring). Split:
        # each sequence attends only its own n_ctx / n_seq cells (faster for generation).
        params.kv_unified = unified
        self._owner = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._lib = llama_cpp
        self.ctx = self._owner.ctx
        adapter = getattr(llm, "_lora_adapter", None)
        if adapter is not None:  # a LoRA (openscout tune) acts on every context of the model
            import ctypes

            one = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
            scale = (ctypes.c_float * 1)(llm.lora_scale)
            if llama_cpp.llama_set_adapters_lora(self.ctx, one, 1, scale):
                raise EngineError("llama.cpp could not apply the LoRA adapter to a context")
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        if n_seq < 2:
            raise ValueError("parallel sequences need n_seq >= 2")
        self.n_seq = n_seq
        self.n_ctx = n_ctx
        self.unified = unified
        self.per_seq = n_ctx if unified else n_ctx // n_seq
        self.vocab = llm._model.vocab
        self.llm = llm
        self.decoder = BatchDecoder(
            llama_cpp,
            self.ctx,
            n_batch,
            llm.n_vocab(),
            n_seq_max=n_seq,
            threads=ContextThreads(threads, llama_cpp, self.ctx) if threads else None,
        )
        self._prefix: list[int] = []  # tokens held in sequence 0 (choice scoring)
        self._gen_prefix: list[int] = []  # tokens held in the last sequence (generation)

    # -- multiple choice ---------------------------------------------------------------------

    def score_choices(self, ctx: list[int], conts: Sequence[list[int]]) -> list[tuple[float, bool]]:
        """(sum log-prob, is_greedy) of each continuation after the shared context tokens."""
        if len(ctx) + max(len(c) for c in conts) > self.n_ctx:
            raise EngineError("item longer than the scoring context")
        keep = max(min(common_prefix(self._prefix, ctx), len(ctx) - 1), 0)
        self._lib.llama_memory_seq_rm(self.mem, 0, keep, -1)
        rows = [(0, p, ctx[p], p == len(ctx) - 1) for p in range(keep, len(ctx))]
        try:
            (last_row,) = self.decoder.decode(rows)
        except BaseException:  # a failed decode, or a caller that left between its chunks
            self._reset()
            raise
        self._prefix = list(ctx)
        results: list[tuple[float, bool]] = [(0.0, True)] * len(conts)
        lanes = self.n_seq - 1
        for start in range(0, len(conts), lanes):
            group = list(enumerate(conts))[start : start + lanes]
            results_group = self._score_group(ctx, group, last_row)
            for idx, r in results_group:
                results[idx] = r
        return results

    def _score_group(
        self, ctx: list[int], group: list[tuple[int, list[int]]], last_row: np.ndarray
    ) -> list[tuple[int, tuple[float, bool]]]:
        rows = []
        for lane, (_, cont) in enumerate(group, start=1):
            self._lib.llama_memory_seq_rm(self.mem, lane, -1, -1)
            self._lib.llama_memory_seq_cp(self.mem, 0, lane, -1, -1)
            rows += [(lane, len(ctx) + i, tok, True) for i, tok in enumerate(cont[:-1])]
        try:
            out = self.decoder.decode(rows)
        finally:
            for lane in range(1, len(group) + 1):
                self._lib.llama_memory_seq_rm(self.mem, lane, -1, -1)
        results, k = [], 0
        for idx, cont in group:
            dist = [last_row, *out[k : k + len(cont) - 1]]
            k += len(cont) - 1
            total = sum(float(d[t]) for d, t in zip(dist, cont, strict=True))
            greedy = all(int(d.argmax()) == t for d, t in zip(dist, cont, strict=True))
            results.append((idx, (total, greedy)))
        return results

    def _reset(self) -> None:
        self._lib.llama_memory_clear(self.mem, True)
        self._prefix = []
        self._gen_prefix = []

    # -- generation ------------------------------------------------------------------------

    def generate_many(
        self, prompts: Sequence[list[int]], params: SamplingParams, stops: Sequence[tuple[str, ...]]
    ) -> list[BatchGeneration]:
        """Continuous batching: up to n_seq - 1 prompts advance together, one token each per
        decode; when one finishes, the next prompt takes its lane in the same decode (its
        prompt rows ride along with the others' next tokens), so no lane idles. The prompts'
        common prefix (a chat template's system prompt) is decoded once, into the last
        sequence, and copied into each lane instead of being decoded again."""
        if any(len(x) + params.max_tokens > self.per_seq for x in prompts):
            raise EngineError("a prompt plus max_tokens exceeds a batch lane's context")
        t0 = time.perf_counter()  # time to first token includes decoding the shared prefix
        lanes = self.n_seq - 1
        for lane in range(lanes):
            self._lib.llama_memory_seq_rm(self.mem, lane, -1, -1)
        try:
            shared = self._share_prefix(prompts)
            return self._generate(prompts, params, stops, lanes, shared, t0)
        except BaseException:
            self._reset()  # a failed decode leaves the cache in an unknown state
            raise
        finally:
            for lane in range(lanes):
                self._lib.llama_memory_seq_rm(self.mem, lane, -1, -1)

    def _share_prefix(self, prompts: Sequence[list[int]]) -> int:
        """Hold the prompts' common prefix in the prefix sequence (kept between calls while
        it still fits); return its length, 0 when too short to be worth a copy."""
        if len(prompts) < 2:
            return 0
        n = min(len(x) for x in prompts) - 1  # every lane decodes at least its last token
        for x in prompts[1:]:
            n = min(n, common_prefix(prompts[0], x))
        if n < MIN_SHARED_PREFIX:
            return 0
        prefix = list(prompts[0][:n])
        if self._gen_prefix != prefix:
            seq = self.n_seq - 1
            self._lib.llama_memory_seq_rm(self.mem, seq, -1, -1)
            self._gen_prefix = []
            self.decoder.decode([(seq, pos, tok, False) for pos, tok in enumerate(prefix)])
            self._gen_prefix = prefix
        return n

    def _generate(
        self,
        prompts: Sequence[list[int]],
        params: SamplingParams,
        stops: Sequence[tuple[str, ...]],
        lanes: int,
        shared: int,
        t0: float,
    ) -> list[BatchGeneration]:
        rng = np.random.default_rng(params.seed)
        states = [
            SeqState(
                list(x),
                tuple(s),
                params.max_tokens,
                decoder=codecs.getincrementaldecoder("utf-8")(errors="replace"),
            )
            for x, s in zip(prompts, stops, strict=True)
        ]
        waiting = list(range(len(states)))[::-1]
        free = set(range(lanes))
        lane_of: dict[int, int] = {}
        # (lane, position, token, owner): owner is the state whose next token this row
        # yields, or None for prompt rows that only fill the cache.
        rows: list[tuple[int, int, int, int | None]] = []

        def admit() -> None:
            while free and waiting:
                lane, i = min(free), waiting.pop()
                free.discard(lane)
                lane_of[i] = lane
                self._lib.llama_memory_seq_rm(self.mem, lane, -1, -1)
                if shared:  # llama.cpp copies the prefix cells before the next decode
                    self._lib.llama_memory_seq_cp(self.mem, self.n_seq - 1, lane, -1, -1)
                prompt = states[i].prompt
                last = len(prompt) - 1
                rows.extend(
                    (lane, pos, prompt[pos], i if pos == last else None)
                    for pos in range(shared, len(prompt))
                )

        admit()
        while rows:
            # With a split KV cache llama.cpp puts only runs of consecutive sequence ids in
            # one micro-batch, so rows out of lane order cost several graph passes per step.
            rows.sort(key=lambda r: (r[0], r[1]))
            dists = self.decoder.decode(
                [(lane, pos, tok, owner is not None) for lane, pos, tok, owner in rows], raw=True
            )
            current = [owner for *_, owner in rows if owner is not None]
            rows.clear()
            for i, dist in zip(current, dists, strict=True):
                st = states[i]
                tok = sample(dist, params, rng)
                self.accept(st, tok)
                if st.done:
                    self._lib.llama_memory_seq_rm(self.mem, lane_of[i], -1, -1)
                    free.add(lane_of[i])
                else:
                    rows.append((lane_of[i], len(st.prompt) + len(st.out) - 1, tok, i))
            admit()
        return [
            BatchGeneration(
                st.text,
                Final(len(st.prompt), len(st.out), st.reason),  # type: ignore[arg-type]
                (st.t_first - t0) if st.t_first else None,
            )
            for st in states
        ]

    def accept(self, st: SeqState, tok: int) -> None:
        """Take a sampled token into a sequence: text, stop strings, budget."""
        now = time.perf_counter()
        if self._lib.llama_vocab_is_eog(self.vocab, tok):
            st.done, st.reason = True, "stop"
            return
        st.out.append(tok)
        st.t_first = st.t_first or now
        st.text += st.decoder.decode(self.llm.detokenize([tok]))
        st.text, hit = cut_at_stop(st.text, st.stop)
        if hit:
            st.done, st.reason = True, "stop"
        elif len(st.out) >= st.budget:
            st.done = True

    def close(self) -> None:
        self.decoder.close()
        self._owner.close()


def sample(logits: np.ndarray, p: SamplingParams, rng: np.random.Generator) -> int:
    """One token from raw logits: greedy at temperature 0, else temperature and top-p."""
    if not np.isfinite(logits).all():  # argmax would pick the first NaN; choice() raises
        raise EngineError(
            "the model computed scores that are not numbers (NaN or infinite)",
            hint="the model file or its adapter is broken for this input",
        )
    if p.temperature <= 0.0:
        return int(logits.argmax())
    z = logits.astype(np.float64) / p.temperature
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    if p.top_p < 1.0:
        order = np.argsort(-probs)
        cum = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cum, p.top_p)) + 1]
        mask = np.zeros_like(probs)
        mask[keep] = probs[keep]
        probs = mask / mask.sum()
    return int(rng.choice(len(probs), p=probs))
