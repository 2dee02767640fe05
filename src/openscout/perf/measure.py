"""Speed and memory of one model on this machine, measured as DESIGN.md defines the numbers.

After `warmup` untimed generations (once per model: first use pays page faults and buffer
allocation), each prompt (a short chat question and a long ~500-token one) runs `repeats`
timed generations, and we report the median with min/max spread of TTFT,
output tokens/s, prefill tokens/s and end-to-end latency, plus inter-token latency p50/p99
over all gaps of all timed runs. Engines that serve several requests at once
(capabilities.max_parallel > 1) also get a concurrency sweep: 1, 2, 4, ... clients at once,
giving aggregate throughput against per-request latency. Engines that batch in-process
(BatchGenerator engines, llama.cpp's parallel sequences) are swept the same way with
one batch of 1, 2, 4, ... requests (up to its batch_lanes) through engines.base.generate_many.

Depth (as `llama-bench -d`): the short question after `depth` tokens of context (a RAG
document, an agent's history). Each run sends the whole prompt from an empty cache, so TTFT
is what a user with a fresh document waits (prefill of depth + question), and decode runs
with the depth's tokens in the KV cache. Depth 0 is the short prompt itself. The context is
sized with the engine's own token count (one untimed run on the smallest depth), so any
engine can be measured.

Memory (in-process engines only, i.e. llama.cpp): the resident memory the model adds to
this process, VmHWM (peak resident set) after all runs minus VmRSS just before loading,
read from /proc/self/status; the peak is reset first through /proc/self/clear_refs.
It covers the weights that were paged in (mmap'd file pages count once touched), the KV
cache and llama.cpp's compute buffers. It does not cover memory other processes use.
Remote engines report None: their memory lives elsewhere.
"""

from __future__ import annotations

import itertools
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from openscout.engines.base import (
    BatchGenerator,
    BatchRequest,
    Chunk,
    Engine,
    SamplingParams,
)
from openscout.generation import GenerationResult, as_messages, stream_generate
from openscout.perf import reference_tokens
from openscout.perf.bandwidth import mbu, rated_bandwidth_gbs
from openscout.perf.memory_probe import MemoryProbe
from openscout.timing import percentile

MAX_DEPTH = 131072
DEPTH_QUESTION_ROOM = 256  # context kept for the question and the chat template at depth
SHORT_PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."

_PASSAGE = (
    "The town of Harrow Bay sits where a cold river meets the sea. For two hundred years its "
    "people fished, mended nets and traded salt with the inland farms. When the railway came, "
    "the harbour filled with steamers, the old warehouses became hotels, and the fish market "
    "moved to the north quay. Storms still close the port for a week each winter, and the "
    "lighthouse on the point, automated since 1987, is now a small museum run by volunteers. "
)
LONG_PROMPT = (
    "Read the following notes about a town, then answer.\n\n"
    + _PASSAGE * 5
    + "\nIn a few sentences, summarise how the town changed and what stayed the same."
)
PROMPTS: dict[str, str] = {"short": SHORT_PROMPT, "long": LONG_PROMPT}


class Progress(Protocol):
    """Where long work reports itself (the CLI draws a Rich bar from it)."""

    def plan(self, units: int) -> None:
        """More work became known: add `units` to the total."""

    def advance(self, description: str) -> None:
        """One unit (one generation) is done."""


@dataclass(frozen=True)
class BenchConfig:
    repeats: int = 3
    warmup: int = 1
    max_tokens: int = 64
    prompts: tuple[str, ...] = ("short", "long")
    concurrency: tuple[int, ...] = (1, 2, 4, 8)
    depths: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        from openscout.errors import ConstraintError

        if self.repeats < 1 or self.warmup < 0 or self.max_tokens < 2:
            raise ConstraintError("bench needs repeats >= 1, warm-up >= 0 and max tokens >= 2")
        unknown = [p for p in self.prompts if p not in PROMPTS]
        if unknown or not self.prompts:
            raise ConstraintError(
                f"unknown bench prompt {unknown}", hint=f"known: {', '.join(PROMPTS)}"
            )
        if any(c < 1 for c in self.concurrency):
            raise ConstraintError("concurrency levels must be >= 1")
        if any(d < 0 or d > MAX_DEPTH for d in self.depths):
            raise ConstraintError(f"depths must be between 0 and {MAX_DEPTH} tokens")

    @property
    def deep(self) -> list[int]:
        """The depths that need runs of their own (depth 0 is the short prompt)."""
        return sorted({d for d in self.depths if d > 0})

    def context_needed(self) -> int:
        """Context a model needs for the deepest run: depth, question and answer."""
        # 5% over the depth: its prompt is sized from the smallest depth's characters a token,
        # which may come out a little off at a deeper one
        return int(max(self.deep, default=0) * 1.05) + DEPTH_QUESTION_ROOM + self.max_tokens

    def runs(self, engine: Engine) -> int:
        """How many generations the whole measurement makes (for progress bars)."""
        sweep = sum(c * self.repeats for c in self.sweep_levels(engine))
        # one untimed run sizes the context, then each depth's timed runs
        depths = len(self.deep) * self.repeats + (1 if self.deep else 0)
        if self.deep and "short" not in self.prompts:
            depths += 1  # the question alone, to know its size
        return self.warmup + len(self.prompts) * self.repeats + depths + sweep

    def sweep_levels(self, engine: Engine) -> list[int]:
        caps = engine.capabilities
        if caps.max_parallel > 1:
            return sorted({c for c in self.concurrency if c <= caps.max_parallel})
        if isinstance(engine, BatchGenerator):
            return sorted({c for c in self.concurrency if c <= caps.batch_lanes})
        return []

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Footprint:
    """Bytes the model reads per generated token: all weights plus the KV cache so far."""

    weight_bytes: int | None = None
    kv_bytes_per_token: int | None = None

    def bytes_per_token(self, context_tokens: float) -> float | None:
        if self.weight_bytes is None:
            return None
        return self.weight_bytes + (self.kv_bytes_per_token or 0) * context_tokens


@dataclass(frozen=True)
class Stat:
    median: float | None
    min: float | None
    max: float | None
    n: int

    @staticmethod
    def of(values: Sequence[float | None]) -> Stat:
        xs = [v for v in values if v is not None]
        if not xs:
            return Stat(None, None, None, 0)
        return Stat(statistics.median(xs), min(xs), max(xs), len(xs))


@dataclass
class RunSample:
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float | None
    output_tps: float | None
    prefill_tps: float | None
    e2e_s: float
    itl_s: list[float]
    reference_tokens: int | None = None  # the answer and thinking in perf/reference_tokens


@dataclass
class PromptStats:
    prompt: str
    runs: int
    prompt_tokens: int
    completion_tokens: float  # median over runs
    ttft_s: Stat
    output_tps: Stat
    prefill_tps: Stat
    e2e_s: Stat
    itl_p50_s: float | None
    itl_p99_s: float | None
    mbu: float | None = None
    reference_tokens: float | None = None  # median answer tokens in the reference tokenizer


@dataclass
class SweepPoint:
    concurrency: int
    requests: int
    aggregate_output_tps: float | None  # completion tokens of all clients / wall time
    aggregate_input_tps: float | None  # prompt tokens of all clients / time until all prefilled
    latency_s: Stat  # per-request end-to-end
    ttft_s: Stat
    aggregate_reference_tps: float | None = None  # as aggregate_output_tps, reference tokens


@dataclass
class DepthPoint:
    depth: int  # context tokens asked for before the question
    prompt_tokens: int  # what the engine counted: depth, question and template
    ttft_s: Stat
    output_tps: Stat
    prefill_tps: Stat
    # a whole answer there, as the recommendation weighs it at this depth (42nd probe)
    e2e_s: Stat | None = None
    completion_tokens: float | None = None
    reference_tokens: float | None = None


@dataclass
class BenchResult:
    model_id: str
    config: dict[str, Any]
    prompts: dict[str, PromptStats]
    sweep: list[SweepPoint] = field(default_factory=list)
    memory_bytes: int | None = None
    memory_method: str | None = None
    load_s: float | None = None
    bandwidth_gbs: float | None = None
    weight_bytes: int | None = None
    depths: list[DepthPoint] = field(default_factory=list)
    rated_bandwidth_gbs: float | None = None  # the hardware's peak, where the user states it

    # Headline figures: decode speed and TTFT as a chat user feels them (short prompt);
    # prefill speed where it is measured best (the longest prompt run).
    @property
    def _short(self) -> PromptStats | None:
        return self.prompts.get("short") or next(iter(self.prompts.values()), None)

    @property
    def output_tps(self) -> float | None:
        return self._short.output_tps.median if self._short else None

    @property
    def ttft_s(self) -> float | None:
        return self._short.ttft_s.median if self._short else None

    @property
    def prefill_tps(self) -> float | None:
        p = self.prompts.get("long") or self._short
        return p.prefill_tps.median if p else None

    @property
    def mbu(self) -> float | None:
        """Against the bandwidth measured on this machine."""
        return self._short.mbu if self._short else None

    @property
    def mbu_rated(self) -> float | None:
        """Against the hardware's rated peak (None where it is not known)."""
        if self.mbu is None or not self.bandwidth_gbs or not self.rated_bandwidth_gbs:
            return None
        return self.mbu * self.bandwidth_gbs / self.rated_bandwidth_gbs

    def at_depth(self, depth: int) -> DepthPoint | None:
        return next((p for p in self.depths if p.depth == depth), None)

    def throughput_at(self, concurrency: int) -> tuple[float | None, float | None]:
        """(input tok/s, output tok/s) at that many clients; 1 client: single-stream figures."""
        for p in self.sweep:
            if p.concurrency == concurrency and concurrency > 1:
                return p.aggregate_input_tps, p.aggregate_output_tps
        return self.prefill_tps, self.output_tps

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            output_tps=self.output_tps,
            ttft_s=self.ttft_s,
            prefill_tps=self.prefill_tps,
            mbu=self.mbu,
            mbu_rated=self.mbu_rated,
        )
        return d


# -- one generation --------------------------------------------------------------------------


_TAGS = random.SystemRandom()


def request_tag() -> str:
    """A line that makes each timed request unlike any other, at its start: identical
    requests were answered by a caching gateway in front of a server (8,500 tokens/s, TTFT
    3 ms, recommended: 40th probe), and a server's prefix cache reused the warm-up's prefill.
    Eight random digits: the same number of tokens every time in a digit-wise tokenizer."""
    return f"Request {_TAGS.randrange(10**7, 10**8)}.\n"


def run_once(engine: Engine, prompt: str, prompt_format: str, max_tokens: int) -> RunSample:
    """One greedy generation of the prompt with a request tag, timed by
    generation.stream_generate (nothing is logged)."""
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    prompt = request_tag() + prompt
    kwargs: dict[str, Any] = (
        {"messages": as_messages(prompt)} if prompt_format == "chat" else {"prompt": prompt}
    )
    times: list[float] = []
    said: list[str] = []  # answer and thinking, for the reference count
    result: GenerationResult | None = None
    for ev in stream_generate(engine, params=params, **kwargs):
        if isinstance(ev, Chunk):
            if ev.text or ev.thought:
                times.append(ev.t)
                said.append(ev.text or ev.thinking)
        else:
            result = ev
    assert result is not None
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return RunSample(
        result.prompt_tokens,
        result.completion_tokens,
        result.ttft_s,
        result.output_tps,
        result.prefill_tps,
        result.total_s,
        gaps,
        reference_tokens.count_answer("".join(said), max_tokens),
    )


def summarise(
    name: str, samples: list[RunSample], footprint: Footprint, bandwidth_gbs: float | None
) -> PromptStats:
    gaps = [g for s in samples for g in s.itl_s]
    completion = statistics.median(s.completion_tokens for s in samples)
    out = Stat.of([s.output_tps for s in samples])
    prompt_tokens = samples[0].prompt_tokens
    # decode reads all weights plus, on average, the KV cache of the prompt and half the answer
    per_token = footprint.bytes_per_token(prompt_tokens + completion / 2)
    return PromptStats(
        name,
        len(samples),
        prompt_tokens,
        completion,
        Stat.of([s.ttft_s for s in samples]),
        out,
        Stat.of([s.prefill_tps for s in samples]),
        Stat.of([s.e2e_s for s in samples]),
        percentile(gaps, 50),
        percentile(gaps, 99),
        mbu(per_token, out.median, bandwidth_gbs),
        _median([s.reference_tokens for s in samples]),
    )


def _median(values: Sequence[float | None]) -> float | None:
    """The median, or None when any value is unknown (no reference tokenizer)."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known and len(known) == len(values) else None


def depth_prompt(depth: int, chars_per_token: float) -> str:
    """About `depth` tokens of notes, then the short question."""
    want = int(depth * chars_per_token)
    notes = (_PASSAGE * (want // len(_PASSAGE) + 1))[:want]
    return f"Notes:\n{notes.rsplit(' ', 1)[0]}\n\n{SHORT_PROMPT}"


SIZING_GUESS = 3.0  # characters a token for the sizing run: low, so it never overshoots


def _chars_per_token(engine: Engine, prompt_format: str, depth: int, question: int) -> float:
    """Characters a token of the notes, in the engine's own count: one untimed run on the
    smallest depth (guessed low, so the prompt fits the context)."""
    probe = run_once(engine, depth_prompt(depth, SIZING_GUESS), prompt_format, 2)
    notes_tokens = probe.prompt_tokens - question
    return SIZING_GUESS * depth / notes_tokens if notes_tokens > 0 else SIZING_GUESS


def measure_depths(
    engine: Engine,
    prompt_format: str,
    config: BenchConfig,
    prompts: dict[str, PromptStats],
    progress: Progress | None = None,
) -> list[DepthPoint]:
    points = []
    short = prompts.get("short")
    if short and 0 in config.depths:
        points.append(
            DepthPoint(
                0,
                short.prompt_tokens,
                short.ttft_s,
                short.output_tps,
                short.prefill_tps,
                short.e2e_s,
                short.completion_tokens,
                short.reference_tokens,
            )
        )
    if not config.deep:
        return points
    if short:
        question = short.prompt_tokens
    else:  # untimed: how many tokens the question alone makes
        question = run_once(engine, SHORT_PROMPT, prompt_format, 2).prompt_tokens
        if progress:
            progress.advance("depth: sizing the question")
    chars_per_token = _chars_per_token(engine, prompt_format, config.deep[0], question)
    if progress:
        progress.advance("depth: sizing the context")
    for depth in config.deep:
        text = depth_prompt(depth, chars_per_token)
        samples = []
        for _ in range(config.repeats):
            samples.append(run_once(engine, text, prompt_format, config.max_tokens))
            if progress:
                progress.advance(f"depth {depth}")
        points.append(
            DepthPoint(
                depth,
                samples[0].prompt_tokens,
                Stat.of([x.ttft_s for x in samples]),
                Stat.of([x.output_tps for x in samples]),
                Stat.of([x.prefill_tps for x in samples]),
                Stat.of([x.e2e_s for x in samples]),
                statistics.median(x.completion_tokens for x in samples),
                _median([x.reference_tokens for x in samples]),
            )
        )
    return points


def sweep_point(
    engine: Engine,
    prompt_format: str,
    concurrency: int,
    repeats: int,
    max_tokens: int,
    progress: Progress | None = None,
) -> SweepPoint:
    """`concurrency` clients at once, `repeats` rounds; throughput over each round's wall time."""
    samples: list[RunSample] = []
    out_rates, in_rates, ref_rates = [], [], []
    lock = threading.Lock()

    def client(_: int) -> RunSample:
        s = run_once(engine, SHORT_PROMPT, prompt_format, max_tokens)
        if progress:
            with lock:
                progress.advance(f"{concurrency} clients")
        return s

    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            round_samples = list(pool.map(client, range(concurrency)))
            wall = time.perf_counter() - t0
            samples += round_samples
            out_rates.append(
                sum(s.completion_tokens for s in round_samples) / wall if wall > 0 else None
            )
            ref_rates.append(_rate([s.reference_tokens for s in round_samples], wall))
            ttfts = [s.ttft_s for s in round_samples if s.ttft_s]
            in_rates.append(
                sum(s.prompt_tokens for s in round_samples) / max(ttfts) if ttfts else None
            )
    return SweepPoint(
        concurrency,
        len(samples),
        Stat.of(out_rates).median,
        Stat.of(in_rates).median,
        Stat.of([s.e2e_s for s in samples]),
        Stat.of([s.ttft_s for s in samples]),
        _median(ref_rates),
    )


def _rate(tokens: list[int | None], wall: float) -> float | None:
    """Reference tokens of a round over its wall time; None when any is unknown."""
    if wall <= 0 or any(t is None for t in tokens):
        return None
    return sum(t for t in tokens if t is not None) / wall


def batch_point(
    engine: Engine,
    prompt_format: str,
    size: int,
    repeats: int,
    max_tokens: int,
    progress: Progress | None = None,
) -> SweepPoint:
    """`size` requests in one batch, `repeats` rounds; every request's latency is the batch's."""
    from openscout.engines.base import generate_many

    # Distinct requests, as concurrent users send: identical ones would let the engine decode
    # the whole prompt once for all (it shares common prefixes). A chat template's system
    # prompt is still shared and kept between rounds, as a server's prefix cache would, so
    # aggregate_input_tps counts the tokens the requests carry, not the tokens decoded.
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    out_rates, in_rates, latencies, ttfts, ref_rates = [], [], [], [], []
    for _ in range(repeats):
        texts = [request_tag() + SHORT_PROMPT for _ in range(size)]
        reqs = [
            BatchRequest(messages=as_messages(t))
            if prompt_format == "chat"
            else BatchRequest(prompt=t)
            for t in texts
        ]
        t0 = time.perf_counter()
        results = generate_many(engine, reqs, params)
        wall = time.perf_counter() - t0
        firsts = [r.ttft_s for r in results if r.ttft_s]
        out_rates.append(
            sum(r.final.completion_tokens for r in results) / wall if wall > 0 else None
        )
        counts = [reference_tokens.count_answer(r.text, params.max_tokens) for r in results]
        ref_rates.append(_rate(counts, wall))
        prompt = sum(r.final.prompt_tokens for r in results)
        in_rates.append(prompt / max(firsts) if firsts else None)
        latencies += [wall] * size
        ttfts += [r.ttft_s for r in results]
        if progress:
            for _ in results:
                progress.advance(f"batch of {size}")
    return SweepPoint(
        size,
        size * repeats,
        Stat.of(out_rates).median,
        Stat.of(in_rates).median,
        Stat.of(latencies),
        Stat.of(ttfts),
        _median(ref_rates),
    )


def measure(
    loader: Callable[[], Engine],
    model_id: str,
    prompt_format: str,
    config: BenchConfig | None = None,
    *,
    footprint: Footprint | None = None,
    in_process: bool = False,
    bandwidth_gbs: float | None = None,
    progress: Progress | None = None,
    close: bool = True,
) -> BenchResult:
    """Load the model with `loader`, measure it, close it (unless close=False)."""
    config = config or BenchConfig()
    footprint = footprint or Footprint()
    probe = MemoryProbe() if in_process else None
    if probe:
        reference_tokens.load()  # shared by every model measured: charged to none
        probe.start()
    t0 = time.perf_counter()
    engine = loader()
    load_s = time.perf_counter() - t0
    try:
        if progress:
            progress.plan(config.runs(engine))
        for _ in range(config.warmup):
            run_once(engine, PROMPTS[config.prompts[0]], prompt_format, config.max_tokens)
            if progress:
                progress.advance(f"{model_id}: warm-up")
        prompts: dict[str, PromptStats] = {}
        for name in config.prompts:
            samples = []
            for _ in range(config.repeats):
                samples.append(run_once(engine, PROMPTS[name], prompt_format, config.max_tokens))
                if progress:
                    progress.advance(f"{model_id}: {name} prompt")
            prompts[name] = summarise(name, samples, footprint, bandwidth_gbs)
        depths = measure_depths(engine, prompt_format, config, prompts, progress)
        caps = engine.capabilities
        point = sweep_point if caps.max_parallel > 1 else batch_point
        sweep = [
            point(engine, prompt_format, c, config.repeats, config.max_tokens, progress)
            for c in config.sweep_levels(engine)
        ]
        memory = probe.stop() if probe else None
    finally:
        if close:
            engine.close()
    return BenchResult(
        model_id,
        config.as_dict(),
        prompts,
        sweep,
        memory,
        probe.method if probe else None,
        load_s,
        bandwidth_gbs,
        footprint.weight_bytes,
        depths,
        rated_bandwidth_gbs(),
    )
