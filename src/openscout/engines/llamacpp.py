"""GGUF models through llama-cpp-python: the default engine.

- The GGUF header is validated by our own reader before llama.cpp sees the file.
- Chat prompts are rendered from the file's chat template in a sandbox (chat_template.py).
- Generation runs our own token loop over `Llama.generate`, so we count tokens exactly,
  decode UTF-8 incrementally and hold back text that may be the start of a stop string.
- `loglikelihood` decodes with low-level batches (llamacpp_batch.py) and reuses the KV cache
  for the prefix it shares with the previous request (few-shot prompts pay prefill once).
One model instance serves one request at a time (a lock); callers queue on it.
"""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from openscout.engines.base import (
    BatchRequest,
    BatchResult,
    Capabilities,
    Chunk,
    Engine,
    Final,
    LoglikelihoodResult,
    Message,
    SamplingParams,
    StreamEvent,
    TokenCompletion,
    TokenLogprobs,
    collect,
)
from openscout.engines.cancel import check_stop
from openscout.engines.chat_template import template_free
from openscout.engines.cpu_threads import ContextThreads, ThreadChooser, process_chooser
from openscout.engines.gguf import GGUFHeader, read_header
from openscout.engines.llamacpp_batch import BatchDecoder, common_prefix
from openscout.engines.llamacpp_tokens import LlamaTokens
from openscout.engines.load_check import check_loadable, trusted
from openscout.engines.lora_check import check_adapter
from openscout.engines.pinned import PinnedFile
from openscout.engines.plain_spellings import ControlSpellings
from openscout.engines.stops import cut_at_stop, safe_prefix
from openscout.engines.tokenizer_child import ChildTokenizer
from openscout.errors import ContextLengthError, EngineError, ModelFileError

GEN_CTX_PER_SEQ = 1024  # KV cells per lane of batched generation (prompt + answer)


@contextmanager
def one_at_a_time(lock: threading.Lock, threads: ThreadChooser) -> Iterator[None]:
    """One request at a time on a model, counted as work in the process's thread budget."""
    with lock, threads.working():
        yield


class LlamaCppEngine(LlamaTokens):
    def __init__(
        self,
        model_id: str,
        path: str | Path,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_batch: int = 512,
        prompt_format: str = "chat",
        seed: int = 0,
        batch_lanes: int = 8,
        lora_path: str | Path | None = None,
    ) -> None:
        import llama_cpp

        from openscout.engines.llama_log import quiet_llama

        quiet_llama(llama_cpp)  # its log lines only with --verbose
        self.model_id = model_id
        self.path = Path(path)
        # opened once: the checks, the tokenizer's child and llama.cpp all read this very file,
        # whatever later happens to its name (pinned.py)
        self._file = PinnedFile(self.path)
        self.prompt_format = prompt_format
        # n_threads fixes the count; None follows the cores other processes leave free
        self.threads = ThreadChooser(n_threads) if n_threads else process_chooser()
        try:
            with PinnedFile(lora_path) if lora_path else nullcontext() as lora:
                self.llm = self._open(llama_cpp, lora, n_ctx=n_ctx, n_batch=n_batch, seed=seed)
        except BaseException:
            self._file.close()
            raise
        self._lib = llama_cpp
        self._lock = threading.Lock()
        self._main_threads = ContextThreads(self.threads, llama_cpp, self.llm._ctx.ctx)
        # the context's own batch (llama_cpp takes at most n_ctx): llama.cpp aborts the
        # process on a decode of more rows than it
        self._scorer = BatchDecoder(
            llama_cpp, self.llm._ctx.ctx, self.llm.n_batch, self.llm.n_vocab(),
            threads=self._main_threads,
        )  # fmt: skip
        self._scored: list[int] = []  # tokens now in the KV cache from the last scoring call
        self._spellings: ControlSpellings | None = None
        self._multi: Any = None  # a second context for parallel sequences, made on first use
        self._gen: Any = None  # a third, for batched generation (split KV cache)
        self._lanes: Any = None  # a fourth, serving concurrent requests (LaneServer)
        self.batch_lanes = batch_lanes
        self.reuse_prefix = True  # benchmarks turn it off to measure what it saves
        self.bos_text = self._token_text(self.llm.token_bos())
        self.eos_text = self._token_text(self.llm.token_eos())
        self.capabilities = Capabilities(
            chat=True,
            completion=True,
            loglikelihood=True,
            chat_template=self.header.chat_template is not None,
            max_parallel=1,
            batch_lanes=batch_lanes,
        )

    def _open(self, llama_cpp: Any, lora: PinnedFile | None, **params: Any) -> Any:
        model = self._file
        self.header: GGUFHeader = read_header(self.path, via=model.opened)  # bad files first
        self.header.check_context(self.model_id, params["n_ctx"])
        model.seal(self.header.data_offset)  # the bytes llama.cpp parses, as checked
        if lora:  # a bad adapter crashed llama.cpp, and `serve` with it
            check_adapter(lora.path, self.header, via=lora.opened)
            lora.seal(lora.version[2])  # an adapter is small: all of it
        # llama.cpp aborts the process on some header values: a child opens the file first
        check_loadable(model, lora)
        # and a file openscout cannot vouch for tokenizes in a child (tokenizer_child.py)
        self._child_vocab = None if trusted(model) else ChildTokenizer(model)
        self._unchanged(model, lora)  # llama.cpp parses the header now: it must be the checked one
        try:
            llm = template_free(llama_cpp.Llama)(  # llama_cpp would compile templates
                model_path=model.opened,
                n_threads=self.threads.current,
                n_threads_batch=self.threads.current,
                verbose=False,
                logits_all=False,
                # a LoRA adapter (openscout tune) on the base; llamacpp_multi applies it to
                # the engine's other contexts too
                lora_path=lora.opened if lora else None,
                **params,
            )
        except (ValueError, RuntimeError, OSError) as e:
            said = str(e).replace(model.opened, self.path.name)
            raise ModelFileError(f"llama.cpp could not load {self.path.name}: {said}") from e
        try:
            self._unchanged(model, lora)  # and the weights it mapped were not being written
        except ModelFileError:
            llm.close()
            raise
        return llm

    def _unchanged(self, model: PinnedFile, lora: PinnedFile | None) -> None:
        """The file (and adapter) as checked: one written in place during the check reached
        llama.cpp's parser unchecked and aborted the process (twenty-third probe)."""
        if model.changed() or (lora is not None and lora.changed()):
            raise ModelFileError(
                f"{self.path.name} changed while it was being opened",
                hint="wait until the file is written whole, then use it again",
            )

    def _exclusive(self) -> AbstractContextManager[None]:
        return one_at_a_time(self._lock, self.threads)

    # -- generation ------------------------------------------------------------------------

    def complete_tokens(
        self, prompt: Sequence[int], params: SamplingParams, top_n: int | None, echo: bool
    ) -> TokenCompletion:
        """Generate after token ids, with log-probs of the ids themselves (llamacpp_logprobs)."""
        from openscout.engines.llamacpp_logprobs import complete_tokens

        return complete_tokens(self, prompt, params, top_n, echo)

    def generate_ids(
        self, tokens: list[int], params: SamplingParams, budget: int, stop_at: Any
    ) -> tuple[list[int], str]:
        """Sample up to `budget` (>= 1) ids after `tokens`; ends at an end-of-generation token
        (the last id then) or when stop_at(ids so far) is true. Returns ids and finish reason."""
        out: list[int] = []
        reason = "length"
        with self._exclusive():
            self._scored = []
            if params.seed is not None:  # as _generate: a seeded request starts cold
                self.llm.n_tokens = 0
                self.llm.set_seed(params.seed)
            gen = self._sampled(tokens, params)
            try:
                for tok in gen:  # _sampled stops for a caller that hung up
                    out.append(tok)
                    if self.is_eog(tok):  # kept: clients read its log-prob (the text has none)
                        reason = "stop"
                        break
                    if stop_at(out):
                        reason = "stop"
                        break
                    if len(out) >= budget:
                        break
            finally:
                gen.close()
        return out, reason

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]:
        tokens, stop = self.chat_tokens(messages, params)
        return self._generate(tokens, params, stop)

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        return self._generate(self.tokenize(prompt), params, tuple(params.stop))

    def _generate(
        self, tokens: list[int], params: SamplingParams, stop: tuple[str, ...]
    ) -> Iterator[StreamEvent]:
        if len(tokens) >= self.n_ctx:
            raise ContextLengthError(
                f"{self.model_id}: the prompt has {len(tokens)} tokens but the context holds {self.n_ctx}",
                hint="shorten the prompt or register the model with a larger --n-ctx",
            )
        budget = min(params.max_tokens, self.n_ctx - len(tokens))
        with self._exclusive():
            self._scored = []  # generation reuses the KV cache its own way
            # A prompt decoded as one batch and the same prompt taken from the KV cache (its
            # last token decoded alone) differ in the last float bits, enough to flip a greedy
            # near tie: the same request gave two answers. Every generation starts cold.
            self.llm.n_tokens = 0
            if params.seed is not None:
                self.llm.set_seed(params.seed)
            yield from self._token_loop(tokens, params, stop, budget)

    def _sampled(self, tokens: list[int], p: SamplingParams) -> Iterator[int]:
        """llama.cpp's sampler after `tokens` with the request's settings, one id at a time.
        A caller that hangs up (cancel.check_stop) gets no more decodes, in the prompt too."""
        self._prefill(tokens)
        gen = self.llm.generate(
            tokens,
            temp=p.temperature,
            top_p=p.top_p,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        self._main_threads.sync()
        try:
            for tok in gen:
                check_stop()
                self._main_threads.sync()  # for the next token; the load may have changed
                yield int(tok)
        finally:
            gen.close()

    def _prefill(self, tokens: list[int]) -> None:
        """Decode the prompt but its last n_batch chunk, chunk by chunk, reading the stop check
        between chunks; `Llama.generate` then finds them cached and decodes the last chunk. A
        client that hung up during a long prompt held the model until all of it was decoded,
        117 s for 5,000 tokens (41st probe). The chunks are those `Llama.eval` would decode,
        from the prefix it would reuse, so the numbers, and the answers, are unchanged."""
        llm, n = self.llm, self.llm.n_batch
        start = common_prefix(llm._input_ids, tokens) if llm.n_tokens else 0
        start = min(start, len(tokens) - 1)  # generate decodes a cached prompt's last token
        if len(tokens) - start <= n:
            check_stop()
            return
        llm.n_tokens = start
        while len(tokens) - start > n:
            check_stop()
            self._main_threads.sync()
            llm.eval(tokens[start : start + n])  # moves n_tokens on
            start += n
        check_stop()

    def _token_loop(
        self, tokens: list[int], p: SamplingParams, stop: tuple[str, ...], budget: int
    ) -> Iterator[StreamEvent]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        eog = self._lib.llama_vocab_is_eog
        vocab = self.llm._model.vocab
        pending = ""  # text held back because it may begin a stop string
        n_out, reason = 0, "length"
        gen = self._sampled(tokens, p)
        try:
            for tok in gen:
                if eog(vocab, tok):
                    reason = "stop"
                    break
                n_out += 1
                pending += decoder.decode(self.llm.detokenize([tok]))
                text, hit = cut_at_stop(pending, stop)
                if hit:
                    if text:
                        yield Chunk(text, time.perf_counter())
                    pending, reason = "", "stop"
                    break
                safe = safe_prefix(text, stop)
                if safe:
                    yield Chunk(safe, time.perf_counter())
                    pending = text[len(safe) :]
                if n_out >= budget:
                    break
        finally:
            gen.close()
        if pending:
            yield Chunk(pending, time.perf_counter())
        yield Final(len(tokens), n_out, reason, thinking_open=self.opens_thinking(tokens))  # type: ignore[arg-type]

    # -- scoring ---------------------------------------------------------------------------

    def split_tokens(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Tokenize as lm-evaluation-harness does: encode the whole, cut at the context length."""
        if context and context[-1].isspace() and not continuation[:1].isspace():
            n = len(context) - len(context.rstrip())
            context, continuation = context[:-n], context[-n:] + continuation
        whole = self.tokenize(context + continuation)
        n_ctx_toks = len(self.tokenize(context))
        ctx, cont = whole[:n_ctx_toks], whole[n_ctx_toks:]
        if not cont:
            raise EngineError("the continuation is empty after tokenization")
        if not ctx:
            # nothing predicts the first token of a model that adds no BOS (SmolLM2): the
            # harness conditions on its prefix token, the BOS or else the end of text. An
            # empty question crashed scoring, and the adapter's rolling log-likelihood
            # failed on every text (37th probe)
            bos = self.llm.token_bos()
            ctx = [bos if 0 <= bos < self.n_vocab else self.llm.token_eos()]
        return ctx, cont

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult:
        ctx, cont = self.split_tokens(context, continuation)
        if len(cont) >= self.n_ctx:
            raise ContextLengthError(
                f"{self.model_id}: the continuation alone exceeds the {self.n_ctx}-token context"
            )
        whole = (ctx + cont)[-self.n_ctx :]  # left-truncate what does not fit
        first = len(whole) - len(cont)  # index of the first continuation token
        with self._exclusive():
            rows = self._score_rows(whole, first)
        total, greedy = 0.0, True
        for row, tok in zip(rows, cont, strict=True):
            total += float(row[tok])
            greedy = greedy and int(row.argmax()) == tok
        return LoglikelihoodResult(total, greedy, len(cont))

    def _score_rows(
        self, whole: list[int], first: int, keep_row: Callable[[int, Any], Any] | None = None
    ) -> list[Any]:
        """Log-prob rows predicting whole[first:], reusing the cached prefix when possible."""
        reused = common_prefix(self._scored, whole) if self.reuse_prefix else 0
        keep = min(reused, first - 1)
        keep = max(keep, 0)
        mem = self._lib.llama_get_memory(self.llm._ctx.ctx)
        self._lib.llama_memory_seq_rm(mem, -1, keep, -1)
        self.llm.n_tokens = 0  # the high-level object must not trust the cache we touched
        rows = [
            (0, pos, whole[pos], pos >= first - 1 and pos < len(whole) - 1)
            for pos in range(keep, len(whole))
        ]
        try:
            out = self._scorer.decode(rows, keep_row=keep_row)
        except BaseException:  # a failed decode, or a caller that left between its chunks
            self._scored = []
            self._lib.llama_memory_clear(mem, True)
            raise
        self._scored = list(whole)
        return out

    def prefix_rows(
        self, whole: list[int], first: int, keep_row: Callable[[int, Any], Any] | None = None
    ) -> list[Any]:
        """Log-prob rows predicting whole[first:] (first >= 1), reusing the KV cache of the
        prefix this shares with the last scoring call; `keep_row(position, row)`: what to keep of
        each (BatchDecoder.decode)."""
        with self._exclusive():
            return self._score_rows(whole, first, keep_row)

    def token_logprobs(self, text: str, top_n: int = 0) -> TokenLogprobs:
        """Log-prob of every token of text given the tokens before it (llamacpp_logprobs.py)."""
        from openscout.engines.llamacpp_logprobs import token_logprobs

        return token_logprobs(self, text, top_n)

    def next_token_rows(
        self, toks: list[int], last: bool = False, keep_row: Callable[[int, Any], Any] | None = None
    ) -> list[Any]:
        """Log-softmax rows after each token but the last (and the last, with `last`): row k
        predicts toks[k + 1]. `keep_row(position, row)`: what to keep of each."""
        lib, ctx = self._lib, self.llm._ctx.ctx
        with self._exclusive():
            self._scored = []  # we overwrite the KV cache the scorer may have kept
            lib.llama_memory_seq_rm(lib.llama_get_memory(ctx), -1, 0, -1)
            self.llm.n_tokens = 0
            decoder = BatchDecoder(
                lib, ctx, self.llm.n_batch, self.llm.n_vocab(), threads=self._main_threads
            )
            try:
                rows = [(0, pos, tok, last or pos < len(toks) - 1) for pos, tok in enumerate(toks)]
                return list(decoder.decode(rows, keep_row=keep_row))
            finally:
                decoder.close()
                lib.llama_memory_seq_rm(lib.llama_get_memory(ctx), -1, 0, -1)

    # -- several sequences at once (llamacpp_multi.py) -------------------------------------

    def _multi_ctx(self) -> Any:
        if self._multi is None:
            from openscout.engines.llamacpp_multi import MultiSeqContext

            self._multi = MultiSeqContext(
                self.llm,
                self._lib,
                n_ctx=self.n_ctx * 2,
                n_seq=self.batch_lanes,
                threads=self.threads,
            )
        return self._multi

    def loglikelihood_choices(
        self, context: str, continuations: Sequence[str]
    ) -> list[LoglikelihoodResult]:
        """Score every option of one item: the context is decoded once, the options together."""
        split = [self.split_tokens(context, c) for c in continuations]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (ctx, _) in enumerate(split):
            groups.setdefault(tuple(ctx), []).append(i)
        results: list[LoglikelihoodResult | None] = [None] * len(continuations)
        with self._exclusive():
            multi = self._multi_ctx()
            for ctx_key, idxs in groups.items():
                scored = multi.score_choices(list(ctx_key), [split[i][1] for i in idxs])
                for i, (lp, greedy) in zip(idxs, scored, strict=True):
                    results[i] = LoglikelihoodResult(lp, greedy, len(split[i][1]))
        return [r for r in results if r is not None]

    def _gen_ctx(self) -> Any:
        """A context for batched generation: each lane has its own KV cells, so attention
        reads only its own tokens; one more sequence holds the prompts' shared prefix, which
        llama.cpp copies into a lane when a prompt takes it."""
        if self._gen is None:
            from openscout.engines.llamacpp_multi import MultiSeqContext

            self._gen = MultiSeqContext(
                self.llm,
                self._lib,
                n_ctx=(self.batch_lanes + 1) * GEN_CTX_PER_SEQ,
                n_seq=self.batch_lanes + 1,  # the last holds the prompts' shared prefix
                unified=False,
                threads=self.threads,
            )
        return self._gen

    def generate_batch(
        self, requests: Sequence[BatchRequest], params: SamplingParams
    ) -> list[BatchResult]:
        """Generate for several prompts in one llama.cpp batch (parallel sequences). A prompt
        too long for a batch lane is answered on its own through the ordinary stream."""
        prompts, stops = [], []
        for req in requests:
            if req.messages is not None:
                tokens, stop = self.chat_tokens(req.messages, params)
                prompts.append(tokens)
                stops.append(stop)
            else:
                prompts.append(self.tokenize(req.prompt or ""))
                stops.append(tuple(params.stop))
        fits = [len(t) + params.max_tokens <= GEN_CTX_PER_SEQ for t in prompts]
        results: list[BatchResult | None] = [None] * len(requests)
        idx = [i for i, ok in enumerate(fits) if ok]
        if idx:
            with self._exclusive():
                gens = self._gen_ctx().generate_many(
                    [prompts[i] for i in idx], params, [stops[i] for i in idx]
                )
            for i, g in zip(idx, gens, strict=True):
                final = replace(g.final, thinking_open=self.opens_thinking(prompts[i]))
                results[i] = BatchResult(g.text, final, g.ttft_s)
        for i, ok in enumerate(fits):
            if not ok:
                t0 = time.perf_counter()
                text, final, chunks = collect(self._generate(prompts[i], params, stops[i]))
                results[i] = BatchResult(text, final, (chunks[0].t - t0) if chunks else None)
        return [r for r in results if r is not None]

    # -- serving concurrent requests (llamacpp_lanes.py) -----------------------------------

    def serve_lanes(self, lanes: int, ctx_per_lane: int) -> Engine:
        """This model as a server sees it: its streams share one continuous batch of `lanes`
        lanes of `ctx_per_lane` tokens each. Made once; closed with the engine."""
        from openscout.engines.llamacpp_lanes import LaneServer, LaneView

        with self._lock:
            if self._lanes is None or (self._lanes.lanes, self._lanes.ctx_per_lane) != (
                lanes,
                ctx_per_lane,
            ):
                if self._lanes is not None:
                    self._lanes.close()
                try:
                    self._lanes = LaneServer(
                        self.llm,
                        self._lib,
                        lanes,
                        ctx_per_lane,
                        self.threads,
                        # not self._exclusive: a lane server holding its engine made a cycle
                        # that kept a closed model's buffers (96 MB for SmolLM2) until a full
                        # garbage collection, and evictions ran out of address space
                        partial(one_at_a_time, self._lock, self.threads),
                    )
                except (ValueError, RuntimeError) as e:  # llama.cpp could not make a context
                    self._lanes = None  # was a 500 "unexpected error" (twenty-fifth probe)
                    raise ModelFileError(
                        f"llama.cpp could not make {self.path.name}'s serving context: {e}",
                        hint="free memory, or serve fewer or shorter lanes (--lanes)",
                    ) from e
            return LaneView(self, self._lanes)

    def close(self) -> None:
        if self._lanes is not None:
            self._lanes.close()  # its thread takes our lock for each step: close it first
        with self._lock:
            for ctx in (self._multi, self._gen):
                if ctx is not None:
                    ctx.close()
            self._scorer.close()
            self.llm.close()
            if self._child_vocab is not None:
                self._child_vocab.close()
            self._file.close()
