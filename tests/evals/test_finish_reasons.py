"""How an answer ended, as servers say it: only the reasons known to end a whole answer are
read as "stop". Mistral's "model_length" (the context ran out) and a stream ended by "error"
were read as "stop": the blank answer scored 1.0 on negative checks and the part answer was
scored and cached as whole (47th probe)."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from openscout.config import Settings
from openscout.engines.loader import clear_cache
from openscout.errors import EngineResponseError
from openscout.evals import calls as calls_module
from openscout.evals import run_eval
from openscout.evals.pacing import RetryPolicy
from openscout.evals.results import EvalRun
from openscout.models import ModelSpec, add_model
from tests.evals.canned_server import Canned, answered, drop_cached_field, negative_checks_on

HI = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(autouse=True)
def fresh_engines() -> None:
    clear_cache()


def _streamed(text: str, reason: object) -> bytes:
    first = json.dumps({"choices": [{"delta": {"content": text}}]})
    last = json.dumps({"choices": [{"delta": {}, "finish_reason": reason}]})
    return f"data: {first}\n\ndata: {last}\n\ndata: [DONE]\n\n".encode()


def _whole(text: str, reason: object) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"content": text}, "finish_reason": reason}]}
    ).encode()


BODIES = [(_streamed, "text/event-stream"), (_whole, "application/json")]


@pytest.mark.parametrize(("body", "content_type"), BODIES, ids=["streamed", "whole"])
@pytest.mark.parametrize(
    ("reason", "read"),
    [
        ("stop", "stop"),
        ("eos_token", "stop"),  # TGI's Messages API
        ("stop_sequence", "stop"),
        ("tool_calls", "stop"),
        ("length", "length"),
        ("model_length", "length"),  # Mistral: the context ran out
        ("content_filter", "content_filter"),
    ],
)
def test_known_finish_reasons_are_read_as_what_they_say(
    body, content_type: str, reason: str, read: str
) -> None:  # type: ignore[no-untyped-def]
    assert answered(body("Paris", reason), content_type) == ("Paris", read)


@pytest.mark.parametrize(("body", "content_type"), BODIES, ids=["streamed", "whole"])
@pytest.mark.parametrize(
    "reason", ["error", "abort", "cancelled", "weird", 7, ["stop"], {"why": "stop"}, None]
)
def test_other_finish_reasons_are_no_whole_answer(body, content_type: str, reason: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EngineResponseError) as e:
        answered(body("Par", reason), content_type)
    # a stream without a finish event is refused as one that may be cut short
    said = str(e.value)
    assert e.value.transient
    assert "not the end of a whole answer" in said or (reason is None and "cut short" in said)


@pytest.mark.parametrize(("body", "content_type"), BODIES, ids=["streamed", "whole"])
@pytest.mark.parametrize(
    ("reason", "why"),
    [("model_length", "cut off"), ("stop", "no answer"), ("eos_token", "no answer")],
)
def test_a_blank_answer_is_a_counted_miss(
    settings: Settings, tmp_path: Path, body, content_type: str, reason: str, why: str
) -> None:  # type: ignore[no-untyped-def]
    """Blank, it passed every negative check: a server answering nothing was recommended
    over an honest model on a suite of `not-icontains` checks (47th probe)."""
    item = negative_checks_on(settings, tmp_path, body(" \n", reason), content_type)
    assert item["score"] == 0.0 and item["detail"]["unscorable"].startswith(why)


def test_an_answer_ended_by_error_fails_and_is_not_cached(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed after its retries, so the model is not ranked on the rest; and nothing of it
    is kept to be read back by the next run."""
    monkeypatch.setattr(calls_module, "RetryPolicy", lambda: RetryPolicy(base_s=0.01, cap_s=0.05))
    body = _streamed("Paris", "error")
    for _ in range(2):
        item = negative_checks_on(settings, tmp_path, body, "text/event-stream")
        assert item["score"] is None and "finish_reason 'error'" in item["error"]


def _judged(
    settings: Settings,
    tmp_path: Path,
    judge: type[Canned],
    answers: dict[str, str],
    runs: int = 1,
) -> EvalRun:
    """A one-item suite judged by a server answering with `judge`, asked of mock models
    answering `answers` (model id -> its answer), `runs` times: the last run."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), judge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    add_model(settings, ModelSpec(id="judge", engine="openai", base_url=url, model="j"))
    for mid, said in answers.items():
        add_model(settings, ModelSpec(id=mid, engine="mock", options={"default": said}))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['Capital of France?']\ntests:\n"
        "  - assert: [{type: llm-rubric, value: names Paris, judge: judge}]\n"
    )
    try:
        for _ in range(runs):
            run = run_eval(settings, str(suite), list(answers))
        return run
    finally:
        server.shutdown()
        server.server_close()


CUT_JUDGE = [
    "The answer would PASS if it named Paris, but it names Lyon, so the verdict is",
    "It does not PASS the rubric because",
]


@pytest.mark.parametrize("reply", CUT_JUDGE)
def test_a_judge_cut_at_its_max_tokens_gives_only_the_verdict_lines_it_wrote(
    settings: Settings, tmp_path: Path, reply: str
) -> None:
    """The capitalised word of a judge's unfinished reasoning was its verdict: a judge about
    to say FAIL, cut at its 48 tokens, passed the wrong answer (48th probe)."""
    from openscout.evals.judging import JudgeReply, _judge_verdict

    cut = JudgeReply("PASS\n\nThe answer names Paris, the capital, and")
    cut.cut = True
    assert _judge_verdict(cut) == 1.0  # a verdict line before the cut still counts
    judge = type("Judge", (Canned,), {"body": _streamed(reply, "length")})
    (item,) = _judged(settings, tmp_path, judge, {"lyon": "Lyon."}).results["lyon"].items
    assert item["score"] != 1.0  # no verdict from the cut prose: failed, never a pass


def _send(handler: Canned, status: int, reply: bytes) -> None:
    """One canned judge reply: an event stream, or a JSON error body."""
    handler.send_response(status)
    kind = "text/event-stream" if status == 200 else "application/json"
    handler.send_header("content-type", kind)
    handler.send_header("content-length", str(len(reply)))
    handler.end_headers()
    handler.wfile.write(reply)


class _ReasonsFirst(Canned):
    """A judge that reasons before its verdict: cut at 48 tokens, it gives one with room."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        roomy = body.get("max_tokens", 0) > 48
        text = "Let me think about whether the answer names the right city and whether"
        if roomy and "Answer:\\nParis." in json.dumps(body["messages"]):
            text += " it does.\nPASS"
        elif roomy:
            text += " it does.\nFAIL"
        _send(self, 200, _streamed(text, "stop" if roomy else "length"))


def test_a_judge_cut_before_its_verdict_is_asked_again_with_room(
    settings: Settings, tmp_path: Path
) -> None:
    """A judge reasoning past its 48 tokens before a verdict made every judged item a
    silent 0, and junk tied an honest model (50th probe, medium): cut before any verdict,
    it is asked again with room; still cut, the item fails and says why."""
    run = _judged(settings, tmp_path, _ReasonsFirst, {"paris": "Paris.", "lyon": "Lyon."})
    assert [run.results[m].score for m in ("paris", "lyon")] == [1.0, 0.0]
    assert run.results["paris"].errors == 0


def test_a_judge_still_cut_with_room_fails_the_item(settings: Settings, tmp_path: Path) -> None:
    judge = type("Judge", (Canned,), {"body": _streamed("Let me think", "length")})
    run = _judged(settings, tmp_path, judge, {"paris": "Paris."})
    (item,) = run.results["paris"].items
    assert item["score"] is None and "512 tokens without a PASS or FAIL verdict" in item["error"]
    assert run.status == "incomplete"


class _Rambles(Canned):
    """Cut at 48 tokens on everything; with room, a verdict to the rubric alone only."""

    asked: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.asked.append(body.get("max_tokens", 0))
        if body.get("max_tokens", 0) <= 48:
            reply = _streamed("Let me weigh the answer against the rubric with care", "length")
        elif "Answer:\\n\\n" in json.dumps(body["messages"]):  # the rubric alone
            reply = _streamed("PASS", "stop")
        elif "Answer:\\nx x" in json.dumps(body["messages"]):  # a filler as long
            reply = _streamed("FAIL", "stop")
        else:
            reply = _streamed("The answer seems reasonable.", "stop")
        _send(self, 200, reply)


def test_a_judge_cut_twice_is_asked_again_by_a_rerun(settings: Settings, tmp_path: Path) -> None:
    """The 512-token reply that failed the item was cached: "asked again when the same
    command runs again" never reached the judge (51st probe, low-medium)."""
    judge = type("Judge", (Canned,), {"body": _streamed("Let me think", "length"), "asked": []})

    def counted(self: Canned) -> None:
        judge.asked.append(1)
        Canned.do_POST(self)

    judge.do_POST = counted  # type: ignore[method-assign]
    run = _judged(settings, tmp_path, judge, {"paris": "Paris."}, runs=2)
    assert run.results["paris"].errors == 1
    # each run: the cut reply (cached after the first), 512 tokens (cached), 512 fresh
    assert len(judge.asked) == 3 + 1


def test_a_judge_with_room_and_no_verdict_on_the_answer_is_a_miss(
    settings: Settings, tmp_path: Path
) -> None:
    """With room, a verdict to the rubric alone but none on the answer: the answer's miss.
    The rubric alone was asked with 48 tokens, cut there too, and the item failed "even to
    the rubric alone", which was not what happened (51st probe)."""
    _Rambles.asked = []
    run = _judged(settings, tmp_path, _Rambles, {"paris": "Paris."})
    (item,) = run.results["paris"].items
    assert item["score"] == 0.0 and item.get("error") is None
    (check,) = item["detail"]["assertions"]
    assert check["reason"] == "the judge gave no single PASS/FAIL verdict"
    assert 512 in _Rambles.asked


class _Glitch(Canned):
    """PASS to the rubric alone and to a filler; to the answer, `first` the first time it
    is asked, PASS after that."""

    first = ""
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        text = "PASS"
        if "Answer:\\nParis." in json.dumps(body["messages"]):
            text = "PASS" if self.seen else self.first
            self.seen.append(text)
        _send(self, 200, _streamed(text, "stop"))


@pytest.mark.parametrize("first", ["", "The service is busy right now, please try again later."])
def test_a_judge_s_one_off_reply_without_a_verdict_is_asked_again(
    settings: Settings, tmp_path: Path, first: str
) -> None:
    """A one-off blank or "busy" reply to the answer, then PASS to the rubric alone, was the
    answer's miss; the busy one was cached, a miss on every rerun (58th probe P5, P17)."""
    judge = type("Judge", (_Glitch,), {"first": first, "seen": []})
    run = _judged(settings, tmp_path, judge, {"paris": "Paris."})
    (item,) = run.results["paris"].items
    assert item["score"] == 1.0 and item.get("error") is None
    assert judge.seen == [first, "PASS"]


class _DeclinesEveryAnswer(Canned):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        alone = "Answer:\\n\\n" in json.dumps(body["messages"])
        _send(self, 200, _streamed("PASS" if alone else "Too long for me to read.", "stop"))


def test_a_judge_giving_no_verdict_on_an_answer_nor_a_filler_as_long_fails_the_item(
    settings: Settings, tmp_path: Path
) -> None:
    """A judge declining long answers in words (a 200, no verdict) made long right answers
    silent misses, and junk was recommended (58th probe P12)."""
    run = _judged(settings, tmp_path, _DeclinesEveryAnswer, {"paris": "Paris."})
    (item,) = run.results["paris"].items
    assert item["score"] is None and "nor on a filler as long" in item["error"]
    assert run.results["paris"].errors == 1


class _NoRoom(Canned):
    """Cut at 48 tokens; with 512, no room in its context for an answer, PASS alone."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        alone = "Answer:\\n\\n" in json.dumps(body["messages"])
        if body.get("max_tokens", 0) <= 48:
            status, reply = 200, _streamed("Let me weigh the answer with care", "length")
        elif alone:
            status, reply = 200, _streamed("PASS", "stop")
        else:
            error = {"message": "maximum context length is 1000 tokens", "type": "invalid"}
            status, reply = 400, json.dumps({"error": error}).encode()
        _send(self, status, reply)


class _Tight(Canned):
    """Room for the rubric alone; with any answer, past its context even at 48 tokens."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if "Answer:\\n\\n" in json.dumps(body["messages"]):
            status, reply = 200, _streamed("PASS", "stop")
        else:
            error = {"message": "maximum context length is 450 tokens", "type": "invalid"}
            status, reply = 400, json.dumps({"error": error}).encode()
        _send(self, status, reply)


class _Unworded(Canned):
    """Past 1,500 characters of request, a 400 in words openscout does not know (LM
    Studio's); the rubric alone fits."""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        if len(raw) > 1500:
            error = "the model is loaded with context length of only 450 tokens"
            status, reply = 400, json.dumps({"error": error}).encode()
        else:
            status, reply = 200, _streamed("PASS", "stop")
        _send(self, status, reply)


class _Capped(Canned):
    """Cut at 48 tokens; 512 refused (an output cap of 256), the rubric alone too."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if body.get("max_tokens", 0) <= 48:
            status, reply = 200, _streamed("Let me weigh the answer with care", "length")
        else:
            error = {"message": "max_tokens is too large: at most 256", "type": "invalid"}
            status, reply = 400, json.dumps({"error": error}).encode()
        _send(self, status, reply)


def test_a_judge_refusing_the_room_even_for_the_rubric_alone_fails_the_item(
    settings: Settings, tmp_path: Path
) -> None:
    """A judge capped under 512 output tokens refused the retry, counted as refusing the
    answer: every reasoned answer a silent miss, junk tied (52nd probe, medium)."""
    run = _judged(settings, tmp_path, _Capped, {"paris": "Paris."})
    (item,) = run.results["paris"].items
    assert item["score"] is None and "even for the rubric alone" in item["error"]


def test_a_judge_without_room_for_the_retry_after_the_answer_fails_the_item(
    settings: Settings, tmp_path: Path
) -> None:
    """The 512-token retry past the judge's context, after an answer the judge took with 48
    tokens, was scored the answer's miss: every long right answer was one, and junk was
    recommended, nothing said (53rd probe). Neither gave a verdict: the item fails, saying
    why (compare then waits, it no longer excludes the model: 51st)."""
    run = _judged(settings, tmp_path, _NoRoom, {"long": "Paris. " * 300})
    (item,) = run.results["long"].items
    assert item["score"] is None and "has no room for 512 tokens in its" in item["error"]
    assert "maximum context length is 1000 tokens" in item["error"]


def test_answers_cached_by_an_older_reading_are_asked_again(
    settings: Settings, tmp_path: Path
) -> None:
    """An answer ended by "error", cached as whole before the fix, kept scoring 1.000 from
    the cache after it (48th probe): answers carry the reading they were cached under."""
    from openscout.evals import run_eval
    from openscout.models import ModelSpec, add_model
    from tests.engines.fake_openai import FakeServer, serve

    suite = tmp_path / "s.yaml"
    suite.write_text("prompts: ['go']\ntests:\n  - assert: [{type: icontains, value: Paris}]\n")
    with serve(FakeServer("ok", reply=lambda p: "Paris")) as fake:
        add_model(settings, ModelSpec(id="r", engine="openai", base_url=fake.url, model="m"))
        first = run_eval(settings, str(suite), ["r"]).results["r"]
        cached = run_eval(settings, str(suite), ["r"], resume=False).results["r"]
        drop_cached_field(settings.db_path, "read")  # as an earlier version cached them
        again = run_eval(settings, str(suite), ["r"], resume=False).results["r"]
    assert (first.engine_calls, cached.engine_calls, again.engine_calls) == (1, 0, 1)


def test_an_answer_the_judge_cannot_read_at_all_fails_the_item(
    settings: Settings, tmp_path: Path
) -> None:
    """An answer leaving the judge no room even for its 48 tokens was the answer's silent
    miss, while one a little shorter failed its item: long right answers scored 0 and junk
    was recommended (54th probe, medium). Both fail the item now, saying why."""
    run = _judged(settings, tmp_path, _Tight, {"long": "Paris. " * 300})
    (item,) = run.results["long"].items
    assert item["score"] is None and "has no room to read it in its context" in item["error"]
    assert "maximum context length is 450 tokens" in item["error"]


def test_a_length_refusal_in_unknown_words_fails_the_item(
    settings: Settings, tmp_path: Path
) -> None:
    """A judge server saying "too long" in words openscout does not know (LM Studio's,
    SGLang's, Gemini's) was read as refusing the answer's content: a silent miss, junk
    recommended (55th probe, medium). A filler as long as the answer is refused too: the
    refusal is about length, and the item fails; a short answer is judged."""
    answers = {"long": "Paris. " * 300, "short": "Paris.", "chinese": "巴黎是法国的首都。" * 60}
    run = _judged(settings, tmp_path, _Unworded, answers)
    (long,), (short,) = run.results["long"].items, run.results["short"].items
    assert long["score"] is None and "has no room to read it" in long["error"]
    assert short["score"] == 1.0
    # a filler sized by characters had a third of a Chinese answer's tokens (56th probe)
    (chinese,) = run.results["chinese"].items
    assert chinese["score"] is None and "has no room to read it" in chinese["error"]
