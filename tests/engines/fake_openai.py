"""A small OpenAI-compatible server on 127.0.0.1 that misbehaves on purpose, the way real
servers do. Real HTTP/1.1 over a real socket (stdlib `ThreadingHTTPServer`), chunked SSE
written by hand so that a body can be cut mid-stream. Bounded: a stalled answer ends when
the server stops, and `serve()` stops it on exit.

Behaviours (`FakeServer.behaviour`, changeable while it runs):
- ok              stream the reply, a finish_reason, usage, [DONE]
- cut_concurrent  answer one request at a time; a streaming answer that sees another request
                  waiting sends [DONE] and drops the connection mid-body, as llama-cpp-python's
                  server does (interrupt_requests, its default)
- rate_limit      429 with Retry-After while more than `concurrent_ok` requests are in flight
- truncated       some text, then the body ends cleanly without a finish event or [DONE]
- cut             some text, then the connection closes mid-body
- empty           200 with an empty body
- unavailable     503 with an error body
- refuse          `refusal`: a status and an error body (by default Azure OpenAI's 400 when
                  its content filter refuses a prompt, code `content_filter`)
- stall           some text, then nothing until the server stops
`misbehave_first` limits the misbehaviour to the first N requests; `misbehave_on` to prompts
containing one of its strings. Echo requests (`echo` + `logprobs`) are answered by `echo_fn`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openscout.engines.logprob_probe import PROBE_TEXT


def reply_ok_word(prompt: str) -> str:
    """'Item 3: say w3' -> 'ok w3' (what tests.evals.helpers.write_suite items expect)."""
    return "ok " + prompt.split()[-1] if prompt.split() else "ok"


def counting_logprobs(shift: int) -> dict[str, Any]:
    """Echo log-probs of PROBE_TEXT from a 'model' that predicts counting perfectly; with
    shift=1 each position reports the distribution after itself (llama-cpp-python's bug)."""
    tokens, offsets, pos = [], [], 0
    for part in PROBE_TEXT.replace(",", " ,").split(" "):
        piece = part if not tokens or part == "," else " " + part
        tokens.append(piece)
        offsets.append(pos)
        pos += len(piece)
    tops: list[Any] = [None]
    for i in range(1, len(tokens)):
        j = min(i + shift, len(tokens) - 1)
        tops.append({tokens[j]: -0.01})
    lps = [None] + [-0.01 if shift == 0 else -9.0 for _ in tokens[1:]]
    return {"tokens": tokens, "text_offset": offsets, "token_logprobs": lps, "top_logprobs": tops}


# Azure OpenAI's answer when its content filter refuses a prompt (its documented shape)
CONTENT_FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering the content"
        " management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
    }
}


@dataclass
class Seen:
    t: float
    path: str
    prompt: str
    outcome: str = "?"


@dataclass
class FakeServer:
    behaviour: str = "ok"
    reply: Callable[[str], str] = reply_ok_word
    retry_after: float = 1.0
    concurrent_ok: int = 1
    misbehave_first: int | None = None
    misbehave_on: tuple[str, ...] = ()
    echo_fn: Callable[[str], dict[str, Any]] | None = None
    chunk_delay_s: float = 0.01
    answer_delay_s: float = 0.0  # before an answer that is no 429, counted in flight
    word_gap_s: float = 0.0  # between the words of an `ok` stream (a model decoding)
    prompt_tokens: int = 5  # what an `ok` stream's usage claims it read
    completion_tokens: int | None = None  # what it claims it wrote (None: one a word)
    refuse_system: bool = False  # misbehave for any request with a system message
    delay_a_char_s: float = 0.0  # more before an answer for each character of the prompt
    refusal: tuple[int, dict[str, Any]] = (400, CONTENT_FILTERED)
    seen: list[Seen] = field(default_factory=list)
    peak_in_flight: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.generation_lock = threading.Lock()
        self.waiting = 0
        self.in_flight = 0
        self.stop = threading.Event()
        self.url = ""

    def outcomes(self) -> list[str]:
        with self.lock:
            return [s.outcome for s in self.seen]

    def misbehaves(self, prompt: str, number: int) -> bool:
        if self.misbehave_first is not None and number >= self.misbehave_first:
            return False
        return not self.misbehave_on or any(s in prompt for s in self.misbehave_on)


def _has_system(body: dict[str, Any]) -> bool:
    return any(m.get("role") == "system" for m in body.get("messages") or [])


def _prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        return str(body["messages"][-1]["content"])
    return str(body.get("prompt", ""))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeServer

    def log_message(self, *args: object) -> None:
        pass

    # -- wire helpers ------------------------------------------------------------------------
    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _event(self, obj: Any) -> None:
        self._chunk(
            b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
        )

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the socket without the chunked terminator: 'incomplete chunked read'."""
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    # -- the API -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def do_POST(self) -> None:
        fake = self.fake
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        prompt = _prompt_of(body)
        with fake.lock:
            number = len(fake.seen)
            seen = Seen(time.monotonic(), self.path, prompt)
            fake.seen.append(seen)
            fake.in_flight += 1
            fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
            # only a rate limit counts requests over: on a busy machine the next request can
            # arrive before this thread has counted the last one out, and skipped its delay
            over = fake.behaviour == "rate_limit" and fake.in_flight > fake.concurrent_ok
        try:
            if not over:  # a refusal leaves at once, so `seen.t` is when it left
                time.sleep(fake.answer_delay_s + fake.delay_a_char_s * len(prompt))
            bad = fake.misbehaves(prompt, number) or (fake.refuse_system and _has_system(body))
            self._answer(fake, body, prompt, bad, over, seen)
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def _answer(
        self, fake: FakeServer, body: dict[str, Any], prompt: str, bad: bool, over: bool, seen: Seen
    ) -> None:
        chat = "messages" in body
        behaviour = fake.behaviour if bad else "ok"
        if body.get("echo") and fake.echo_fn is not None:
            seen.outcome = "echo"
            lp = fake.echo_fn(prompt)
            self._json(200, {"choices": [{"index": 0, "text": prompt, "logprobs": lp}]})
            return
        if behaviour == "rate_limit" and over:
            seen.outcome = "429"
            self._json(
                429,
                {"error": {"message": "too many requests", "type": "rate_limit"}},
                {"Retry-After": f"{fake.retry_after:g}"},
            )
            return
        if behaviour == "refuse":
            seen.outcome = str(fake.refusal[0])
            self._json(*fake.refusal)
            return
        if behaviour == "unavailable":
            seen.outcome = "503"
            self._json(503, {"error": {"message": "overloaded", "type": "server_error"}})
            return
        text = fake.reply(prompt)
        if not body.get("stream"):
            seen.outcome = "ok"
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            choice.update(
                {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            )
            self._json(
                200, {"choices": [choice], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
            )
            return
        if behaviour == "empty":
            seen.outcome = "empty"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if behaviour == "cut_concurrent":
            self._interruptible(fake, text, chat, seen)
            return
        self._start_sse()
        words = text.split(" ")
        if behaviour in ("truncated", "cut", "stall"):
            self._event(_delta(words[0], chat, None))
            if behaviour == "truncated":
                seen.outcome = "truncated"
                self._end()
            elif behaviour == "cut":
                seen.outcome = "cut"
                self._drop()
            else:
                seen.outcome = "stall"
                fake.stop.wait(60)
                self._drop()
            return
        seen.outcome = "ok"  # before the last byte: the client may look as soon as it has it
        self._stream(words, chat, fake.word_gap_s)

    def _stream(self, words: list[str], chat: bool, gap_s: float = 0.0) -> None:
        for i, w in enumerate(words):
            if i and gap_s:
                time.sleep(gap_s)
            self._event(_delta(w if i == 0 else " " + w, chat, None))
        self._event(_delta("", chat, "stop"))
        wrote = self.fake.completion_tokens or len(words)
        usage = {"prompt_tokens": self.fake.prompt_tokens, "completion_tokens": wrote}
        self._event({"choices": [], "usage": usage})
        self._event(b"[DONE]")
        self._end()

    def _interruptible(self, fake: FakeServer, text: str, chat: bool, seen: Seen) -> None:
        """One answer at a time; a later request waiting for its turn cuts this one short."""
        with fake.lock:
            fake.waiting += 1
        with fake.generation_lock:
            with fake.lock:
                fake.waiting -= 1
            self._start_sse()
            self._event(_delta("", chat, None))  # the role chunk comes first
            for i, w in enumerate(text.split(" ")):
                time.sleep(fake.chunk_delay_s)
                with fake.lock:
                    interrupted = fake.waiting > 0
                if interrupted:
                    seen.outcome = "interrupted"
                    self._event(b"[DONE]")
                    self._drop()
                    return
                self._event(_delta(w if i == 0 else " " + w, chat, None))
            seen.outcome = "ok"
            self._event(_delta("", chat, "stop"))
            self._event(b"[DONE]")
            self._end()


def _delta(text: str, chat: bool, finish: str | None) -> dict[str, Any]:
    if chat:
        return {
            "id": "c1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
        }
    return {
        "id": "c1",
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
    }


@contextlib.contextmanager
def serve(fake: FakeServer, host: str = "127.0.0.1") -> Iterator[FakeServer]:
    """Run `fake` on `host` (127.0.0.1) and a free port; `fake.url` is its /v1 base URL."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://{host}:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        fake.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
