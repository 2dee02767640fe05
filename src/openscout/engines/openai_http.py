"""Any OpenAI-compatible server (vLLM, TGI, SGLang, Ollama, llama.cpp server, Azure AI
Foundry, HF endpoints) through its /v1 chat and completion routes, streamed over SSE.

Policy kept here on purpose, because it is about the wire: bounded retries on connection
errors only (never after the server has started answering), and one mapping from the error
shapes servers return (OpenAI's nested object, older vLLM's flat object, Ollama's string) to
EngineResponseError.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from openscout.engines.base import (
    Capabilities,
    Chunk,
    Final,
    LoglikelihoodResult,
    Message,
    SamplingParams,
    StreamEvent,
)
from openscout.errors import CapabilityError, EngineResponseError, EngineUnavailableError

CONNECT_RETRIES = 2


def error_message(body: bytes | str, status: int) -> str:
    """Pull the human message out of any of the error shapes servers use."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500] or f"HTTP {status}"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if data.get("object") == "error" and data.get("message"):
            return str(data["message"])
        if data.get("detail"):
            return str(data["detail"])
        if data.get("message"):
            return str(data["message"])
    return text.strip()[:500]


class OpenAIEngine:
    def __init__(
        self,
        model_id: str,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
        loglikelihood: bool = False,
        max_parallel: int = 8,
        stream: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model_id = model_id
        self.base_url = base_url.rstrip("/")
        self.model = model or model_id
        self.stream = stream
        key = api_key or (os.environ.get(api_key_env) if api_key_env else None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            transport=transport,
        )
        self.capabilities = Capabilities(
            chat=True,
            completion=True,
            loglikelihood=loglikelihood,
            chat_template=True,
            max_parallel=max_parallel,
        )

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

    def _open(self, path: str, payload: dict[str, Any], stream: bool) -> httpx.Response:
        """Send with retries on connection failure only; raise on error statuses."""
        last: Exception | None = None
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                req = self._client.build_request("POST", path, json=payload)
                resp = self._client.send(req, stream=stream)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                last = e
                time.sleep(0.2 * 2**attempt)
            except httpx.TimeoutException as e:
                raise EngineUnavailableError(
                    f"{self.base_url}: timed out waiting for the server ({e.__class__.__name__})",
                    hint="the server may be overloaded; try again or raise the timeout",
                ) from e
        else:
            raise EngineUnavailableError(
                f"cannot connect to {self.base_url} ({last})",
                hint="is the server running, and is the base URL right (it usually ends in /v1)?",
            ) from last
        if resp.status_code >= 400:
            body = resp.read()
            resp.close()
            raise EngineResponseError(
                f"{self.base_url}{path} answered HTTP {resp.status_code}: "
                f"{error_message(body, resp.status_code)}",
                status=resp.status_code,
            )
        return resp

    def _sse(self, resp: httpx.Response) -> Iterator[dict[str, Any]]:
        try:
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if isinstance(event, dict) and "error" in event:
                    raise EngineResponseError(
                        f"{self.base_url}: error in stream: {error_message(data, 200)}"
                    )
                yield event
        except httpx.TransportError as e:
            raise EngineUnavailableError(
                f"{self.base_url}: connection lost mid-stream ({e})"
            ) from e
        finally:
            resp.close()

    def _stream(self, path: str, payload: dict[str, Any], chat: bool) -> Iterator[StreamEvent]:
        if not self.stream:
            yield from self._whole(path, payload, chat)
            return
        payload = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        resp = self._open(path, payload, stream=True)
        n_chunks, usage, reason = 0, None, None
        for event in self._sse(resp):
            if event.get("usage"):
                usage = event["usage"]
            for choice in event.get("choices") or []:
                text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                if text:
                    n_chunks += 1
                    yield Chunk(text, time.perf_counter())
                reason = choice.get("finish_reason") or reason
        yield _final(usage, n_chunks, reason)

    def _whole(self, path: str, payload: dict[str, Any], chat: bool) -> Iterator[StreamEvent]:
        """Non-streaming request: one chunk with the whole text (TTFT = full latency)."""
        resp = self._open(path, {**payload, "stream": False}, stream=False)
        try:
            data = resp.json()
            choice = data["choices"][0]
            text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise EngineResponseError(f"{self.base_url}{path}: malformed response ({e})") from e
        if text:
            yield Chunk(text, time.perf_counter())
        yield _final(data.get("usage"), 1 if text else 0, choice.get("finish_reason"))

    # -- Engine protocol ---------------------------------------------------------------------

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]:
        payload = {**self._payload(params), "messages": [dict(m) for m in messages]}
        return self._stream("/chat/completions", payload, chat=True)

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        payload = {**self._payload(params), "prompt": prompt}
        return self._stream("/completions", payload, chat=False)

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult:
        """Score through /completions with echo+logprobs (the convention lm-eval relies on)."""
        if not self.capabilities.loglikelihood:
            raise CapabilityError(
                f"{self.model_id}: this endpoint is not configured for log-likelihood"
            )
        payload = {
            "model": self.model,
            "prompt": context + continuation,
            "max_tokens": 0,
            "echo": True,
            "logprobs": 1,
            "temperature": 0.0,
        }
        resp = self._open("/completions", payload, stream=False)
        try:
            lp = resp.json()["choices"][0]["logprobs"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise EngineResponseError(f"{self.base_url}: no logprobs in the response") from e
        total, greedy, n = 0.0, True, 0
        for off, tok, tlp, top in zip(
            lp["text_offset"],
            lp["tokens"],
            lp["token_logprobs"],
            lp.get("top_logprobs") or [],
            strict=False,
        ):
            if off < len(context) or tlp is None:
                continue
            total += tlp
            n += 1
            if top:
                best = max(top, key=lambda k: top[k])
                if best != tok and top[best] > tlp + 1e-6:
                    greedy = False
        return LoglikelihoodResult(total, greedy, n)

    def list_remote_models(self) -> list[str]:
        try:
            resp = self._client.get("/models")
        except httpx.TransportError as e:
            raise EngineUnavailableError(f"cannot connect to {self.base_url} ({e})") from e
        if resp.status_code >= 400:
            raise EngineResponseError(
                f"{self.base_url}/models answered HTTP {resp.status_code}: "
                f"{error_message(resp.content, resp.status_code)}",
                status=resp.status_code,
            )
        return [m.get("id", "") for m in resp.json().get("data", [])]

    def close(self) -> None:
        self._client.close()


def _final(usage: dict[str, Any] | None, n_chunks: int, reason: str | None) -> Final:
    finish = reason if reason in ("stop", "length") else "stop"
    if usage:
        return Final(
            int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), finish
        )  # type: ignore[arg-type]
    # No usage from the server: one SSE delta is one token on every server we know.
    return Final(0, n_chunks, finish, extra={"usage_estimated": True})  # type: ignore[arg-type]
