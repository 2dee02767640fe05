"""The Engine protocol: the one interface through which openscout talks to any model.

An engine streams generation as `Chunk`s (text + monotonic timestamp) and ends each stream
with exactly one `Final` (token counts, finish reason). Engines that can score text expose
`loglikelihood`. What an engine can do is declared in `Capabilities`, never discovered by
crashing. Engines raise EngineError with `transient` set when asking again may help;
timing, logging, retries and concurrency live one layer above (generation, evals.calls).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    role: Role
    content: str


# Below this a temperature is greedy decoding, its limit. Dividing float32 scores by a
# denormal one (1e-310) overflowed to inf and sampling answered NaN (twenty-sixth probe);
# float32 scores (at most 3.4e38) over 1e-6 stay far inside float64.
GREEDY_BELOW = 1e-6


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if 0.0 < self.temperature < GREEDY_BELOW:
            object.__setattr__(self, "temperature", 0.0)

    @property
    def greedy(self) -> bool:
        """Greedy decoding is deterministic, so its outputs may be cached."""
        return self.temperature == 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Capabilities:
    chat: bool = True
    completion: bool = True
    loglikelihood: bool = False
    chat_template: bool = False
    # How many requests the engine serves well at once (servers batch; llama.cpp here: 1).
    max_parallel: int = 1
    # How many sequences its batch path (BatchGenerator) decodes together.
    batch_lanes: int = 1
    # Why `loglikelihood` is what it is, where that is not obvious (a remote server: "stated
    # by the user", or what a probe of its prompt log-probs found); shown beside scores.
    loglikelihood_basis: str = ""
    # A check the engine runs only when log-likelihood is wanted (`check_loglikelihood()`,
    # e.g. a probe that costs a request) may still turn `loglikelihood` on: see can_score.
    loglikelihood_pending: bool = False


@dataclass(frozen=True)
class Chunk:
    text: str
    t: float  # time.perf_counter() when the chunk arrived
    # a delta of a reasoning model's thinking: no answer text, but generated tokens whose
    # time counts (timed by answer text alone, thinking made decode 6.7x too fast and
    # prefill 210x too slow: 38th probe)
    thought: bool = False
    thinking: str = ""  # the thinking text of such a delta, where the server sent it


# content_filter: a provider withheld or cut the answer (OpenAI's and Azure's 200 form)
FinishReason = Literal["stop", "length", "content_filter", "error", "cancelled"]


@dataclass(frozen=True)
class Final:
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    # Engines that know exact per-token arrival may add it; otherwise chunks carry timing.
    extra: dict[str, object] = field(default_factory=dict)
    # the answer text began inside a `<think>` the prompt opened (engines/thinking.py)
    thinking_open: bool = False


StreamEvent = Chunk | Final


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float  # sum of log p(continuation token | everything before it)
    is_greedy: bool  # every continuation token was the argmax
    n_tokens: int  # continuation tokens scored


@runtime_checkable
class Engine(Protocol):
    """What every engine implements. Streams must end with one Final, even on stop strings."""

    model_id: str
    capabilities: Capabilities

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]: ...

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]: ...

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult: ...

    def close(self) -> None: ...


def collect(events: Iterator[StreamEvent]) -> tuple[str, Final, list[Chunk]]:
    """Drain a stream into (text, final, chunks). Raises if the engine broke the protocol."""
    chunks: list[Chunk] = []
    final: Final | None = None
    for ev in events:
        if isinstance(ev, Chunk):
            chunks.append(ev)
        else:
            final = ev
    if final is None:
        raise RuntimeError("engine stream ended without a Final record")
    return "".join(c.text for c in chunks), final, chunks


@dataclass(frozen=True)
class BatchRequest:
    """One prompt of a batch: chat messages or a raw completion prompt."""

    messages: Sequence[Message] | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class BatchResult:
    text: str
    final: Final
    ttft_s: float | None = None


@dataclass
class TokenLogprobs:
    """Per-token log-probs of a text, as /v1/completions reports them with `echo`."""

    tokens: list[str] = field(default_factory=list)
    token_logprobs: list[float | None] = field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] = field(default_factory=list)
    text_offset: list[int] = field(default_factory=list)

    def tail(self, start_char: int) -> TokenLogprobs:
        """Only the tokens starting at or after a character offset (offsets kept as they are)."""
        keep = [i for i, off in enumerate(self.text_offset) if off >= start_char]
        return TokenLogprobs(
            [self.tokens[i] for i in keep],
            [self.token_logprobs[i] for i in keep],
            [self.top_logprobs[i] for i in keep],
            [self.text_offset[i] for i in keep],
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "tokens": self.tokens,
            "token_logprobs": self.token_logprobs,
            "top_logprobs": self.top_logprobs,
            "text_offset": self.text_offset,
        }


# -- optional paths: an engine has one by implementing its method; callers check isinstance --


@runtime_checkable
class ChoiceScorer(Protocol):
    """Scores every option of one item together (the context decoded once)."""

    def loglikelihood_choices(
        self, context: str, continuations: Sequence[str]
    ) -> list[LoglikelihoodResult]: ...


@runtime_checkable
class BatchGenerator(Protocol):
    """Generates for several prompts in one batch (up to `capabilities.batch_lanes` at once)."""

    def generate_batch(
        self, requests: Sequence[BatchRequest], params: SamplingParams
    ) -> list[BatchResult]: ...


@runtime_checkable
class TokenLogprobEngine(Protocol):
    """Log-prob of every token of a text given the tokens before it (for `echo`)."""

    def token_logprobs(self, text: str, top_n: int = 0) -> TokenLogprobs: ...


@runtime_checkable
class Tokenizer(Protocol):
    """Counts tokens exactly as the model does (usage figures, context checks)."""

    def tokenize(self, text: str, special: bool = False) -> list[int]: ...


@dataclass
class TokenCompletion:
    """A completion over token ids: what was evaluated and generated, and its log-probs."""

    prompt_tokens: int  # tokens evaluated, a BOS the engine added included
    ids: list[int]  # generated token ids (an end-of-generation one last, without text)
    text: str  # generated text, cut at a stop string
    finish_reason: FinishReason
    # with echo: the caller's prompt tokens then the generated ones; else the generated only.
    # Offsets count characters of (decoded prompt + text). None when none were asked for.
    logprobs: TokenLogprobs | None = None


@runtime_checkable
class TokenIdEngine(Protocol):
    """Prompts as token ids, and log-probs taken from the ids evaluated and generated, never
    from re-tokenized text (/v1/completions with token ids, echo, logprobs; /tokenize)."""

    def encode(
        self, text: str, add_special: bool = False, parse_special: bool = False
    ) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def tokenizer_info(self) -> dict[str, object]: ...

    def chat_tokens(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> tuple[list[int], tuple[str, ...]]: ...

    def complete_tokens(
        self, prompt: Sequence[int], params: SamplingParams, top_n: int | None, echo: bool
    ) -> TokenCompletion: ...


@runtime_checkable
class RequestForwarding(Protocol):
    """Hands an OpenAI-API request on to the upstream server that runs the model, for what
    only that server can compute (token ids, echo and logprobs, its tokenizer). `route` is
    "/completions", "/chat/completions" (under the API's base URL) or "/tokenize",
    "/detokenize", "/tokenizer_info" (at the server's root, where vLLM serves them); a body
    of None is a GET. Returns the upstream's JSON object."""

    def forward(self, route: str, body: dict[str, Any] | None) -> dict[str, Any]: ...


@runtime_checkable
class LaneServing(Protocol):
    """Serves concurrent streams together: `serve_lanes` gives the engine as a server should
    use it, each stream in a lane of one continuous batch (capabilities.max_parallel = lanes)."""

    def serve_lanes(self, lanes: int, ctx_per_lane: int) -> Engine: ...


@runtime_checkable
class DeferredScoring(Protocol):
    """Decides `capabilities.loglikelihood` only when asked (a probe that costs a request)."""

    def check_loglikelihood(self) -> None: ...


def can_score(engine: Engine) -> bool:
    """Whether the engine gives log-likelihoods, after the check it defers until they are
    wanted (so that chatting with a server never pays for probing it)."""
    if engine.capabilities.loglikelihood_pending and isinstance(engine, DeferredScoring):
        engine.check_loglikelihood()
    return engine.capabilities.loglikelihood


def score_choices(
    engine: Engine, context: str, continuations: Sequence[str]
) -> list[LoglikelihoodResult]:
    """Log-likelihood of each option after one context; the engine's fast path when it has one."""
    if isinstance(engine, ChoiceScorer):
        return engine.loglikelihood_choices(context, continuations)
    return [engine.loglikelihood(context, c) for c in continuations]


def generate_many(
    engine: Engine, requests: Sequence[BatchRequest], params: SamplingParams
) -> list[BatchResult]:
    """Generate for several requests: in one batch where the engine can, else concurrently
    up to the engine's max_parallel (servers batch concurrent requests themselves)."""
    if isinstance(engine, BatchGenerator):
        return engine.generate_batch(requests, params)

    def one(req: BatchRequest) -> BatchResult:
        import time

        t0 = time.perf_counter()
        stream = (
            engine.stream_chat(req.messages, params)
            if req.messages is not None
            else engine.stream_completion(req.prompt or "", params)
        )
        text, final, chunks = collect(stream)
        return BatchResult(text, final, (chunks[0].t - t0) if chunks else None)

    workers = max(1, engine.capabilities.max_parallel)
    if workers == 1 or len(requests) == 1:
        return [one(r) for r in requests]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(requests))) as pool:
        return list(pool.map(one, requests))
