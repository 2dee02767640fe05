"""compare() wiring on scripted mock models: every stage runs, failures stay per model."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from openscout.compare import CompareOptions, compare
from openscout.config import Settings
from openscout.errors import OpenscoutError
from openscout.evals import calls as calls_module
from openscout.evals.pacing import RetryPolicy
from openscout.models import ModelSpec, add_model
from openscout.paired_held import holm_notes, with_paired
from openscout.perf.measure import BenchConfig
from openscout.recommend import Constraints
from openscout.report.tables import rows
from tests.engines.fake_openai import FakeServer, serve
from tests.evals.helpers import write_suite

FAST = BenchConfig(repeats=1, warmup=0, max_tokens=8, concurrency=())


@pytest.fixture
def mocks(settings: Settings) -> list[str]:
    add_model(
        settings,
        ModelSpec(
            id="mock-a",
            engine="mock",
            license="MIT",
            price_per_hour=1.0,
            options={"default": "1 2 3 4 5 6 7 8 9"},
        ),
    )
    add_model(
        settings, ModelSpec(id="mock-b", engine="mock", options={"fail_with": "the server is down"})
    )
    return ["mock-a", "mock-b"]


def test_compare_on_mocks_keeps_going_past_a_failing_model(
    settings: Settings, mocks: list[str]
) -> None:
    opts = CompareOptions(limit=4, bench=FAST, constraints=Constraints(min_tps=1.0))
    result = compare(settings, mocks, opts)
    a, b = result.models
    assert a.id == "mock-a" and a.errors == []
    assert a.quality is not None and a.quality.suite == "quick" and a.quality.n == 4
    assert a.output_tps is not None and a.output_tps > 0
    assert a.memory_bytes is None  # not in-process
    assert a.cost is not None
    assert a.cost.price_per_hour == 1.0 and a.price_source == "model mock-a's price_per_hour"
    assert a.license == "MIT" and a.fit is None
    # no catalog entry: the registered licence still says OSI and commercial use
    assert a.openness is not None
    assert a.openness.label is None and a.openness.osi_approved is True
    assert a.openness.commercial_use is True and b.openness is None
    assert any(e.startswith("speed measurement failed: the server is down") for e in b.errors)
    rec = result.recommendation
    assert rec.recommended == "mock-a"
    assert rec.excluded["mock-b"] == [
        "its speed measurement failed",
        "its speed was not measured",
    ]
    assert result.settings.suite == "quick" and result.reference_prices
    # the limit is said: `--suite FILE` of 30 tests scored the first 20 unsaid (40th, low)
    assert "quality was measured on the first 4 items of 'quick' (--limit)" in " ".join(
        result.notes
    )


def test_the_limit_is_said_only_where_it_left_items_out(
    settings: Settings, mocks: list[str], tmp_path: Path
) -> None:
    """A suite of exactly 20 items run at the default --limit 20 was said to be measured on
    "the first 20 items ... a larger --limit asks more of them", which asks nothing more
    (54th probe, low)."""
    suite = write_suite(tmp_path / "s.yaml", 4)
    said = "quality was measured on the first"
    for limit, noted in ((4, False), (5, False), (3, True)):
        opts = CompareOptions(suite=str(suite), limit=limit, bench=FAST)
        result = compare(settings, ["mock-a"], opts)
        assert bool([n for n in result.notes if n.startswith(said)]) is noted, limit


def test_compare_ranks_speed_at_the_depth_asked(settings: Settings, mocks: list[str]) -> None:
    opts = CompareOptions(skip_quality=True, bench=FAST, speed_depth=600)
    [a] = compare(settings, ["mock-a"], opts).models
    assert a.bench is not None
    deep = next(p for p in a.bench.depths if p.depth == 600)
    assert [p.depth for p in a.bench.depths] == [0, 600]
    assert deep.prompt_tokens > a.bench.prompts["short"].prompt_tokens
    assert a.output_tps == deep.output_tps.median
    assert a.ttft_s == deep.ttft_s.median


def test_compare_without_quality(settings: Settings, mocks: list[str]) -> None:
    result = compare(settings, ["mock-a"], CompareOptions(skip_quality=True, bench=FAST))
    assert result.models[0].quality is None and result.settings.suite is None
    assert result.recommendation.recommended == "mock-a"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-openness", "very"], "unknown openness level 'very'"),
        (["--weight", "quality"], "cannot read the weight 'quality'"),
        (["--weight", "beauty=2"], "unknown weight ['beauty']"),
        (
            [
                "--weight",
                "quality=0",
                "--weight",
                "cost=0",
                "--weight",
                "speed=0",
                "--weight",
                "memory=0",
            ],
            "bad weights",
        ),
        (["--api-price", "x=1"], "cannot read the API price 'x=1'"),
        (["-m", "nope"], "no model registered as 'nope'"),
        # 40th probe, lows: an infinite weight made every score NaN; a model listed twice
        # was benched twice and "not on the Pareto front" beside itself
        (["--weight", "quality=inf"], "cannot read the weight 'quality=inf'"),
        # and two of 1e308 summed to inf, a nan score; a price of 1e308 an hour made every
        # cost inf (47th probe, low)
        (["--weight", "speed=1e308"], "bad weight speed: Input should be less than or equal"),
        (["--price-per-hour", "1e308"], "Invalid value for '--price-per-hour'"),
        (["-m", "smollm2-135m-instruct", "-m", "smollm2-135m-instruct"], "listed twice"),
    ],
)
def test_compare_cli_refuses_bad_input_clearly(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "compare", *args],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_a_bad_file_in_the_users_catalog_costs_its_entries_not_the_comparison(
    settings: Settings, mocks: list[str]
) -> None:
    """One unknown licence in `<data dir>/catalog/` stopped `compare` for every model, also
    those no entry there named (nineteenth probe)."""
    (settings.home / "catalog").mkdir()
    bad = settings.home / "catalog" / "h.yaml"
    bad.write_text("version: 2\nmodels:\n  - {id: x/y, name: y, license: Not-A-Licence}\n")
    result = compare(settings, ["mock-a"], CompareOptions(skip_quality=True, bench=FAST))
    assert result.models[0].errors == [] and result.models[0].output_tps
    assert any(n.startswith("the user's catalog files were not read") for n in result.notes)
    assert str(bad) in " ".join(result.notes)


def test_a_server_holding_its_tokens_then_sending_them_at_once_is_not_faster(
    settings: Settings,
) -> None:
    """Decode speed is taken between the first and the last token: a server holding its
    first token 1 s and then sending all 20 at once had 100s of times the speed of one
    streaming them over the same second, and the recommendation (37th probe, medium). The
    decode figure stays as the field defines it; the speed the recommendation weighs is
    the whole answer's, and there the two are alike."""
    from openscout.compare import candidate
    from openscout.recommend import _vector
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(f"w{i}" for i in range(20))
    steady = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05)
    burst = FakeServer("ok", reply=lambda p: words, answer_delay_s=1.0)
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=32, concurrency=())
    with serve(steady), serve(burst):
        add_remote(settings, steady.url, "steady")
        add_remote(settings, burst.url, "burst")
        result = compare(
            settings, ["steady", "burst"], CompareOptions(skip_quality=True, bench=bench)
        )
    models = {m.id: m for m in result.models}
    assert models["burst"].output_tps > 10 * models["steady"].output_tps  # as measured
    # the speed axis as the recommendation weighs it
    steady_speed, burst_speed = (_vector(candidate(models[m]))[2] for m in ("steady", "burst"))
    assert steady_speed and burst_speed and 0.5 < burst_speed / steady_speed < 2
    # and the cost axis: input cost from prompt tokens over TTFT made a server that answers
    # at once (here: steady, TTFT a few ms) look far cheaper for the same work in the same
    # time (39th probe, high); the whole request's cost is alike
    blended = [models[m].cost_per_m for m in ("steady", "burst")]
    assert blended[0] and blended[1] and blended[1] / blended[0] > 5
    steady_cost, burst_cost = (-_vector(candidate(models[m]))[1] for m in ("steady", "burst"))
    assert 0.5 < burst_cost / steady_cost < 2


def test_the_constraints_and_the_cost_axis_rest_on_what_a_server_cannot_fake(
    settings: Settings,
) -> None:
    """The 37th and 39th probes' fixes moved the ranking onto whole answers, but `--min-tps`
    and `--max-cost` still read the decode and blended figures: a server holding its first
    token and bursting the rest met `--min-tps 15` at 132,660 tokens/s and had the honest
    model excluded (40th probe, high). And the whole request's cost divided by the prompt
    tokens the server claims: 400 for a 5-token prompt was many times "cheaper" (high)."""
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(f"w{i}" for i in range(20))
    steady = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05)
    burst = FakeServer("ok", reply=lambda p: words, answer_delay_s=1.0)
    liar = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05, prompt_tokens=400)
    short = FakeServer("ok", reply=lambda p: "yes no", answer_delay_s=0.2)
    blank = FakeServer("ok", reply=lambda p: "")
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=32, concurrency=())
    servers = {"steady": steady, "burst": burst, "liar": liar, "short": short, "blank": blank}
    with serve(steady), serve(burst), serve(liar), serve(short), serve(blank):
        for name, fake in servers.items():
            add_remote(settings, fake.url, name)
        result = compare(
            settings,
            list(servers),
            CompareOptions(
                skip_quality=True,
                bench=bench,
                constraints=Constraints(min_tps=100, max_cost_per_m=1e6),
            ),
        )
    models = {m.id: m for m in result.models}
    assert models["burst"].output_tps > 100  # the decode figure, as the field defines it
    excluded = result.recommendation.excluded
    # 20 words (50 tokens) in about a second each: both under 100 tokens/s over the answer
    assert "steady" in excluded and "burst" in excluded, excluded
    assert "below 100" in " ".join(excluded["burst"])
    # a two-token answer has a whole-answer speed (it had none under 8 tokens: 40th, low)
    from openscout.compare import candidate

    cands = {m: candidate(models[m]) for m in servers}
    assert cands["short"].speed_tps is not None
    # an answer of nothing has no speed to be "not measured" and ranked: it failed (47th)
    assert cands["blank"].speed_failed and "its speed measurement failed" in excluded["blank"]
    # the prompt tokens a server claims do not make its requests cheaper
    assert models["liar"].bench.short.prompt_tokens == 400
    assert 0.5 < cands["liar"].cost_axis / cands["steady"].cost_axis < 2


def test_at_n_clients_the_cost_axis_is_the_rounds_time_over_its_answer_tokens(
    settings: Settings,
) -> None:
    """With `--cost-at N` the cost axis fell back to the blended cost, whose input rate is
    the prompt tokens a server claims over its first delta (40th probe, medium)."""
    from openscout.compare import candidate
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(f"w{i}" for i in range(20))
    steady = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05, concurrent_ok=2)
    liar = FakeServer(
        "ok", reply=lambda p: words, word_gap_s=0.05, prompt_tokens=400, concurrent_ok=2
    )
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=32, concurrency=(2,))
    with serve(steady), serve(liar):
        add_remote(settings, steady.url, "steady")
        add_remote(settings, liar.url, "liar")
        result = compare(
            settings,
            ["steady", "liar"],
            CompareOptions(skip_quality=True, bench=bench, cost_concurrency=2),
        )
    models = {m.id: m for m in result.models}
    costs = {m: candidate(models[m]).cost_axis for m in models}
    assert costs["steady"] and costs["liar"] and 0.5 < costs["liar"] / costs["steady"] < 2
    point = next(p for p in models["steady"].bench.sweep if p.concurrency == 2)
    price = models["steady"].cost.price_per_hour
    rate = point.aggregate_reference_tps
    assert costs["steady"] == pytest.approx(price / 3600 / rate * 1e6)


def test_no_two_timed_requests_are_alike(settings: Settings) -> None:
    """`bench` sent the same greedy request for the warm-up and every timed run: a caching
    gateway in front of a server answered them from its cache, 8,500 tokens/s and a 3 ms
    TTFT, and was recommended (40th probe, medium). Each request now starts unlike any
    other, on every run of the command too."""
    from openscout.perf.bench import bench_models
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    fake = FakeServer("ok", reply=lambda p: "a b c", concurrent_ok=2)
    config = BenchConfig(repeats=2, warmup=1, max_tokens=8, concurrency=(2,))
    with serve(fake):
        add_remote(settings, fake.url, "remote")
        for _ in range(2):
            bench_models(settings, ["remote"], config)
    prompts = [s.prompt for s in fake.seen]
    assert len(prompts) > 10 and len(set(prompts)) == len(prompts)


def test_the_tokens_a_server_claims_do_not_make_it_faster_or_cheaper(
    settings: Settings,
) -> None:
    """After the 40th probe's fixes the axes were a whole answer's tokens over its time, the
    tokens being the server's count, believed up to one a byte: claiming 64 for twenty words
    made the same stream 3.3 times faster and cheaper, recommended (42nd probe, high). The
    axes count the text that arrived in one tokenizer for every model."""
    from openscout.compare import candidate
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(f"w{i}" for i in range(20))
    honest = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05)
    inflated = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05, completion_tokens=60)
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=64, concurrency=())
    with serve(honest), serve(inflated):
        add_remote(settings, honest.url, "honest")
        add_remote(settings, inflated.url, "inflated")
        result = compare(
            settings, ["honest", "inflated"], CompareOptions(skip_quality=True, bench=bench)
        )
    models = {m.id: m for m in result.models}
    assert models["inflated"].bench.short.completion_tokens == 60  # its claim, as shown
    cands = {m: candidate(models[m]) for m in models}
    assert 0.7 < cands["inflated"].speed_tps / cands["honest"].speed_tps < 1.4
    assert 0.7 < cands["inflated"].cost_axis / cands["honest"].cost_axis < 1.4


def test_a_model_measured_at_fewer_clients_is_priced_at_the_most_it_takes(
    settings: Settings,
) -> None:
    """`--cost-at 4` priced a model whose sweep stopped at 2 clients (max_parallel 2) at one
    client, beside an identical server priced at 4: 4 times dearer and the other recommended,
    while every view said "at 4 clients" (42nd probe, medium)."""
    from openscout.compare import candidate
    from openscout.report.tables import cost_assumption
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(f"w{i}" for i in range(10))
    small = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05, concurrent_ok=8)
    big = FakeServer("ok", reply=lambda p: words, word_gap_s=0.05, concurrent_ok=8)
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=32, concurrency=(1, 2, 4))
    with serve(small), serve(big):
        add_remote(settings, small.url, "small", max_parallel=2)
        add_remote(settings, big.url, "big", max_parallel=8)
        result = compare(
            settings,
            ["small", "big"],
            CompareOptions(skip_quality=True, bench=bench, cost_concurrency=4),
        )
    models = {m.id: m for m in result.models}
    assert models["small"].bench.cost_concurrency == 2 and models["big"].bench.cost_concurrency == 4
    costs = {m: candidate(models[m]).cost_axis for m in models}
    assert costs["small"] / costs["big"] < 3  # 2 clients' rate, not one's (4 times)
    assert "small at 2" in (cost_assumption(result) or "")


def test_compare_at_a_depth_weighs_the_answers_at_that_depth(settings: Settings) -> None:
    """`compare --depth 4096` weighed the depth-0 answers: a server 6 times slower to its
    first token at that depth was "better" on speed and cost, and recommended (42nd probe)."""
    from openscout.compare import candidate
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(f"w{i}" for i in range(10))
    slow_deep = FakeServer("ok", reply=lambda p: words, word_gap_s=0.02, delay_a_char_s=0.0005)
    flat = FakeServer("ok", reply=lambda p: words, word_gap_s=0.02, answer_delay_s=0.3)
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=16, concurrency=())
    with serve(slow_deep), serve(flat):
        add_remote(settings, slow_deep.url, "slow-deep")
        add_remote(settings, flat.url, "flat")
        opts = CompareOptions(skip_quality=True, bench=bench, speed_depth=1500)
        result = compare(settings, ["slow-deep", "flat"], opts)
    models = {m.id: m for m in result.models}
    deep = {m: candidate(models[m], 1500).speed_tps for m in models}
    shallow = {m: candidate(models[m]).speed_tps for m in models}
    assert shallow["slow-deep"] > shallow["flat"]  # at depth 0 it is the faster
    assert deep["slow-deep"] < deep["flat"]  # at the depth asked it is not
    assert result.recommendation.recommended == "flat"


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (a UDP connect sends nothing)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route is looked up
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_a_server_elsewhere_without_its_own_price_has_no_cost(settings: Settings) -> None:
    """A remote model without its own price was priced at this machine's rate ($0.08/h for
    a 2-vCPU VM, or --price-per-hour, "$ per hour of this machine"): a GPU server elsewhere
    came out the cheapest model of the comparison (40th probe, low). This machine's price is
    for models on it, a server on loopback included; one elsewhere has no cost until it is
    given its own, and every view says so."""
    from openscout.compare import candidate
    from openscout.perf.bench import price_for
    from openscout.perf.cost import UNPRICED
    from openscout.report.tables import cost_assumption
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    def spec(url: str, **kw: float) -> ModelSpec:
        return ModelSpec(id="r", engine="openai", base_url=url, **kw)

    here = ["http://127.0.0.1:8000/v1", "http://localhost/v1", "http://[::1]:1/v1"]
    # as servers print their address, and the short forms a connection reads (45th, low)
    here += ["http://0.0.0.0:8000/v1", "http://127.1:8000/v1", "http://[::ffff:127.0.0.1]:1/v1"]
    for url in [*here, "http://localhost.:1/v1", "http://[::]:8000/v1"]:
        assert price_for(spec(url), 3.0) == (3.0, "--price-per-hour"), url
    elsewhere = ("http://10.0.0.5:8000/v1", "https://api.example.com/v1", "http://127.0.0.1.x.io/")
    for url in (*elsewhere, "http://[::ffff:10.0.0.1]:1/v1"):
        assert price_for(spec(url), 3.0) == (None, UNPRICED)
        assert price_for(spec(url, price_per_hour=2.5), 3.0)[0] == 2.5
    assert price_for(ModelSpec(id="m", engine="mock"), None)[0] == 0.0816  # runs here

    host = _non_loopback_address()
    if host is None:
        pytest.skip("this machine has no address but loopback to serve on")
    words = " ".join(f"w{i}" for i in range(12))
    near = FakeServer("ok", reply=lambda p: words, word_gap_s=0.01)
    far = FakeServer("ok", reply=lambda p: words, word_gap_s=0.01)
    bench = BenchConfig(repeats=1, warmup=0, max_tokens=16, concurrency=())
    with serve(near), serve(far, host=host):
        add_remote(settings, near.url, "near")
        add_remote(settings, far.url, "far")
        result = compare(
            settings,
            ["near", "far"],
            CompareOptions(
                skip_quality=True,
                bench=bench,
                price_per_hour=3.0,
                constraints=Constraints(max_cost_per_m=1e6),
            ),
        )
    models = {m.id: m for m in result.models}
    assert models["near"].cost is not None and models["near"].cost.price_per_hour == 3.0
    assert models["far"].cost is None and models["far"].price_source == UNPRICED
    assert candidate(models["far"]).cost_axis is None
    assert result.recommendation.excluded["far"] == ["its cost per token is unknown"]
    assert result.recommendation.recommended == "near"
    line = cost_assumption(result) or ""
    assert "$3/h from --price-per-hour" in line and "no cost for far" in line


def test_text_past_what_max_tokens_allows_is_not_speed(settings: Settings) -> None:
    """A server sending its max_tokens deltas and then one burst of text (within the
    engines' 64 characters a token) had it all counted: 13 times the speed, a 13th of the
    cost, recommended (45th probe, high); at most 1.5 reference tokens a token asked, 8 more
    words still won both axes. An answer counts at most one for each token asked."""
    from openscout.compare import candidate
    from openscout.perf.reference_tokens import count
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    words = " ".join(["word"] * 16)
    burst = words + " " + "-".join(f"x{i}" for i in range(150))
    assert len(burst) < 64 * 16 and count(burst) > 10 * count(words)  # type: ignore[operator]
    honest = FakeServer("ok", reply=lambda p: words, word_gap_s=0.02)
    padded = FakeServer("ok", reply=lambda p: burst, word_gap_s=0.02, completion_tokens=16)
    bench = BenchConfig(repeats=2, warmup=0, max_tokens=16, concurrency=())
    with serve(honest), serve(padded):
        add_remote(settings, honest.url, "honest")
        add_remote(settings, padded.url, "padded")
        result = compare(
            settings, ["honest", "padded"], CompareOptions(skip_quality=True, bench=bench)
        )
    models = {m.id: m for m in result.models}
    assert models["padded"].bench.short.reference_tokens == 16  # as asked, not 655
    cands = {m: candidate(models[m]) for m in models}
    assert 0.8 < cands["padded"].speed_tps / cands["honest"].speed_tps < 1.25
    assert 0.8 < cands["honest"].cost_axis / cands["padded"].cost_axis < 1.25


def _honest_and_junk(
    settings: Settings, tmp_path: Path, ids: list[str], opts: CompareOptions
) -> Any:
    """compare on 20 capitals: honest right on the first 6, slowly; junk answering "x" at
    once; dear (no licence) right on the last 6."""
    suite = tmp_path / "capitals.yaml"
    tests = "".join(f"  - vars: {{i: {i}}}\n" for i in range(20))
    suite.write_text(
        "prompts: ['Q{{i}}: the capital of France?']\n"
        f"assert: [{{type: icontains, value: Paris}}]\ntests:\n{tests}"
    )
    right = {f"Q{i}: the capital of France?": "Paris." for i in range(6)}
    late = {f"Q{i}: the capital of France?": "Paris." for i in range(14, 20)}
    last = {"Q19: the capital of France?": "Paris."}  # the one item honest misses
    models = {
        "honest": ({"script": right, "default": "Lyon.", "delay_s": 0.1}, "MIT"),
        "junk": ({"default": "x x x x x x x x"}, "MIT"),
        "dear": ({"script": late, "default": "Lyon.", "delay_s": 0.1}, None),
        "twin": ({"script": right, "default": "Lyon.", "delay_s": 0.1}, "MIT"),
        "tiny": ({"script": last, "default": "Lyon.", "delay_s": 0.1}, "MIT"),
    }
    for mid in ids:
        options, licence = models[mid]
        add_model(settings, ModelSpec(id=mid, engine="mock", price_per_hour=1.0,
                                      options=options, license=licence))  # fmt: skip
    return compare(settings, ids, dataclasses.replace(opts, suite=str(suite), bench=FAST))


def test_a_model_excluded_by_a_constraint_does_not_weaken_the_paired_tests(
    settings: Settings, tmp_path: Path
) -> None:
    """A third model excluded by a constraint counted in Holm's correction: its pairs
    raised the bound the deciding pair had to meet, and junk was recommended (52nd probe);
    a pair significant alone and not after the correction is said."""
    osi = CompareOptions(constraints=Constraints(osi_required=True))
    result = _honest_and_junk(settings, tmp_path, ["honest", "junk", "dear"], osi)
    rec = result.recommendation
    assert "dear" in rec.excluded and rec.recommended == "honest"
    assert not [n for n in result.notes if "Holm" in n]


def test_a_second_deployment_of_the_honest_model_does_not_hand_the_pick_to_junk(
    settings: Settings, tmp_path: Path
) -> None:
    """A twin of the honest model (the same answers, another deployment) counted in Holm's
    correction: three pairs made 0.05 / 3 the bound, p=0.031 missed it, and junk right on
    none was recommended (53rd probe). Alike on every item, the twins are one arm."""
    result = _honest_and_junk(settings, tmp_path, ["honest", "junk", "twin"], CompareOptions())
    rec = result.recommendation
    assert rec.recommended in ("honest", "twin")
    assert not [n for n in result.notes if "Holm" in n]
    status = {row["id"]: row["status"] for row in rows(result)}
    assert status["junk"].endswith("quality below honest's")


def test_a_pick_beaten_by_the_paired_test_alone_is_no_clear_pick(
    settings: Settings, tmp_path: Path
) -> None:
    """A third model right on one item the honest one misses made a pair able to reach the
    bound: 0.05 / 2 held honest's p=0.031 against junk under it, and junk right on none was
    recommended (54th probe). Where the best-scored model is below another by the paired
    test alone, there is no clear pick, and the message says what would make one."""
    result = _honest_and_junk(settings, tmp_path, ["honest", "junk", "tiny"], CompareOptions())
    rec = result.recommendation
    assert rec.recommended is None, rec
    assert rec.message.startswith("no clear pick: junk scores highest, but honest's quality")
    assert "(p=0.031)" in rec.message and "--limit" in rec.message
    assert rec.ranking[0].id == "junk"  # the ranking is still given


def test_tests_that_cannot_reach_the_bound_or_repeat_another_take_no_share_of_it() -> None:
    """Holm's correction counts distinct tests able to be significant: a pair scored alike
    on every item joins its models into one arm, and a pair 5 items apart (an exact McNemar
    p of at least 0.0625) cannot go under 0.05 / 2 (Tarone). Tests of unknown reach count."""
    from openscout.comparison import PairedTest
    from openscout.paired_held import held_tests

    def pair(a: str, b: str, p: float, apart: int | None) -> PairedTest:
        return PairedTest(model_a=a, model_b=b, n=20, score_a=0.3, score_b=0.0, diff=0.3,
                          p_value=p, significant=p < 0.05, method="mcnemar-exact",
                          discordant=apart)  # fmt: skip

    twins = [pair("h", "j", 0.031, 6), pair("t", "j", 0.031, 6), pair("h", "t", 1.0, 0)]
    assert held_tests(twins).tests == {id(twins[0]), id(twins[1])}
    near = [pair("h", "j", 0.031, 6), pair("t", "j", 0.0625, 5), pair("h", "t", 0.5, 2)]
    assert held_tests(near).tests == {id(near[0])}
    unknown = [pair("h", "j", 0.031, None), pair("t", "j", 0.0625, None), pair("h", "t", 1, None)]
    assert (held_tests(unknown).tests, held_tests(unknown).counted) == (set(), 3)
    reachable = [pair("h", "j", 0.031, 6), pair("t", "j", 0.04, 7), pair("h", "t", 1.0, 0)]
    reachable[2] = pair("h", "t", 0.7, 9)  # h and t differ: all three could go under 0.05,
    # two under 0.05 / 2 (6 apart cannot): the bound is 0.025, and 0.031 misses it
    assert (held_tests(reachable).tests, held_tests(reachable).counted) == (set(), 2)


def test_junk_answered_at_once_is_not_picked_over_a_model_the_paired_test_finds_better(
    settings: Settings, tmp_path: Path
) -> None:
    """Right on 6 of 20 items against 0 of 20: the 95% intervals overlap ([0.15, 0.52] and
    [0.00, 0.16]), but compare's own paired test on the same items gives p=0.031, and the
    junk answered at once was recommended as "tied" on quality (50th probe, high)."""
    result = _honest_and_junk(settings, tmp_path, ["honest", "junk"], CompareOptions())
    (t,) = result.paired
    assert t.significant and t.p_value == pytest.approx(0.03125)
    rec = result.recommendation
    score = {r.id: r.score for r in rec.ranking}
    assert score["junk"] > score["honest"]  # what speed and cost alone say
    assert rec.recommended == "honest"
    (why,) = [r for r in rec.reasons if r.startswith("junk is not recommended")]
    assert "below honest's by the paired test on the items both answered (p=0.031)" in why
    assert "(0.00 [0.00, 0.16] vs 0.30" in why  # its own quality first
    assert not [r for r in rec.reasons if "tied" in r and "junk" in r]
    status = {row["id"]: row["status"] for row in rows(result)}
    assert status == {"honest": "recommended", "junk": "Pareto front, quality below honest's"}


def test_a_model_failing_every_quality_item_is_not_picked_over_nor_beside(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server failing every quality item (503) and answering the speed prompt at once had
    no quality score, counted as no failure, and was recommended over a model right on the
    items (50th probe, high); failing one item of them excluded a model. The pick waits for
    it: a rerun asks its items again (51st probe)."""
    monkeypatch.setattr(calls_module, "RetryPolicy", lambda: RetryPolicy(base_s=0.01, cap_s=0.05))
    suite = write_suite(tmp_path / "s.yaml", 4)
    fake = FakeServer("unavailable", misbehave_on=("Item ",))
    honest = {"script": {f"Item {i}: say w{i}": f"ok w{i}" for i in range(4)}, "delay_s": 0.1}
    with serve(fake):
        failing = ModelSpec(id="failing", engine="openai", base_url=fake.url, model="fake")
        add_model(settings, failing.model_copy(update={"price_per_hour": 1.0}))
        add_model(
            settings, ModelSpec(id="honest", engine="mock", price_per_hour=1.0, options=honest)
        )
        opts = CompareOptions(suite=str(suite), bench=FAST)
        result = compare(settings, ["honest", "failing"], opts)
    assert fake.outcomes().count("ok") >= 1  # it answered the speed prompt
    rec = result.recommendation
    assert rec.excluded["failing"] == ["its quality was asked and not measured (see its errors)"]
    assert rec.recommended is None and "the measurements of failing are incomplete" in rec.message


def test_a_suite_that_cannot_run_stops_compare_before_the_speed_runs(
    settings: Settings, tmp_path: Path, mocks: list[str]
) -> None:
    """A `python` assertion without --trust-python, or a judge nobody registered, failed
    every model's quality, and the pick went on speed and cost alone (50th probe)."""
    done: list[str] = []

    class Seen:
        def plan(self, units: int) -> None:
            pass

        def advance(self, description: str) -> None:
            done.append(description)

    suite = tmp_path / "s.yaml"
    for text, said in (
        ("[{type: python, value: 'True'}]", "python"),
        ("[{type: llm-rubric, value: nice, judge: nobody}]", "nobody"),
    ):
        suite.write_text(f"prompts: [Hi]\ntests:\n  - assert: {text}\n")
        with pytest.raises(OpenscoutError, match=said):
            compare(settings, ["mock-a"], CompareOptions(suite=str(suite), bench=FAST), Seen())
    assert done == []  # no model was asked anything
    suite.write_text("prompts: [Hi]\ntests:\n  - assert: [{type: icontains, value: a}]\n")
    compare(settings, ["mock-a"], CompareOptions(suite=str(suite), bench=FAST), Seen())
    assert done  # what the check above would see


def test_a_file_that_does_not_load_fails_only_its_own_model(
    settings: Settings, tmp_path: Path, mocks: list[str], smollm2_path: Path
) -> None:
    """One GGUF cut short after it was registered failed the quality suite for every model,
    and the pick went on speed and cost alone (50th probe)."""
    broken = tmp_path / "broken.gguf"
    shutil.copyfile(smollm2_path, broken)
    add_model(settings, ModelSpec(id="broken", engine="llamacpp", path=str(broken)))
    os.truncate(broken, 5_000_000)  # whole metadata, weights cut
    result = compare(settings, ["mock-a", "broken"], CompareOptions(limit=4, bench=FAST))
    a, b = result.models
    assert a.quality is not None and a.quality.n == 4 and a.errors == []
    assert b.quality is None and any(e.startswith("speed measurement failed") for e in b.errors)
    assert result.recommendation.recommended == "mock-a"


def test_paired_wins_are_held_to_holms_correction_over_the_pairs() -> None:
    """Two models: p=0.03 shows one above the other. Three models make three pairs, and
    p=0.03 is over Holm's first bound (0.05 / 3): ten equal models made 45 pairs, about two
    under 0.05 by chance, each able to set a model aside."""
    from openscout.comparison import PairedTest
    from openscout.recommend import Candidate

    def pair(a: str, b: str, p: float) -> PairedTest:
        return PairedTest(model_a=a, model_b=b, n=20, score_a=0.3, score_b=0.0, diff=0.3,
                          p_value=p, significant=p < 0.05, method="mcnemar-exact")  # fmt: skip

    two = with_paired([Candidate(id="a"), Candidate(id="b")], [pair("a", "b", 0.03)])
    assert two[0].quality_beats == {"b": 0.03}
    three = [Candidate(id=x) for x in "abc"]
    tests = [pair("a", "b", 0.03), pair("a", "c", 0.2), pair("b", "c", 0.5)]
    assert all(not c.quality_beats for c in with_paired(three, tests))
    (note,) = holm_notes(tests)  # printed as significant, read as tied: said
    assert note.startswith("a against b: p=0.03 is significant alone, not held to Holm's")
    assert "over the 3 pairs that could still be significant" in note
    tests[0] = pair("a", "b", 0.01)  # under 0.05 / 3: shown; then 0.2 over 0.05 / 2 ends it
    assert [c.quality_beats for c in with_paired(three, tests)] == [{"b": 0.01}, {}, {}]


def test_quality_read_from_the_cache_of_a_server_is_said_and_no_cache_asks_again(
    settings: Settings, tmp_path: Path
) -> None:
    """A server answering well once and junk at once later kept its cached quality beside
    its new speed, with no word and no way to ask again in compare (51st probe, medium)."""
    suite = write_suite(tmp_path / "s.yaml", 4)
    fake = FakeServer("ok")
    opts = CompareOptions(suite=str(suite), bench=FAST)
    with serve(fake):
        add_model(settings, ModelSpec(id="server", engine="openai", base_url=fake.url, model="m"))
        first = compare(settings, ["server"], opts)
        asked = len(fake.outcomes())
        second = compare(settings, ["server"], opts)
        again = len(fake.outcomes()) - asked
        fake.reply = lambda prompt: "x x x"  # the server now serves junk
        fresh = compare(settings, ["server"], dataclasses.replace(opts, use_cache=False))
        fresh_asked = len(fake.outcomes()) - asked - again
        later = compare(settings, ["server"], opts)
    said = "server: 4 of 4 quality answers were read from the cache of an earlier run"
    assert not [n for n in first.notes if said in n]
    assert [n for n in second.notes if said in n] and again < asked
    assert second.models[0].quality.score == 1.0  # type: ignore[union-attr]
    assert not [n for n in fresh.notes if said in n] and fresh_asked >= 4 + again
    assert fresh.models[0].quality.score == 0.0  # type: ignore[union-attr]
    # the answers asked again replaced the cached ones
    assert later.models[0].quality.score == 0.0  # type: ignore[union-attr]


def test_a_report_that_cannot_be_written_leaves_the_comparison_shown(
    settings: Settings, mocks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under --out discarded the whole comparison: only the error was printed
    (51st probe, low). The disk fills after the comparison: the report's write fails."""
    from typer.testing import CliRunner

    import openscout.report as report
    from openscout.cli.main import app
    from openscout.errors import ConfigError

    def full(*_: object) -> None:
        raise ConfigError("cannot write report.html: no space left on device")

    monkeypatch.setattr(report, "write_report", full)
    monkeypatch.setenv("COLUMNS", "200")
    args = ["compare", "-m", "mock-a", "--limit", "2", "--repeats", "1", "--max-tokens", "8"]
    run = CliRunner().invoke(app, args)
    assert isinstance(run.exception, ConfigError)  # the CLI's entry point prints it, exit 2
    assert "mock-a" in run.output and "recommended" in run.output


def test_a_transient_failure_of_the_speed_prompt_is_measured_again(
    settings: Settings, tmp_path: Path
) -> None:
    """One 429 on the speed prompt excluded a model: its quality was never asked, and junk
    right on none was recommended (52nd probe, medium). The speed is measured again; a
    server failing so every time leaves the pick waiting, as failed quality items do."""
    first = FakeServer("unavailable", misbehave_first=1)
    always = FakeServer("unavailable")
    with serve(first), serve(always):
        for mid, fake in (("flaky", first), ("down", always)):
            add_model(settings, ModelSpec(id=mid, engine="openai", base_url=fake.url, model="m"))
        result = compare(settings, ["flaky"], CompareOptions(skip_quality=True, bench=FAST))
        assert result.models[0].errors == [] and result.recommendation.recommended == "flaky"
        both = compare(settings, ["flaky", "down"], CompareOptions(skip_quality=True, bench=FAST))
    rec = both.recommendation
    assert rec.recommended is None and "the measurements of down are incomplete" in rec.message
    assert len(always.outcomes()) == 3  # asked three times in all


def test_a_resumed_quality_run_of_a_server_says_its_answers_are_kept(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rerun that "no recommendation yet" asks for resumes the run and keeps the answers
    the first command got: a server switched to junk meanwhile was recommended on its old
    quality, without the note given for answers read from the cache (52nd probe, medium)."""
    monkeypatch.setattr(calls_module, "RetryPolicy", lambda: RetryPolicy(base_s=0.01, cap_s=0.05))
    suite = write_suite(tmp_path / "s.yaml", 4)
    fake = FakeServer("unavailable", misbehave_on=("Item 2:",))
    opts = CompareOptions(suite=str(suite), bench=FAST)
    with serve(fake):
        add_model(settings, ModelSpec(id="server", engine="openai", base_url=fake.url, model="m"))
        first = compare(settings, ["server"], opts)
        fake.behaviour = "ok"
        second = compare(settings, ["server"], opts)
    assert first.recommendation.recommended is None
    assert [n for n in second.notes if n.startswith("server: its quality run was resumed")]


def test_answers_read_from_the_cache_are_said_when_only_their_judge_is_asked_afresh(
    settings: Settings, tmp_path: Path
) -> None:
    """Another judge (or a reworded rubric) made every cached answer read as asked now: its
    judge's calls were counted with the answer's, and a server switched to junk was
    recommended on its old answers without the note (53rd probe, medium)."""
    from tests.evals.helpers import add_mock

    for judge in ("j1", "j2"):
        add_mock(settings, judge, default="PASS")
    first_suite = write_suite(tmp_path / "one.yaml", 2, judge="j1")
    other_judge = write_suite(tmp_path / "two.yaml", 2, judge="j2")
    fake = FakeServer("ok")
    opts = CompareOptions(suite=str(first_suite), bench=FAST)
    with serve(fake):
        add_model(settings, ModelSpec(id="server", engine="openai", base_url=fake.url, model="m"))
        compare(settings, ["server"], opts)
        asked = len(fake.outcomes())
        fake.reply = lambda prompt: "x x x"  # the server now serves junk
        again = compare(settings, ["server"], dataclasses.replace(opts, suite=str(other_judge)))
        assert len(fake.outcomes()) - asked < 4  # no item asked: speed prompts only
    said = "server: 4 of 4 quality answers were read from the cache of an earlier run"
    assert [n for n in again.notes if said in n], again.notes


def test_a_judge_that_is_one_of_the_models_compared_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    """A server used as the suite's judge passed its own wrong answers and failed its
    rivals' right ones, and was recommended, nothing said (54th probe, medium). compare
    refuses it before anything runs, under its id or another registration of the same
    endpoint; eval says so in its notes."""
    from openscout.evals import run_eval
    from tests.evals.helpers import add_mock

    add_mock(settings, "honest", default="ok w0")
    add_mock(settings, "other", default="ok w0")
    with serve(FakeServer("ok")) as fake:
        for mid in ("server", "same-server"):
            add_model(settings, ModelSpec(id=mid, engine="openai", base_url=fake.url, model="m"))
        # the same server spelt another way: `localhost`, a trailing slash, the name in capitals
        spelt = fake.url.replace("127.0.0.1", "localhost") + "/"
        add_model(settings, ModelSpec(id="spelt", engine="openai", base_url=spelt, model="M"))
        for judge in ("server", "same-server", "spelt"):
            suite = write_suite(tmp_path / f"{judge}.yaml", 1, judge=judge)
            opts = CompareOptions(suite=str(suite), bench=FAST)
            with pytest.raises(OpenscoutError, match="its own answers and its rivals'") as e:
                compare(settings, ["server", "honest"], opts)
            assert f"the judge {judge} is server" in e.value.message
            assert len(fake.outcomes()) == 0  # refused before any request
        run = run_eval(settings, str(suite), ["server", "honest"])
        assert [n for n in run.notes if "the judge spelt is server" in n]
        fine = compare(settings, ["other", "honest"], opts)  # judged by neither
    assert not [n for n in fine.notes if "judge" in n]
