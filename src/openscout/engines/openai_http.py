"""Any OpenAI-compatible server (vLLM, TGI, SGLang, Ollama, llama.cpp server, Azure AI
Foundry, HF endpoints) through its /v1 chat and completion routes, streamed over SSE.

Policy kept here on purpose, because it is about the wire: every way a server can fail is
turned into an EngineError that says whether asking again may help (`transient`), how long
the server asked us to wait (`retry_after`) and a short `cause`. A stream that ends without
a finish event, a connection closed mid-body, an empty body, HTTP 429 and 5xx are transient
errors, never an empty answer. The engine does not retry itself: the caller does (the eval
runner, with backoff and adaptive concurrency), because only it knows whether the partial
text already went somewhere. One mapping turns the error shapes servers return (OpenAI's
nested object, older vLLM's flat object, Ollama's string) into messages.

Log-likelihood scoring needs prompt log-probs aligned as OpenAI defines them; with
`loglikelihood=None` the engine probes the server once, when log-likelihood is first wanted
(`check_loglikelihood`, engines/logprob_probe.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from openscout.engines.base import (
    Capabilities,
    Chunk,
    LoglikelihoodResult,
    Message,
    SamplingParams,
    StreamEvent,
)
from openscout.engines.http_bounds import (
    EVENT_MAX_VALUES,
    MAX_BODY,
    TooManyValues,
    iter_lines,
    load_json,
    nested_deeper_than,
    public_url,
    read_body,
    split_query,
)
from openscout.engines.key_mask import UpstreamSecrets
from openscout.engines.logprob_probe import PROBE_TEXT, ProbeVerdict, judge_alignment
from openscout.engines.openai_wire import (
    Asked,
    answer_of,
    bytes_of,
    choices_of,
    context_overflow,
    continuation_logprob,
    echo_logprobs,
    embedded_status,
    error_message,
    final_of,
    finish_of,
    retry_after_s,
    thinking_text,
    usage_of,
    utf8_bytes,
)
from openscout.engines.thinking import marked_thinking_open, prompt_opens_thinking
from openscout.errors import (
    CapabilityError,
    ContextLengthError,
    EngineError,
    EngineResponseError,
    EngineUnavailableError,
)

SECONDS_A_TOKEN = 1.0  # a streamed answer's allowance beyond the timeout, per token asked

# Statuses worth asking again: timeout, conflict, rate limit, and the server's own failures.
SHOWN_CHARS = 500  # of an upstream's own words in an error
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# routes forwarded to the server's root (vLLM's tokenizer) rather than under its /v1
ROOT_ROUTES = frozenset({"/tokenize", "/detokenize", "/tokenizer_info"})
# a forwarded answer goes back to our client whole: smaller than a stream may total, and no
# deeper than the API's own shapes (logprobs nest 5 levels)
FORWARD_MAX_BODY = 16 * 2**20
FORWARD_MAX_DEPTH = 16
DEFAULT_MAX_TOKENS = 4096  # a stream asked without max_tokens is still cut somewhere
WHOLE_ANSWER_SLACK = 2**20  # of a whole answer's body, beyond its text: ids, usage, thinking


class OpenAIEngine:
    def __init__(
        self,
        model_id: str,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
        loglikelihood: bool | None = False,
        max_parallel: int = 8,
        stream: bool = True,
        transport: httpx.BaseTransport | None = None,
        opens_thinking: bool = False,
    ) -> None:
        """`loglikelihood`: True when the user states the server's prompt log-probs are right,
        False when not, None to probe the server on first use of `capabilities`.
        `opens_thinking`: the user states the server's chat template opens `<think>`
        (engines/thinking.py); its prompts are not ours to read."""
        self.model_id = model_id
        self.opens_thinking = opens_thinking
        # a query (Azure's ?api-version=) goes on every request, after the route: httpx
        # would append the route to the query itself (tenth probe)
        self.base_url, query = split_query(base_url)
        self.shown_url = public_url(self.base_url)  # errors reach API clients: no password
        self.model = model or model_id
        self.stream = stream
        self.timeout_s = timeout_s
        key = api_key or (os.environ.get(api_key_env) if api_key_env else None)
        # an upstream may echo the credentials it was sent, whole or in part
        self._secrets = UpstreamSecrets(base_url, key)
        # uncompressed answers only: httpx inflates a whole network chunk (through every
        # stacked encoding) before our size bounds see it (fourth probe: 1 KB -> 512 MiB)
        headers = {"Accept-Encoding": "identity"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            base_url=self.base_url,
            params=query,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            transport=transport,
        )
        self._max_parallel = max_parallel
        self._probe_lock = threading.Lock()
        self.probe: ProbeVerdict | None = None
        if loglikelihood is None:
            self.capabilities = self._capabilities(False, "not probed yet", pending=True)
        else:
            self.capabilities = self._capabilities(
                loglikelihood, "stated by the user" if loglikelihood else ""
            )

    def _capabilities(self, loglikelihood: bool, basis: str, pending: bool = False) -> Capabilities:
        return Capabilities(
            chat=True,
            completion=True,
            loglikelihood=loglikelihood,
            chat_template=True,
            max_parallel=self._max_parallel,
            loglikelihood_basis=basis,
            loglikelihood_pending=pending,
        )

    def check_loglikelihood(self) -> None:
        """Probe the server's prompt log-probs once, when log-likelihood is first wanted."""
        with self._probe_lock:
            if self.capabilities.loglikelihood_pending:
                self.probe = self.probe_prompt_logprobs()
                self.capabilities = self._capabilities(self.probe.trusted, self.probe.basis)

    # -- wire -----------------------------------------------------------------------------

    def _payload(self, params: SamplingParams) -> dict[str, Any]:
        p: dict[str, Any] = {
            "model": self.model,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            p["stop"] = list(params.stop)
        if params.seed is not None:
            p["seed"] = params.seed
        return p

    def _open(self, path: str, payload: dict[str, Any] | None, stream: bool) -> httpx.Response:
        """Send once (a GET without a payload); raise a classified EngineError on transport
        failure or error status."""
        try:
            method = "GET" if payload is None else "POST"
            req = self._client.build_request(method, path, json=payload)
            resp = self._client.send(req, stream=stream)
        except httpx.HTTPError as e:
            raise self._lost(e, "before an answer") from e
        encoding = resp.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            resp.close()
            raise EngineResponseError(
                f"{self.shown_url}{path if '://' not in path else ''}: the server compressed its"
                f" answer ({encoding[:40]}) although asked not to; openscout reads only plain"
                " answers, so that their size is known before they are unpacked",
                cause="malformed body",
            )
        if not 200 <= resp.status_code < 300:  # a 302 is no answer either (never followed)
            try:  # an error body that trickles must not outlast the engine's deadline either
                body = read_body(resp, 2**20, time.monotonic() + self.timeout_s)
            except (httpx.HTTPError, EngineResponseError):
                body = b""
            resp.close()
            where = public_url(path) if "://" in path else f"{self.shown_url}{path}"
            said = (  # an auth refusal's text is where servers echo the key they were sent
                "the server refused the credentials (check the model's api key)"
                if resp.status_code == 401
                else self._said(body, resp.status_code)  # its own words, any key masked
            )
            if resp.status_code == 403:  # a moderation refusal too: its words say which
                said += " (if it is the key: check the model's api key)"
            if 300 <= resp.status_code < 400 and (to := resp.headers.get("location")):
                # where it points, without credentials: an http -> https proxy is common
                said += f" (it points to {self._redacted(public_url(to), 200)}: register that URL)"
            if resp.status_code in (400, 413, 422, 429) and context_overflow(body):
                # OpenAI's documented code, vLLM's words: the request, not the server, is at
                # fault, as with a local model (a judge's overflow read as an outage left
                # padded answers out of the score: 35th probe)
                raise ContextLengthError(f"{where} answered HTTP {resp.status_code}: {said}")
            raise EngineResponseError(
                f"{where} answered HTTP {resp.status_code}: {said}",
                status=resp.status_code,
                transient=resp.status_code in TRANSIENT_STATUSES,
                retry_after=retry_after_s(resp.headers.get("retry-after")),
            )
        return resp

    def _redacted(self, text: str | bytes, most: int = SHOWN_CHARS) -> str:
        """Text from or about the upstream, at most `most` characters, with the URL's
        credentials and our key taken out: errors reach API clients, the log and the
        results database (a 60 MB error message was relayed whole; eleventh probe). The
        mask runs before the final cut, over a little more than is kept, so a key across
        the cut is masked too (ninth probe)."""
        if isinstance(text, bytes):
            text = text[: 4 * (most + 256)].decode("utf-8", "replace")
        text = self._secrets.text(text[: most + 256])
        return text if len(text) <= most else text[:most] + "..."

    def _said(self, body: bytes | str, status: int) -> str:
        """What the upstream's error body says, without secrets (some servers echo the key:
        "Incorrect API key provided: Bearer sk-...")."""
        return self._redacted(error_message(body, status))

    def _lost(self, e: httpx.HTTPError, when: str) -> EngineUnavailableError:
        """httpx's failures as transient errors; `when`: before an answer, mid-stream/-body."""
        hint = None
        if isinstance(e, httpx.TimeoutException):
            what, cause = f"timed out {when} ({e.__class__.__name__})", "timeout"
            hint = "the server may be overloaded; try again or raise the timeout"
        elif isinstance(e, httpx.ConnectError):
            what, cause = f"cannot connect ({e})", "connection refused"
            hint = "is the server running, and is the base URL right (it usually ends in /v1)?"
        else:
            cause = {"mid-stream": "stream cut", "mid-body": "body cut"}.get(
                when, "connection lost"
            )
            what = f"connection lost {when} ({e})"
        return EngineUnavailableError(
            f"{self.shown_url}: {self._redacted(what)}",
            hint=hint,
            transient=True,
            cause=cause,
        )

    def _sse(
        self, resp: httpx.Response, moved: list[float], deadline: float
    ) -> Iterator[dict[str, Any]]:
        """The stream's events; an answer that has not moved (`moved[0]`, set by the caller)
        for the engine's timeout, or is not over by `deadline`, ends, whatever else the
        server keeps sending."""
        try:
            for line in iter_lines(resp, line_timeout_s=self.timeout_s):
                if time.monotonic() > deadline:
                    raise EngineResponseError(
                        f"{self.shown_url}: the answer was not over in {self.timeout_s:g} s"
                        f" and {SECONDS_A_TOKEN:g} s a token asked",
                        transient=True,
                        cause="timeout",
                    )
                if time.monotonic() - moved[0] > self.timeout_s:
                    raise EngineResponseError(
                        f"{self.shown_url}: the answer has not moved for {self.timeout_s:g} s"
                        " (the server sends only keep-alive lines or empty events)",
                        transient=True,
                        cause="stalled stream",
                    )
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                if not data:  # 64 MiB of empty `data:` lines took 88 s through the JSON reader
                    continue
                try:
                    event = load_json(data, EVENT_MAX_VALUES)
                except TooManyValues as e:  # one event is a token or two, never thousands
                    raise EngineResponseError(
                        f"{self.shown_url}: a stream event holds {e}",
                        transient=True,
                        cause="malformed body",
                    ) from e
                except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
                    continue
                if not isinstance(event, dict):  # `data: null`, `[1]`, `5`: no event of ours
                    continue
                if "error" in event:
                    said = f"{self.shown_url}: error in stream: {self._said(data, 200)}"
                    raise self._error_in_answer(said, event, "stream")
                yield event
        except httpx.HTTPError as e:
            raise self._lost(e, "mid-stream") from e
        finally:
            resp.close()

    def _stream(self, path: str, payload: dict[str, Any], chat: bool) -> Iterator[StreamEvent]:
        # A server that ignores max_tokens must not answer without end: one delta is one token
        # on every server we know, so far more deltas (or text) than asked ends the answer.
        asked = Asked(int(payload.get("max_tokens") or DEFAULT_MAX_TOKENS), bytes_of(payload))
        max_chunks, max_chars = 2 * asked.tokens + 16, asked.max_chars
        if not self.stream:
            yield from self._whole(path, payload, chat, asked)
            return
        payload = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        resp = self._open(path, payload, stream=True)
        if "json" in resp.headers.get("content-type", ""):
            # Some servers ignore `stream` and answer with one JSON body.
            yield from self._parse_whole(resp, path, chat, asked)
            return
        n_events, n_chunks, n_chars, n_bytes, usage, reason = 0, 0, 0, 0, None, None
        # when the answer last moved: keep-alive comments or events without text every
        # half second held `generate` past 100 s with a 5 s timeout (fourteenth probe)
        moved = [time.monotonic()]
        # and a whole answer's deadline: a token every timeout_s - 1 s held an item for
        # (2 max_tokens + 16) timeouts, 17 hours at the defaults (40th probe)
        events = self._sse(resp, moved, moved[0] + self.timeout_s + SECONDS_A_TOKEN * asked.tokens)
        for event in events:
            n_events += 1
            usage = usage_of(event) or usage
            for choice in choices_of(event, self.shown_url, path):
                if choice.get("index", 0) != 0:  # we ask for one answer; others are not ours
                    continue
                holder = choice.get("delta") if chat else choice
                key = "content" if chat else "text"
                text = answer_of(holder, key, chat)
                # thinking first, also beside an answer in one delta (a gateway's one-delta
                # "stream"): dropped there, the answer read as a thought the prompt opened
                # and was thrown away (44th probe)
                if chat and (thought := thinking_text(holder)):  # progress, counted
                    other = len(thought)
                    n_chunks, n_chars, n_bytes = n_chunks + 1, n_chars + other, n_bytes + 4 * other
                    moved[0] = time.monotonic()
                    yield self._thought(thought)
                if text:
                    n_chunks, n_chars = n_chunks + 1, n_chars + len(text)
                    n_bytes += utf8_bytes(text)
                    moved[0] = time.monotonic()
                    yield Chunk(self._secrets.data(text), time.perf_counter())
                reason = choice.get("finish_reason") or reason
                if n_chunks >= max_chunks or n_chars >= max_chars:  # checked per choice
                    break
            if n_chunks >= max_chunks or n_chars >= max_chars:
                events.close()  # closes the response: the server ignored max_tokens
                reason, usage = "length", None
                break
        if reason is None:
            # Without a finish event the answer may be cut short (llama-cpp-python's server
            # interrupts a stream this way when another request arrives): never an answer.
            cause = "empty body" if n_events == 0 else "no finish event"
            raise EngineResponseError(
                f"{self.shown_url}{path}: the stream ended without a finish_reason "
                f"after {n_events} events ({cause}); the answer may be cut short",
                transient=True,
                cause=cause,
            )
        finish = finish_of(reason, f"{self.shown_url}{path}")
        yield final_of(usage, n_chunks, finish, asked.tokens, asked.prompt_bytes, n_bytes)

    def _whole(
        self, path: str, payload: dict[str, Any], chat: bool, asked: Asked
    ) -> Iterator[StreamEvent]:
        """Non-streaming request: one chunk with the whole text (TTFT = full latency)."""
        resp = self._open(path, {**payload, "stream": False}, stream=True)  # read in bounds
        yield from self._parse_whole(resp, path, chat, asked)

    def _parse_whole(
        self, resp: httpx.Response, path: str, chat: bool, asked: Asked
    ) -> Iterator[StreamEvent]:
        max_chars = asked.max_chars
        # the body of an answer of max_chars characters, each at most a 12-byte JSON escape
        # (an emoji's surrogate pair), and room for the rest: a 60 MiB answer to a request
        # that keeps 64 characters a token decoded to 4 bytes a character and ran the server
        # out of memory four at a time (sixteenth probe)
        limit = min(MAX_BODY, WHOLE_ANSWER_SLACK + 12 * max_chars)
        data = self._json(resp, path, limit, deadline=time.monotonic() + self.timeout_s)
        choices = choices_of(data, self.shown_url, path)
        if not choices:
            raise EngineResponseError(
                f"{self.shown_url}{path}: malformed response (no choices)",
                transient=True,
                cause="malformed body",
            )
        choice = choices[0]
        text = answer_of(
            choice.get("message") if chat else choice, "content" if chat else "text", chat
        )
        reason, usage = choice.get("finish_reason"), usage_of(data)
        if len(text) > max_chars:
            # held to what a stream may carry: a 100 KB answer to 256 tokens held `eval`'s
            # scoring 79 s (fifteenth probe), and the upstream ignored max_tokens anyway
            text, reason, usage = text[:max_chars], "length", None
        # the thinking the message carries apart, as a stream's deltas would: dropped, the
        # answer of a model whose prompt opens thinking was thrown away as a thought, and
        # the reference count of a whole answer missed it (44th probe)
        thought = thinking_text(choice.get("message"))[:max_chars] if chat else ""
        if thought:
            yield self._thought(thought)
        if text:
            yield Chunk(self._secrets.data(text), time.perf_counter())
        sent = utf8_bytes(text) + 4 * len(thought)  # a character of thinking: at most 4 bytes
        n_chunks = bool(text) + bool(thought)
        finish = finish_of(reason, f"{self.shown_url}{path}")
        yield final_of(usage, n_chunks, finish, asked.tokens, asked.prompt_bytes, sent)

    def _thought(self, thought: str) -> Chunk:
        return Chunk("", time.perf_counter(), thought=True, thinking=self._secrets.data(thought))

    def _json(
        self,
        resp: httpx.Response,
        path: str,
        limit: int = MAX_BODY,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """The whole body as a JSON object; a cut, empty or non-JSON body is a transient error."""
        try:
            body = read_body(resp, limit, deadline)
        except httpx.HTTPError as e:
            raise self._lost(e, "mid-body") from e
        finally:
            resp.close()
        if not body.strip():
            raise EngineResponseError(
                f"{self.shown_url}{path}: empty body", transient=True, cause="empty body"
            )
        try:
            data = load_json(body)
        except TooManyValues as e:
            raise EngineResponseError(
                f"{self.shown_url}{path}: the answer holds {e}",
                transient=True,
                cause="malformed body",
            ) from e
        except (ValueError, RecursionError) as e:
            raise EngineResponseError(
                f"{self.shown_url}{path}: the body is not JSON"
                f" ({self._redacted(repr(self._redacted(body, 80)))})",
                transient=True,
                cause="malformed body",
            ) from e
        if not isinstance(data, dict):
            raise EngineResponseError(
                f"{self.shown_url}{path}: unexpected body", transient=True, cause="malformed body"
            )
        if "error" in data and "choices" not in data:
            said = f"{self.shown_url}{path}: {self._said(body, 200)}"
            raise self._error_in_answer(said, data, "body")
        return data

    def _error_in_answer(
        self, message: str, data: dict[str, Any], where: str
    ) -> EngineResponseError:
        """An error inside a 200 answer: asked again unless it names a status that asking
        again cannot change (a provider's moderation refusing the prompt once it had begun:
        a 4xx), so that a judge's refusal of an answer is read as one (37th probe)."""
        status = embedded_status(data)
        return EngineResponseError(
            message,
            status=status,
            transient=status is None or status >= 500 or status in TRANSIENT_STATUSES,
            cause=f"error in {where}" if status is None else f"HTTP {status} in {where}",
        )

    # -- Engine protocol ---------------------------------------------------------------------

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]:
        payload = {**self._payload(params), "messages": [dict(m) for m in messages]}
        stream = self._stream("/chat/completions", payload, chat=True)
        return marked_thinking_open(stream, self.opens_thinking)  # the server's template

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        payload = {**self._payload(params), "prompt": prompt}
        stream = self._stream("/completions", payload, chat=False)
        return marked_thinking_open(stream, prompt_opens_thinking(prompt))

    def _echo_logprobs(self, text: str) -> dict[str, Any]:
        """Prompt log-probs of `text`. max_tokens 1, as lm-evaluation-harness sends: some
        servers refuse 0, llama-cpp-python reads 0 as 'until the context is full'."""
        payload = {
            "model": self.model,
            "prompt": text,
            "max_tokens": 1,
            "echo": True,
            "logprobs": 1,
            "temperature": 0.0,
        }
        resp = self._open("/completions", payload, stream=True)  # read within our bounds
        data = self._json(resp, "/completions", deadline=time.monotonic() + self.timeout_s)
        return echo_logprobs(data, self.shown_url)

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult:
        """Score through /completions with echo+logprobs (the convention lm-eval relies on)."""
        if self.capabilities.loglikelihood_pending:
            self.check_loglikelihood()
        if not self.capabilities.loglikelihood:
            raise CapabilityError(
                f"{self.model_id}: this endpoint is not configured for log-likelihood"
            )
        lp = self._echo_logprobs(context + continuation)
        return continuation_logprob(lp, context, continuation, self.shown_url)

    def probe_prompt_logprobs(self) -> ProbeVerdict:
        """Ask for the echo log-probs of a predictable text and check their alignment."""
        try:
            lp = self._echo_logprobs(PROBE_TEXT)
        except EngineError as e:
            if e.transient:  # one more try: a busy server should not decide the method
                time.sleep(1.0)
                try:
                    lp = self._echo_logprobs(PROBE_TEXT)
                except EngineError as e2:
                    return ProbeVerdict(False, "failed", e2.message[:200])
            else:
                return ProbeVerdict(False, "failed", e.message[:200])
        return judge_alignment(lp)

    def list_remote_models(self) -> list[str]:
        """The ids the server lists, its body read within http_bounds' limits like any answer."""
        listed = self._json(self._open("/models", None, stream=True), "/models").get("data")
        if not isinstance(listed, list):
            raise EngineResponseError(
                f"{self.shown_url}/models: no list of models", cause="malformed body"
            )
        return [m["id"] for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def forward(self, route: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """An API request sent on as it came, for the upstream to compute (RequestForwarding):
        the model renamed to the upstream's, the answer renamed back to ours. A refusal (a 4xx
        that retrying will not change) says the upstream does not do this."""
        if route in ROOT_ROUTES:  # vLLM serves its tokenizer at the root, not under /v1
            root = self.base_url.removesuffix("/v1")
            path, shown = root + route, public_url(root) + route
        else:
            path, shown = route, self.shown_url + route
        payload = None if body is None else {**body, "model": self.model}
        if payload is not None and route not in ROOT_ROUTES:
            payload["stream"] = False
        try:
            resp = self._open(path, payload, stream=True)
        except EngineResponseError as e:
            if e.status is not None and 400 <= e.status < 500 and not e.transient:
                raise CapabilityError(
                    f"the upstream server refused this request at {shown}: {e.message}",
                    hint="it may not support it; vLLM does",
                ) from e
            raise
        data = self._json(resp, route, FORWARD_MAX_BODY, time.monotonic() + self.timeout_s)
        if nested_deeper_than(data, FORWARD_MAX_DEPTH):
            raise EngineResponseError(
                f"{shown}: the answer nests deeper than {FORWARD_MAX_DEPTH} levels",
                cause="malformed body",
            )
        if "model" in data:
            data["model"] = self.model_id
        return self._secrets.json(data)

    def close(self) -> None:
        self._client.close()
