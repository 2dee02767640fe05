"""Upstream answers that are hostile rather than broken: a stream that never ends, values of
the wrong type, JSON nested past Python's stack. Each is a bounded answer or a clear
EngineError, never a crash or an endless relay (independent probe, issue 17)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import httpx
import pytest

from openscout.engines.base import SamplingParams, collect
from openscout.engines.openai_http import OpenAIEngine
from openscout.engines.openai_wire import CHARS_PER_TOKEN_CAP
from openscout.errors import EngineError

SSE = {"content-type": "text/event-stream"}


def _engine(handler, **options) -> OpenAIEngine:  # type: ignore[no-untyped-def]
    return OpenAIEngine(
        "u", "http://upstream.test/v1", transport=httpx.MockTransport(handler), **options
    )


def _event(delta: object) -> bytes:
    return b"data: " + json.dumps({"choices": [{"delta": {"content": delta}}]}).encode() + b"\n\n"


def test_a_stream_that_ignores_max_tokens_is_cut_near_it() -> None:
    sent = itertools.count()

    def endless() -> Iterator[bytes]:
        for _ in sent:
            yield _event("tok ")

    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=endless()))
    _, final, chunks = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=50))
    )
    assert final.finish_reason == "length"
    assert 50 <= len(chunks) <= 2 * 50 + 16
    assert next(sent) < 1000  # the relay stopped reading, too


@pytest.mark.parametrize("stream", [True, False])
def test_a_whole_answer_past_max_tokens_is_cut_like_a_stream(stream: bool) -> None:
    """A 100 KB answer to 256 tokens, sent as one JSON body (asked for or not), held `eval`'s
    scoring 79 s (fifteenth probe): it is held to what a stream of max_tokens may carry."""
    body = {"choices": [{"message": {"content": "x" * 100_000}, "finish_reason": "stop"}]}
    engine = _engine(lambda request: httpx.Response(200, json=body), stream=stream)
    text, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
    )
    assert text == "x" * (8 * CHARS_PER_TOKEN_CAP)
    assert final.finish_reason == "length"


def test_a_whole_answer_s_body_is_bounded_by_what_it_may_keep() -> None:
    """60 MiB of text and one emoji, asked for 2,048 tokens: Python keeps 4 bytes a character
    once decoded, and four such answers at once ran the server out of memory (sixteenth
    probe). A body past 12 bytes (the longest JSON escape) a character kept, plus 1 MiB, is
    refused unread."""
    from openscout.engines.openai_http import WHOLE_ANSWER_SLACK

    text = "a" * (20 * 2**20) + "\U0001f600"
    body = json.dumps({"choices": [{"message": {"content": text}, "finish_reason": "stop"}]})
    engine = _engine(lambda request: httpx.Response(200, content=body.encode()), stream=False)
    with pytest.raises(EngineError, match="over"):
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )
    within = "\U0001f600" * (8 * CHARS_PER_TOKEN_CAP)  # 12 bytes each as escapes
    fits = json.dumps({"choices": [{"message": {"content": within}, "finish_reason": "stop"}]})
    assert len(fits) < WHOLE_ANSWER_SLACK + 12 * len(within)
    engine = _engine(lambda request: httpx.Response(200, content=fits.encode()), stream=False)
    text, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
    )
    assert text == within and final.finish_reason == "stop"


@pytest.mark.parametrize(
    "body",
    [
        {"choices": [{"message": {"content": 42}, "finish_reason": "stop"}]},
        {"choices": "not a list"},
        {
            "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": "many", "completion_tokens": 2},
        },
    ],
)
def test_wrong_types_in_a_whole_answer_are_engine_errors_or_ignored(body: dict) -> None:
    engine = _engine(lambda request: httpx.Response(200, json=body))
    engine.stream = False
    try:
        text, final, _ = collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )
    except EngineError as e:
        assert "malformed" in e.message
    else:  # only the bad usage is survivable: it is ignored, not trusted
        assert text == "ok" and final.extra.get("usage_estimated")


def test_a_number_as_streamed_content_is_an_engine_error() -> None:
    def body() -> Iterator[bytes]:
        yield _event(7)
        yield b"data: [DONE]\n\n"

    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=body()))
    with pytest.raises(EngineError, match="malformed"):
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )


def test_json_nested_past_the_stack_is_an_engine_error() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    engine = _engine(
        lambda request: httpx.Response(
            200, headers={"content-type": "application/json"}, content=deep
        )
    )
    engine.stream = False
    with pytest.raises(EngineError, match="not JSON"):
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )


def test_a_stream_that_trickles_bytes_but_no_lines_is_stopped() -> None:
    """One byte at a time never trips the per-read timeout; no whole line for the timeout is
    a transient 'stalled stream' (the probe held a model's lanes this way until restart)."""
    import time

    sent = itertools.count()

    def trickle() -> Iterator[bytes]:
        for _ in sent:
            time.sleep(0.02)
            yield b"x"

    engine = _engine(
        lambda request: httpx.Response(200, headers=SSE, content=trickle()), timeout_s=0.3
    )
    with pytest.raises(EngineError) as info:
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert info.value.transient and info.value.cause == "stalled stream"
    assert next(sent) < 200


def test_a_stream_dripping_a_token_just_inside_the_timeout_has_a_deadline() -> None:
    """Each delta arriving just before the timeout kept the answer going for (2 max_tokens
    + 16) timeouts: an item held 49 s with a 2 s timeout and 8 tokens asked, 17 hours at
    the defaults (40th probe F10). A streamed answer ends at the timeout plus 1 s a token
    asked, a transient timeout like the others."""
    import time

    sent = itertools.count()

    def drip() -> Iterator[bytes]:
        for _ in sent:
            yield _event(" x")
            time.sleep(0.25)

    engine = _engine(
        lambda request: httpx.Response(200, headers=SSE, content=drip()), timeout_s=0.3
    )
    t0 = time.monotonic()
    with pytest.raises(EngineError) as info:
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=1))
        )
    assert info.value.transient and info.value.cause == "timeout"
    assert time.monotonic() - t0 < 3  # 0.3 s + 1 s a token, one line late at most


def test_a_compressed_answer_is_refused_before_it_is_unpacked() -> None:
    """1 KB of gzip-on-gzip unpacked to 512 MiB inside httpx, before any bound of ours
    (fourth probe). We ask for plain answers and refuse any other."""
    import gzip

    bomb = gzip.compress(gzip.compress(b"{" + b" " * (64 * 2**20)))
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("accept-encoding", ""))
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip, gzip"})

    engine = _engine(handler, loglikelihood=True)
    params = SamplingParams(max_tokens=4)
    with pytest.raises(EngineError, match="compressed"):
        collect(engine.stream_completion("hi", params))
    with pytest.raises(EngineError, match="compressed"):
        engine.loglikelihood("a", " b")
    assert asked and set(asked) == {"identity"}
    assert len(bomb) < 200_000


def test_a_scoring_answer_is_read_within_the_deadline() -> None:
    """Log-likelihood requests read their body whole with no deadline (fourth probe: a byte
    every 2 s ran past 200 s)."""
    import time

    def trickle() -> Iterator[bytes]:
        for _ in range(1000):
            time.sleep(0.2)
            yield b" "

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    engine = _engine(handler, timeout_s=1, loglikelihood=True)
    start = time.monotonic()
    with pytest.raises(EngineError, match="in time"):
        engine.loglikelihood("a", " b")
    assert time.monotonic() - start < 10


def test_an_error_body_that_trickles_ends_at_the_deadline() -> None:
    """A 500 whose body came a byte a second was read for as long as it lasted (fifth probe)."""
    import time

    def trickle() -> Iterator[bytes]:
        for _ in range(1000):
            time.sleep(0.2)
            yield b" "

    engine = _engine(lambda request: httpx.Response(500, content=trickle()), timeout_s=1)
    start = time.monotonic()
    with pytest.raises(EngineError, match="HTTP 500"):
        collect(engine.stream_completion("hi", SamplingParams(max_tokens=2)))
    assert time.monotonic() - start < 10


def _sse(*events: dict) -> bytes:
    return (
        b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    )


def test_a_lone_surrogate_from_upstream_becomes_a_replacement_character() -> None:
    """`"\\ud800"` is valid JSON but no UTF-8: it crashed the first database write (API 500,
    `eval` runs left running; seventh probe)."""
    raw = b'{"choices": [{"delta": {"content": "hi \\ud800 there"}, "finish_reason": "stop"}]}'
    engine = _engine(
        lambda request: httpx.Response(200, headers=SSE, content=b"data: " + raw + b"\n\n")
    )
    text, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams())
    )
    assert text == "hi \ufffd there" and final.finish_reason == "stop"
    text.encode("utf-8")  # storable
    whole = _engine(lambda request: httpx.Response(200, content=raw.replace(b"delta", b"message")))
    whole.stream = False
    assert (
        collect(whole.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))[0] == text
    )


def test_many_choices_in_one_event_are_cut_per_choice() -> None:
    """One event of 95,000 choices relayed 95,003 deltas for max_tokens 5 (seventh probe)."""
    many = {"choices": [{"delta": {"content": "a"}} for _ in range(3000)]}
    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=_sse(many, many)))
    _, final, chunks = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=5))
    )
    assert final.finish_reason == "length" and len(chunks) <= 2 * 5 + 16
    huge = {"choices": [{"delta": {"content": "a"}} for _ in range(20_000)]}
    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=_sse(huge)))
    with pytest.raises(EngineError, match="objects and lists"):
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=5))
        )


def test_a_forwarded_answer_of_millions_of_objects_is_refused_before_parsing() -> None:
    """16 MiB of `{},` (under the byte and depth bounds) parsed to 5.6 M objects, 450 MB."""
    body = b'{"choices": [' + b"{}," * 5_590_000 + b"{}]}"
    engine = _engine(lambda request: httpx.Response(200, content=body))
    with pytest.raises(EngineError, match="objects and lists"):
        engine.forward("/completions", {"prompt": "hi", "max_tokens": 0})


@pytest.mark.parametrize("count", [2**63, 10**30, 2**31, -1])
def test_token_counts_past_any_context_are_no_usage(count: int) -> None:
    """2**63 overflowed SQLite (API 500) and 10**30 made `bench` print 3.2e21 tokens/s."""
    body = {
        "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": count, "completion_tokens": count},
    }
    engine = _engine(lambda request: httpx.Response(200, json=body))
    engine.stream = False
    _, final, _ = collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert final.extra.get("usage_estimated") and final.completion_tokens == 1


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("reported", "believed"),
    [
        ((5, 20), True),  # what it sent
        ((5, 32), True),  # max_tokens: an answer may be more tokens than deltas
        ((5, 10**9), False),  # past max_tokens
        ((5, 33), False),
        ((10**6, 20), False),  # a prompt of 2 characters is no million tokens
        ((400, 20), True),  # 2 bytes and a template's tokens
        ((4096, 20), False),  # 4 a character and 4,096 gave 8.7 million prefill tokens/s
    ],
)
def test_token_counts_that_cannot_be_true_are_not_believed(
    stream: bool, reported: tuple[int, int], believed: bool
) -> None:
    """A server reporting 10^9 answer tokens for 20 deltas had 10 billion tokens/s in `bench`
    and `compare`, and was recommended (37th probe, high)."""
    usage = {"prompt_tokens": reported[0], "completion_tokens": reported[1]}
    words = [f" w{i}" for i in range(20)]

    def answer(request: httpx.Request) -> httpx.Response:
        if not json.loads(request.content).get("stream"):
            choice = {"message": {"content": "".join(words)}, "finish_reason": "stop"}
            return httpx.Response(200, json={"choices": [choice], "usage": usage})
        done = {"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": usage}
        body = b"".join(_event(w) for w in words) + b"data: " + json.dumps(done).encode()
        return httpx.Response(200, headers=SSE, content=body + b"\n\ndata: [DONE]\n\n")

    engine = _engine(answer)
    engine.stream = stream
    params = SamplingParams(max_tokens=32)
    _, final, _ = collect(engine.stream_chat([{"role": "user", "content": "hi"}], params))
    if believed:
        assert (final.prompt_tokens, final.completion_tokens) == reported
        assert not final.extra.get("usage_estimated")
    else:
        assert final.extra.get("usage_estimated")
        assert final.completion_tokens == (20 if stream else 1)  # the deltas, counted


def test_an_upstream_echoing_our_key_never_shows_it() -> None:
    """Servers answer 401 "Incorrect API key provided: Bearer sk-..." (eighth probe: the key
    reached API clients and the log word for word)."""
    secret = "sk-live-SECRET123"

    def echo(request: httpx.Request) -> httpx.Response:
        said = f"Incorrect API key provided: {request.headers['authorization']}"
        if request.url.path.endswith("/completions") and b"bad" in request.content:
            # the key past the 80 characters shown of a body that is not JSON (ninth probe)
            return httpx.Response(200, content=b"y" * 50 + said.encode())
        if request.url.path.endswith("/detokenize"):  # past the 500 characters of an error
            return httpx.Response(500, content=b"z" * 450 + said.encode())
        if request.url.path.endswith("/tokenizer_info"):  # the key without its "sk-" (tenth)
            return httpx.Response(500, content=f"invalid key {secret[3:].upper()}".encode())
        return httpx.Response(401, json={"error": {"message": said}})

    engine = _engine(echo, api_key=secret)
    engine.stream = False
    shown: list[str] = []
    for ask in (
        lambda: collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams())),
        lambda: engine.forward("/tokenize", {"prompt": "hi"}),
        lambda: engine.forward("/completions", {"prompt": "bad", "max_tokens": 1}),
        lambda: engine.forward("/detokenize", {"tokens": [1]}),
        lambda: engine.forward("/tokenizer_info", None),
    ):
        with pytest.raises(Exception) as e:
            ask()
        assert secret[:8] not in str(e.value) and secret[3:11].lower() not in str(e.value).lower()
        shown.append(str(e.value))
    assert sum("***" in text for text in shown) >= 1  # where the key was, it says ***
    assert "refused the credentials" in shown[0]  # a 401's own words are not relayed


@pytest.mark.parametrize(
    ("details", "believed"),
    # thinking the server says it kept back is its word alone: claiming it let "a b" pass as
    # 64 tokens and be recommended (39th probe, high)
    [(None, False), ({"reasoning_tokens": 61}, False), ({"reasoning_tokens": "61"}, False)],
)
def test_more_answer_tokens_than_bytes_sent_are_not_believed(details, believed) -> None:  # type: ignore[no-untyped-def]
    """Under max_tokens the count was believed whatever arrived: the 3 bytes "a b" claimed
    as 64 tokens gave 81,951 tokens/s and the recommendation (38th probe, high)."""
    usage: dict[str, object] = {"prompt_tokens": 5, "completion_tokens": 64}
    if details is not None:
        usage["completion_tokens_details"] = details
    done = {"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": usage}
    body = _event("a") + _event(" b") + b"data: " + json.dumps(done).encode() + b"\n\n"
    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=body))
    _, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=64))
    )
    if believed:
        assert final.completion_tokens == 64 and not final.extra.get("usage_estimated")
    else:
        assert final.completion_tokens == 2 and final.extra.get("usage_estimated")


def _data(event: dict) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def test_only_answer_and_thinking_deltas_are_tokens_and_never_more_than_asked() -> None:
    """Without usage every delta holding any string field counted as a token, past
    max_tokens: 144 deltas `{"x": "a"}` and the answer "a b" gave 4.9 million tokens/s and
    the recommendation (38th probe, high)."""
    junk = b"".join(_data({"choices": [{"delta": {"x": "a"}}]}) for _ in range(144))
    think = b"".join(
        _data({"choices": [{"delta": {"reasoning_content": "hm"}}]}) for _ in range(100)
    )
    end = _data({"choices": [{"delta": {}, "finish_reason": "stop"}]}) + b"data: [DONE]\n\n"
    for before, counted in ((junk, 2), (think, 64)):
        body = before + _event("a") + _event(" b") + end
        engine = _engine(lambda request, b=body: httpx.Response(200, headers=SSE, content=b))
        params = SamplingParams(max_tokens=64)
        text, final, _ = collect(engine.stream_chat([{"role": "user", "content": "hi"}], params))
        assert text == "a b" and final.extra.get("usage_estimated")
        assert final.completion_tokens == counted


def test_thinking_is_timed_as_generated_tokens() -> None:
    """Timed by the answer's deltas alone, 50 thinking deltas then 10 answer deltas over the
    same time as 60 answer deltas read 6.7 times the decode speed and a TTFT holding all the
    thinking: prefill 210 times too slow and cost 27 times too high (38th probe, medium)."""
    import time

    from openscout.generation import stream_generate

    def paced() -> Iterator[bytes]:
        for i in range(60):
            time.sleep(0.005)
            field = "reasoning_content" if i < 50 else "content"
            yield _data({"choices": [{"delta": {field: f" w{i}"}}]})
        usage = {"prompt_tokens": 5, "completion_tokens": 60}
        yield _data({"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": usage})

    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=paced()))
    *_, result = stream_generate(engine, messages=[{"role": "user", "content": "hi"}])
    assert result.ttft_s < 0.1  # the first thinking delta, not the first answer delta
    span = 59 / result.output_tps
    assert span > 0.2, span  # the whole generation's, not the last 10 deltas' 0.05 s


def test_a_forwarded_answer_echoing_our_credentials_never_shows_them() -> None:
    """Forwarded requests (tokenizer routes, log-prob completions) relayed the upstream's
    success body as it came: one echoing its Authorization header handed our upstream key
    to API clients (37th probe, high). Every key and string is masked; the data is not."""
    key = "sk-upstream-SECRET-1234567890"
    url = "http://alice:pw-SECRET-987@upstream.test/v1?api_key=QSECRET-555&v=2"

    def echo(request: httpx.Request) -> httpx.Response:
        said = request.headers["authorization"]
        body = {
            "tokens": [1, 2],
            "token_strs": ["user", "alice", "v"],  # data that must stay as it is
            "system_fingerprint": said,
            "debug": {"key": key[3:], said: ["pw-SECRET-987", "QSECRET-555"]},
        }
        return httpx.Response(200, json=body)

    engine = OpenAIEngine("u", url, transport=httpx.MockTransport(echo), api_key=key, stream=False)
    for route, body in (("/tokenize", {"prompt": "hi"}), ("/completions", {"prompt": "x"})):
        got = json.dumps(engine.forward(route, body))
        for secret in ("SECRET-1234567890", "pw-SECRET-987", "QSECRET-555"):
            assert secret not in got, (route, got)
        assert '"token_strs": ["user", "alice", "v"]' in got and '"tokens": [1, 2]' in got


@pytest.mark.parametrize("stream", [True, False])
def test_an_answer_echoing_our_key_never_shows_it(stream: bool) -> None:
    """An upstream answering "your key is <Authorization>" gave our upstream key to API
    clients through plain chat (37th probe): answers are masked as errors are."""
    key = "sk-upstream-SECRET-1234567890"

    def echo(request: httpx.Request) -> httpx.Response:
        said = f"your key is {request.headers['authorization']}"
        if not stream:
            choice = {"message": {"content": said}, "finish_reason": "stop"}
            return httpx.Response(200, json={"choices": [choice]})
        done = {"choices": [{"delta": {}, "finish_reason": "stop"}]}
        body = _event("your key is ") + _event(said[12:]) + b"data: " + json.dumps(done).encode()
        return httpx.Response(200, headers=SSE, content=body + b"\n\ndata: [DONE]\n\n")

    engine = _engine(echo, api_key=key)
    engine.stream = stream
    text, _, _ = collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert "SECRET" not in text and text.startswith("your key is ") and "***" in text


def test_a_403_says_the_server_s_reason_with_the_key_masked() -> None:
    """A 403 was always worded as a bad key, hiding a moderation refusal's own reason
    (37th probe, low); its words are shown now, any key in them masked."""
    secret = "sk-live-SECRET123"

    def refuse(request: httpx.Request) -> httpx.Response:
        said = f"input flagged by moderation (key {request.headers['authorization']})"
        return httpx.Response(403, json={"error": {"code": 403, "message": said}})

    engine = _engine(refuse, api_key=secret)
    engine.stream = False
    with pytest.raises(EngineError) as e:
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert "input flagged by moderation" in str(e.value) and "***" in str(e.value)
    assert secret[:8] not in str(e.value) and "api key" in str(e.value)
    assert not e.value.transient


@pytest.mark.parametrize("odd", [b"null", b"[1]", b'"x"', b"5"])
def test_a_stream_event_that_is_not_an_object_is_skipped(odd: bytes) -> None:
    """`data: null` made a streamed chat answer 500 (AttributeError; eighth probe)."""
    done = b'{"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}'
    body = b"data: " + odd + b"\n\ndata: " + done + b"\n\ndata: [DONE]\n\n"
    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=body))
    text, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams())
    )
    assert text == "ok" and final.finish_reason == "stop"


def test_an_answer_of_millions_of_small_strings_is_refused_before_parsing() -> None:
    """13 M strings "ab" in 62 MiB (no objects to count) took the server to 1.1 GB."""
    body = b'{"choices": [{"text": "x"}], "junk": [' + b'"ab",' * 2_000_000 + b'"ab"]}'
    engine = _engine(lambda request: httpx.Response(200, content=body))
    with pytest.raises(EngineError, match="values"):
        engine.forward("/tokenize", {"prompt": "hi"})


def test_a_line_sent_in_small_pieces_is_read_whole_and_bounded() -> None:
    """Each 1 KiB piece used to re-split everything pending: six 4 MB lines cost 5.4 s."""
    from openscout.engines.http_bounds import iter_lines

    class Pieces:
        def __init__(self, data: bytes, size: int) -> None:
            self.parts = [data[i : i + size] for i in range(0, len(data), size)]

        def iter_bytes(self) -> Iterator[bytes]:
            return iter(self.parts)

    data = b"a" * 5000 + b"\r\n" + b"b" * 3000 + b"\rc\n" + b"tail"
    assert list(iter_lines(Pieces(data, 7))) == ["a" * 5000, "b" * 3000, "c", "tail"]  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="line"):
        list(iter_lines(Pieces(b"x" * 10_000, 100), max_line=4096))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "logprobs",
    [
        {"tokens": ["a", "b"], "text_offset": [0, 1], "token_logprobs": [None, "-1.0"]},
        {"tokens": ["a", "b"], "text_offset": ["0", "1"], "token_logprobs": [None, -1.0]},
        {
            "tokens": ["a", "b"],
            "text_offset": [0, 1],
            "token_logprobs": [None, -1.0],
            "top_logprobs": [None, ["b"]],
        },
    ],
    ids=["string log-prob", "string offset", "list of alternatives"],
)
def test_log_probs_of_the_wrong_type_are_an_engine_error(logprobs: dict) -> None:
    """Each was a TypeError mid-scoring: `eval` said "unexpected error" (ninth probe)."""
    body = {"choices": [{"text": "ab", "logprobs": logprobs, "finish_reason": "length"}]}
    engine = _engine(lambda request: httpx.Response(200, json=body), loglikelihood=True)
    with pytest.raises(EngineError, match="no echo log-probs"):
        engine.loglikelihood("a", "b")


def test_empty_data_lines_are_skipped_without_the_json_reader(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """64 MiB of empty `data:` lines took 88 s, each one parsed as JSON and refused (tenth
    probe); an empty payload is now passed over before the reader sees it."""
    from openscout.engines import openai_http

    parsed: list[str] = []
    real = openai_http.load_json
    monkeypatch.setattr(
        openai_http, "load_json", lambda text, n: parsed.append(text) or real(text, n)
    )
    done = b'{"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}'
    body = b"data:\n" * 10_000 + b"data: \n\ndata: " + done + b"\n\ndata: [DONE]\n\n"
    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=body))
    text, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams())
    )
    assert text == "ok" and final.finish_reason == "stop"
    assert parsed == [done.decode()]


def test_a_base_url_with_a_query_keeps_the_routes_and_sends_the_query() -> None:
    """`?api-version=` (Azure's form) made every route `/v1?api-version=1chat/completions`
    (tenth probe): the query now goes after the route, on every request, and never shows."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path.endswith("/models"):
            return httpx.Response(404, text=f"no route {request.url}")
        done = {"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}
        return httpx.Response(200, headers=SSE, content=b"data: " + json.dumps(done).encode())

    engine = OpenAIEngine(
        "u",
        "http://upstream.test/v1/?api-version=2024-10&sig=s3cr3tsig",
        transport=httpx.MockTransport(handler),
    )
    text, _, _ = collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert text == "ok"
    assert seen[0].path == "/v1/chat/completions"
    assert dict(seen[0].params) == {"api-version": "2024-10", "sig": "s3cr3tsig"}
    with pytest.raises(EngineError) as e:
        engine.list_remote_models()
    assert seen[-1].path == "/v1/models" and "s3cr3tsig" not in str(e.value)


@pytest.mark.timeout(60)  # a hang guard: the masking took minutes on 30 KB before
def test_a_long_error_body_is_masked_in_one_pass_and_cut() -> None:
    """An error body of 30 KB of word characters froze the server (the key mask backtracked
    quadratically, holding the GIL; eleventh probe); a 60 MB error message was relayed whole
    in a 502, and stored whole with each failed eval item."""
    key = "sk-test-0123456789abcdefghijklmnop"
    answers = [
        (500, b"a" * 900_000),
        (500, json.dumps({"error": {"message": "b" * 800_000 + key}}).encode()),
        (200, json.dumps({"error": {"message": "d" * 20_000_000}}).encode()),
        (500, ("c" * 300 + key.upper()[3:] + " tail").encode()),
    ]
    for status, body in answers:
        engine = _engine(
            lambda request, status=status, body=body: httpx.Response(status, content=body),
            api_key=key,
            stream=False,
        )
        with pytest.raises(EngineError) as e:
            collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
        text = str(e.value)
        assert len(text) < 800 and "0123456789ab" not in text.lower(), text[:200]
    assert text.endswith("*** tail")  # the key after 300 characters: masked


def test_the_key_mask_finds_every_part_of_the_key() -> None:
    from openscout.engines.key_mask import KeyMask

    mask = KeyMask("sk-test-0123456789abcdefghijklmnop")
    said = "bad key TEST-0123456789ABCDEF, again: 89abcdefghij! and sk-test-0123456789abcdefghijklmnop."
    assert mask.apply(said) == "bad key ***, again: ***! and ***."
    assert mask.apply("x" * 100_000 + "89abcdef" + "y" * 100_000) == "***"
    assert KeyMask(None).apply("sk-anything") == "sk-anything"


@pytest.mark.parametrize("keepalive", [b": ping\n", b'data: {"choices": []}\n\n'])
def test_a_stream_that_never_moves_ends_at_the_engine_timeout(keepalive: bytes) -> None:
    """Keep-alive comments or empty events every half second held `generate` past 100 s
    with a 5 s timeout (fourteenth probe): each line reset the per-line timeout."""
    import time

    def pings() -> Iterator[bytes]:
        for _ in range(200):  # 10 s at most, so the test ends even where the bound does not
            time.sleep(0.05)
            yield keepalive

    engine = _engine(
        lambda request: httpx.Response(200, headers=SSE, content=pings()), timeout_s=0.5
    )
    with pytest.raises(EngineError, match=r"has not moved for 0\.5 s"):
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))


def test_a_reasoning_stream_moves_and_is_counted() -> None:
    """Deltas of thinking alone are progress (not a stall) and count towards the cut."""
    think = b'data: {"choices": [{"delta": {"reasoning_content": "hmm "}}]}\n\n'
    done = b'data: {"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}\n\n'
    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=think * 3 + done))
    text, final, _ = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams())
    )
    assert text == "ok" and final.finish_reason == "stop"
    endless = _engine(lambda request: httpx.Response(200, headers=SSE, content=think * 500))
    _, cut, _ = collect(
        endless.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=10))
    )
    assert cut.finish_reason == "length"


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "too long", "code": "context_length_exceeded"}},  # OpenAI
        {"object": "error", "message": "This model's maximum context length is 2048 tokens."},
        {"error": {"code": 400, "type": "exceed_context_size_error", "message": "..."}},
        {"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 2048"},
        # OpenAI's 429 for one request past the tokens-a-minute limit: no retry can help
        # (38th probe: a padded answer to a judge was left out after 26 s of retries)
        {
            "error": {
                "message": "Request too large for gpt-4o on tokens per min (TPM): Limit"
                " 30000, Requested 45210.",
                "code": "rate_limit_exceeded",
            }
        },
    ],
)
def test_an_upstream_context_overflow_is_a_context_length_error(body: dict) -> None:
    """A remote judge's 400 "context_length_exceeded" was an engine error like an outage, so
    answers padded past its context were left out of the score (35th probe, medium)."""
    from openscout.errors import ContextLengthError

    status = 422 if "Input validation" in str(body) else 429 if "TPM" in str(body) else 400
    engine = _engine(lambda request: httpx.Response(status, json=body))
    engine.stream = False
    with pytest.raises(ContextLengthError):
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    other = _engine(lambda request: httpx.Response(400, json={"error": {"message": "bad"}}))
    other.stream = False
    with pytest.raises(EngineError) as e:
        collect(other.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert not isinstance(e.value, ContextLengthError)


def test_a_redirect_says_where_it_points_without_credentials() -> None:
    """A server redirecting (301 http -> https, a common proxy setup) failed every request as
    "answered HTTP 301: HTTP 301", without where it pointed (40th probe, low)."""
    to = "https://user:pw-SECRET@upstream.test/v1/chat/completions"
    engine = _engine(lambda request: httpx.Response(301, headers={"location": to}))
    with pytest.raises(EngineError) as info:
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert "https://upstream.test/v1/chat/completions" in info.value.message
    assert "SECRET" not in info.value.message
