"""Thinking opened by the prompt, cut off by max_tokens: no tag in the answer, and it was
scored as the answer (42nd probe N3: a cut-off "... Is it Paris? Hmm, or Lyon" passed
`icontains: Paris`). The engine says where its prompt opened `<think>` (Final.thinking_open):
llama.cpp reads its own prompt; a remote model is told with `models add --opens-thinking`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from openscout.config import Settings
from openscout.engines.base import BatchRequest, SamplingParams, collect
from openscout.engines.loader import clear_cache
from openscout.engines.openai_http import OpenAIEngine
from openscout.evals import run_eval
from openscout.models import ModelSpec, add_model
from tests.engines.fake_openai import FakeServer, serve
from tests.evals.canned_server import answered, drop_cached_field, negative_checks_on
from tests.gguf_factory import copy_with_metadata

# SmolLM2's own turns, with the assistant's turn opened on `<think>` as R1's distills do
THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)
HI = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(autouse=True)
def fresh_engines() -> None:
    clear_cache()


@pytest.fixture
def thinking_copy(tmp_path: Path, smollm2_path: Path) -> Path:
    return copy_with_metadata(
        smollm2_path, tmp_path / "thinks.gguf", {"tokenizer.chat_template": THINKING_TEMPLATE}
    )


def test_llamacpp_says_where_its_prompt_opened_thinking(
    thinking_copy: Path, smollm2_engine: object
) -> None:
    from openscout.engines.llamacpp import LlamaCppEngine

    params = SamplingParams(max_tokens=4)
    engine = LlamaCppEngine("thinks", thinking_copy, n_ctx=512)
    try:
        _, opened, _ = collect(engine.stream_chat(HI, params))
        _, raw, _ = collect(engine.stream_completion("Question: hi\n<think>\n", params))
        _, plain_raw, _ = collect(engine.stream_completion("Question: hi\n", params))
        batch = engine.generate_batch([BatchRequest(messages=HI)], params)  # type: ignore[arg-type]
    finally:
        engine.close()
    _, own, _ = collect(smollm2_engine.stream_chat(HI, params))  # type: ignore[attr-defined]
    assert (opened.thinking_open, raw.thinking_open, batch[0].final.thinking_open) == (
        True,
        True,
        True,
    )
    assert (own.thinking_open, plain_raw.thinking_open) == (False, False)


def test_a_local_answer_cut_off_inside_opened_thinking_is_not_scored_as_the_answer(
    settings: Settings, tmp_path: Path, thinking_copy: Path, smollm2_path: Path
) -> None:
    """Any answer passes `max-length: 1000`; four tokens of thinking are no answer."""
    add_model(settings, ModelSpec(id="thinks", engine="llamacpp", path=str(thinking_copy)))
    add_model(settings, ModelSpec(id="plain", engine="llamacpp", path=str(smollm2_path)))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['Say hello.']\ndefaults: {max_tokens: 4}\n"
        "tests:\n  - assert: [{type: max-length, value: 1000}]\n"
    )
    results = run_eval(settings, str(suite), ["thinks", "plain"]).results
    thinks, plain = results["thinks"].items[0], results["plain"].items[0]
    assert thinks["output"].strip() and thinks["score"] == 0.0
    assert thinks["detail"]["unscorable"].startswith("cut off while thinking")
    assert plain["score"] == 1.0 and "thinking_set_aside" not in plain["detail"]


def _add_remote(settings: Settings, url: str, opens_thinking: bool) -> None:
    options = {"opens_thinking": True} if opens_thinking else {}
    spec = ModelSpec(
        id="r", engine="openai", base_url=url, model="fake", loglikelihood=False, options=options
    )
    add_model(settings, spec, replace=True)


@pytest.mark.parametrize("opens_thinking", [False, True])
def test_a_remote_model_said_to_open_thinking_is_read_that_way(
    settings: Settings, tmp_path: Path, opens_thinking: bool
) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\ntests:\n"
        "  - vars: {q: cut}\n    assert: [{type: icontains, value: Paris}]\n"
        "  - vars: {q: closed}\n    assert: [{type: icontains, value: Paris}]\n"
    )

    def reply(prompt: str) -> str:
        if "cut" in prompt:
            return "Is it Paris? Hmm, or Lyon"
        return "Lyon, surely not.</think>Paris."

    with serve(FakeServer("ok", reply=reply)) as fake:
        _add_remote(settings, fake.url, opens_thinking)
        items = run_eval(settings, str(suite), ["r"]).results["r"].items
    cut, closed = (r["score"] for r in items)
    assert closed == 1.0
    assert cut == (0.0 if opens_thinking else 1.0)  # not told: the text is all it has


def test_thinking_streamed_apart_leaves_the_answer_alone() -> None:
    """A server with a reasoning parser sends the answer alone: told the template opens
    thinking, the engine still marks nothing, or every answer would read as thinking."""
    sse = {"content-type": "text/event-stream"}
    think = b'data: {"choices": [{"delta": {"reasoning_content": "hmm"}}]}\n\n'
    done = b'data: {"choices": [{"delta": {"content": "Paris"}, "finish_reason": "stop"}]}\n\n'

    def engine(body: bytes) -> OpenAIEngine:
        transport = httpx.MockTransport(
            lambda request: httpx.Response(200, headers=sse, content=body)
        )
        return OpenAIEngine("u", "http://up.test/v1", transport=transport, opens_thinking=True)

    _, apart, _ = collect(engine(think + done).stream_chat(HI, SamplingParams()))  # type: ignore[arg-type]
    _, inline, _ = collect(engine(done).stream_chat(HI, SamplingParams()))  # type: ignore[arg-type]
    assert (apart.thinking_open, inline.thinking_open) == (False, True)


def test_models_add_opens_thinking_is_for_remote_models(
    cli_env: dict[str, str], smollm2_path: Path
) -> None:
    from tests.cli.test_cli_foundation import run_cli

    url = ["models", "add", "r", "--url", "http://127.0.0.1:9/v1", "--opens-thinking", "--json"]
    assert json.loads(run_cli(url, cli_env).stdout)["options"] == {"opens_thinking": True}
    local = ["models", "add", "l", "--path", str(smollm2_path), "--opens-thinking"]
    refused = run_cli(local, cli_env, check=False)
    assert refused.returncode != 0 and "GGUF file's own template" in refused.stderr
    assert "Traceback" not in refused.stderr


def _engine(body: bytes, content_type: str, **options: object) -> OpenAIEngine:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": content_type}, content=body)
    )
    return OpenAIEngine(
        "u",
        "http://up.test/v1",
        transport=transport,
        opens_thinking=True,
        **options,  # type: ignore[arg-type]
    )


WHOLE = json.dumps(
    {
        "choices": [
            {
                "message": {"content": "Paris", "reasoning_content": "Capital of France"},
                "finish_reason": "stop",
            }
        ]
    }
).encode()
ONE_DELTA = (
    b'data: {"choices": [{"delta": {"reasoning_content": "Capital of France", "content":'
    b' "Paris"}, "finish_reason": "stop"}]}\n\n'
)


@pytest.mark.parametrize(
    ("body", "content_type", "options"),
    [
        (WHOLE, "application/json", {"stream": False}),  # asked whole
        (WHOLE, "application/json", {}),  # asked to stream, answered whole
        (ONE_DELTA, "text/event-stream", {}),  # a gateway's one-delta "stream"
    ],
    ids=["whole", "stream-answered-whole", "one-delta"],
)
def test_thinking_sent_apart_in_one_piece_leaves_the_answer_alone(
    body: bytes, content_type: str, options: dict[str, object]
) -> None:
    """Thinking beside the answer in one message or one delta was dropped: the engine saw
    none apart, marked the answer as opened thinking, and "Paris" scored 0 where streamed
    deltas scored 1 (44th probe, medium); a whole answer's thinking also went uncounted."""
    from openscout.evals.thinking import split_thinking

    text, final, chunks = collect(
        _engine(body, content_type, **options).stream_chat(HI, SamplingParams())  # type: ignore[arg-type]
    )
    assert text == "Paris" and final.thinking_open is False
    assert split_thinking(text, final.thinking_open) == ("Paris", None)
    thought = [c.thinking for c in chunks if c.thought]
    assert thought == ["Capital of France"]


def test_thinking_under_two_field_names_is_counted_once() -> None:
    """Servers renaming `reasoning_content` to `reasoning` send both with the same text: it
    was counted twice, twice the speed and half the cost, and recommended (44th probe)."""
    delta = {"reasoning_content": " word", "reasoning": " word"}
    body = (
        b"".join(
            b"data: " + json.dumps({"choices": [{"delta": delta}]}).encode() + b"\n\n"
            for _ in range(3)
        )
        + b'data: {"choices": [{"delta": {"content": "Paris"}, "finish_reason": "stop"}]}\n\n'
    )
    engine = OpenAIEngine(
        "u",
        "http://up.test/v1",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=body
            )
        ),
    )
    text, _, chunks = collect(engine.stream_chat(HI, SamplingParams()))  # type: ignore[arg-type]
    assert text == "Paris"
    assert "".join(c.thinking or "" for c in chunks if c.thought) == " word word word"


def test_an_answer_cut_off_while_thinking_passes_no_negative_check(
    settings: Settings, tmp_path: Path
) -> None:
    """Scored as the empty answer, a cut-off thought passed `not-icontains` and `max-length`:
    1.000 for the model that never answered, 0.000 for the same text unmarked (44th probe).
    No answer is a counted miss, whatever the checks."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['go']\ntests:\n"
        "  - assert: [{type: not-icontains, value: Lyon}, {type: max-length, value: 10}]\n"
    )
    with serve(FakeServer("ok", reply=lambda p: "Is it Paris? Hmm, or Lyon")) as fake:
        _add_remote(settings, fake.url, opens_thinking=True)
        (item,) = run_eval(settings, str(suite), ["r"]).results["r"].items
    assert item["score"] == 0.0
    assert item["detail"]["unscorable"] == "cut off while thinking (25 characters)"


def test_an_empty_answer_follows_no_ifeval_instruction() -> None:
    """Google's IFEval checks only a response that is not blank: "do not use the words ..."
    and "at most 4 sentences" passed on nothing (44th probe)."""
    from openscout.evals.scoring import score_generation
    from openscout.evals.tasks import builtin_suites

    items = builtin_suites()["ifeval"].generate(seed=0, size=50)
    blank = [score_generation(it, " \n") for it in items]
    assert all(s.value == 0.0 and s.metrics["inst_level"] == 0.0 for s in blank)


def test_cached_answers_are_read_with_the_mark_they_need(
    settings: Settings, tmp_path: Path
) -> None:
    """The mark set by hand in models.yaml reused answers cached without it (1.000 from the
    cache, 0 calls), and answers cached before the mark was kept were read as not opened
    (44th probe, low): the mark is part of a remote model's identity, and a cached answer
    without it is asked again."""
    suite = tmp_path / "s.yaml"
    suite.write_text("prompts: ['go']\ntests:\n  - assert: [{type: icontains, value: Paris}]\n")
    with serve(FakeServer("ok", reply=lambda p: "Is it Paris? Hmm, or Lyon")) as fake:
        _add_remote(settings, fake.url, opens_thinking=False)
        first = run_eval(settings, str(suite), ["r"]).results["r"]
        _add_remote(settings, fake.url, opens_thinking=True)  # as edited by hand
        marked = run_eval(settings, str(suite), ["r"]).results["r"]
        drop_cached_field(settings.db_path, "thinking_open")  # as an earlier version cached them
        again = run_eval(settings, str(suite), ["r"], resume=False).results["r"]
    assert (first.items[0]["score"], first.engine_calls) == (1.0, 1)
    assert (marked.items[0]["score"], marked.engine_calls) == (0.0, 1)
    assert (again.items[0]["score"], again.engine_calls) == (0.0, 1)


def test_options_that_do_nothing_are_refused(
    settings: Settings, cli_env: dict[str, str], thinking_copy: Path
) -> None:
    """`opens_thinking: false` on a GGUF model (written to correct its template) and
    `--opens-thinking --completion` were taken without a word and did nothing (44th, low)."""
    from openscout.engines.loader import load_engine
    from openscout.errors import ConfigError
    from tests.cli.test_cli_foundation import run_cli

    spec = ModelSpec(id="l", engine="llamacpp", path=str(thinking_copy))
    hand_edited = spec.model_copy(update={"options": {"opens_thinking": False}})
    with pytest.raises(ConfigError, match="a llamacpp model takes no options"):
        add_model(settings, hand_edited)
    with pytest.raises(ConfigError, match="a llamacpp model takes no options"):
        load_engine(hand_edited, settings)
    from openscout.engines.llamacpp_kind import TUNE_PROVENANCE

    tuned = spec.model_copy(update={"options": dict.fromkeys(TUNE_PROVENANCE, "x")})
    add_model(settings, tuned)  # what `openscout tune` records is no option, and is kept
    url = ["models", "add", "c", "--url", "http://127.0.0.1:9/v1", "--completion"]
    refused = run_cli([*url, "--opens-thinking"], cli_env, check=False)
    assert refused.returncode != 0 and "is for chat models" in refused.stderr
    assert "Traceback" not in refused.stderr


CUT_APART = (
    b'data: {"choices": [{"delta": {"reasoning_content": "Is it Paris? Hmm, or Lyon"}}]}\n\n'
    b'data: {"choices": [{"delta": {}, "finish_reason": "length"}]}\n\n'
)
CUT_WHOLE = json.dumps(
    {
        "choices": [
            {
                "message": {"content": None, "reasoning_content": "Is it Paris? Hmm, or Lyon"},
                "finish_reason": "length",
            }
        ]
    }
).encode()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(CUT_APART, "text/event-stream"), (CUT_WHOLE, "application/json")],
    ids=["streamed", "whole"],
)
def test_thinking_sent_apart_and_cut_off_is_no_answer(
    settings: Settings, tmp_path: Path, body: bytes, content_type: str
) -> None:
    """A server with a reasoning parser running out of max_tokens mid-thought sends the
    thinking apart and no answer: scored as "", it passed `not-icontains` and `max-length`
    (45th probe). Inline or apart, no answer is a counted miss."""
    item = negative_checks_on(settings, tmp_path, body, content_type)
    assert item["score"] == 0.0
    assert item["detail"]["unscorable"] == "cut off before any answer (max_tokens reached)"


FILTERED = (
    b'data: {"choices": [{"delta": {"content": "Sure, here"}}]}\n\n'
    b'data: {"choices": [{"delta": {}, "finish_reason": "content_filter"}]}\n\n'
)
FILTERED_WHOLE = json.dumps(
    {"choices": [{"message": {"content": None}, "finish_reason": "content_filter"}]}
).encode()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(FILTERED, "text/event-stream"), (FILTERED_WHOLE, "application/json")],
    ids=["cut", "withheld"],
)
def test_an_answer_a_content_filter_withheld_is_a_counted_miss(
    settings: Settings, tmp_path: Path, body: bytes, content_type: str
) -> None:
    """A 200 whose finish_reason is `content_filter` (OpenAI's and Azure's form) was read as
    "stop": the withheld or cut answer passed `not-icontains` and `max-length`, where the
    same refusal as a 400 is a counted miss (45th probe)."""
    item = negative_checks_on(settings, tmp_path, body, content_type)
    assert item["score"] == 0.0
    assert item["detail"]["unscorable"] == "withheld by the provider's content filter"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'data: {"choices": [{"delta": {"content": null, "refusal": "I can\'t help."},'
            b' "finish_reason": "stop"}]}\n\n',
            "text/event-stream",
        ),
        (
            b'{"choices": [{"message": {"content": null, "refusal": "I can\'t help."},'
            b' "finish_reason": "stop"}]}',
            "application/json",
        ),
    ],
    ids=["streamed", "whole"],
)
def test_a_refusal_in_its_own_field_is_the_answer(body: bytes, content_type: str) -> None:
    """OpenAI's `refusal` field was dropped: the refusal scored as the empty answer, failing
    `icontains: "can't"` and passing every `not-*` (45th probe, low)."""
    assert answered(body, content_type) == ("I can't help.", "stop")
