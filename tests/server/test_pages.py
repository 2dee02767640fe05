"""Pages render with data from the other packages: stored evaluations, comparison charts,
catalog; and untrusted text is escaped on the server side too."""

from __future__ import annotations

import json
import re

import yaml
from fastapi.testclient import TestClient

from openscout.server.app import create_app

HOSTILE = "<img src=x onerror=alert(1)>"


def test_leaderboard_shows_evaluations_and_comparison_charts(settings) -> None:  # type: ignore[no-untyped-def]
    from openscout.evals.runner import run_eval
    from tests.report.sample import sample_result

    settings.ensure()
    settings.models_file.write_text(
        yaml.safe_dump(
            {"version": 1, "models": [{"id": "m1", "engine": "mock", "options": {"default": "4"}}]}
        )
    )
    run_eval(settings, "arithmetic", ["m1"], limit=5)
    folder = settings.reports_dir / "compare-1"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(sample_result().to_json()))
    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    r = c.get("/leaderboard")
    assert r.status_code == 200
    evals = r.text[r.text.index('id="evals"') :]
    assert "arithmetic" in evals and "m1" in evals
    blocks = re.findall(
        r'<script type="application/json" id="chart-data-(\w+)">(.*?)</script>', r.text, re.S
    )
    assert {name for name, _ in blocks} == {"quality_vs_cost", "quality_vs_speed"}
    for _, body in blocks:
        spec = json.loads(body)
        assert spec["data"] and "layout" in spec
        assert "<" not in body  # tojson escapes markup: a hostile name cannot close the block
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self' 'unsafe-inline'" in csp
    js = c.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert len(js.content) > 1_000_000
    # the model's own page lists its measurements
    page = c.get("/models/m1")
    assert "arithmetic" in page.text[page.text.index("Measurements") :]


def test_leaderboard_without_data_says_what_to_run(client: TestClient) -> None:
    r = client.get("/leaderboard")
    assert "openscout eval" in r.text and "openscout compare" in r.text
    assert "unsafe-inline" not in r.headers["content-security-policy"]


def test_registered_description_is_escaped(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ensure()
    settings.models_file.write_text(
        yaml.safe_dump(
            {"version": 1, "models": [{"id": "evil", "engine": "mock", "description": HOSTILE}]}
        )
    )
    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    for path in ("/", "/models/evil"):
        r = c.get(path)
        assert HOSTILE not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text


def test_unknown_model_page_is_404(client: TestClient) -> None:
    r = client.get("/models/nobody/nothing")
    assert r.status_code == 404 and "Model not found" in r.text


def test_catalog_page_filters(client: TestClient) -> None:
    r = client.get("/catalog?q=smollm2&label=open+source&max_params_b=1")
    assert r.status_code == 200
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in r.text
    assert "gemma" not in r.text.lower().split('id="catalog-results"')[1]
    assert client.get("/catalog?max_params_b=abc").status_code == 200  # bad input: ignored
    sized = client.get("/catalog?organisation=meta&sort=size&min_params_b=60").text
    assert 'value="meta"' in sized and "Llama-2-70b" in sized and "Llama-2-7b-hf" not in sized
    bad = client.get("/catalog?min_params_b=10&max_params_b=5")
    assert bad.status_code == 200 and 'id="catalog-error"' in bad.text


def test_pages_work_without_the_catalog(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The catalog is optional to the server: when it cannot be loaded (a broken data file),
    the pages still render and say what is missing."""
    from openscout.errors import DataFileError
    from openscout.server import data

    def broken(extra_dir: object = None) -> None:
        raise DataFileError("not a catalog", path="models.yaml", line=1)

    monkeypatch.setattr(data, "_read_catalog", broken)
    r = client.get("/catalog?q=x")
    assert r.status_code == 200 and "not available" in r.text
    r = client.get("/models/mock-a")
    assert r.status_code == 200 and "mock-a" in r.text
    by_catalog_id = client.get("/models/HuggingFaceTB/SmolLM2-135M-Instruct")  # registered
    assert by_catalog_id.status_code == 200 and "smollm2-135m-instruct" in by_catalog_id.text
    assert client.get("/models/meta-llama/Llama-2-7b-hf").status_code == 404  # catalog only
    assert client.get("/leaderboard").status_code == 200
    assert client.get("/").status_code == 200


def test_model_pages_never_measure_memory_bandwidth(  # type: ignore[no-untyped-def]
    make_client, settings, smollm2_path, monkeypatch
) -> None:
    """A fresh data dir has no bandwidth figure; the first page that showed a local model's
    fit measured it (two 256 MiB buffers, every core, on the event loop). Pages only read the
    stored figure or use the default; `bench` and `compare` measure."""
    from openscout.models import ModelSpec, add_model
    from openscout.perf import bandwidth

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a page measured the memory bandwidth")

    monkeypatch.setattr(bandwidth, "measure_bandwidth", refuse)
    add_model(
        settings,
        ModelSpec(
            id="local-smol",
            engine="llamacpp",
            path=str(smollm2_path),
            catalog_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
    )
    client = make_client()
    for url in (
        "/models/local-smol",
        "/models/HuggingFaceTB/SmolLM2-135M-Instruct",
        "/models/meta-llama/Llama-3.1-8B",
        "/catalog",
    ):
        page = client.get(url)
        assert page.status_code == 200, (url, page.text[-500:])
    assert bandwidth.cached_bandwidth_gbs(settings) is None


def test_opening_a_page_never_assembles_the_embedded_gemma(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A link from any site to /models/gemma-3-270m (or a catalog page) made a keyless server
    assemble and hash the 253 MB Gemma file (32nd probe, low). A page shows the files there;
    the first real use of the model assembles it."""
    from openscout.config import Settings
    from openscout.engines import bundled

    models = tmp_path / "fresh-models"
    monkeypatch.setenv("OPENSCOUT_MODELS_DIR", str(models))
    c = TestClient(create_app(Settings()), base_url="http://127.0.0.1:8765")
    headers = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    for page in (f"/models/{bundled.GEMMA3_ID}", "/catalog?q=gemma", "/"):
        r = c.get(page, headers=headers)
        assert r.status_code == 200, (page, r.text[:300])
    # nor a GET that loads the model (its opening thread ran without the GET's context:
    # 34th probe); the model is not in error for it
    r = c.get(f"/tokenizer_info?model={bundled.GEMMA3_ID}")
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_not_prepared", r.text
    health = {m["id"]: m for m in c.get("/health").json()["models"]}
    assert health[bundled.GEMMA3_ID]["state"] == "not_loaded"
    assert not models.exists() or not any(p.suffix != ".lock" for p in models.iterdir())
    # the first use that runs the model assembles it, as before
    r = c.post("/tokenize", json={"model": bundled.GEMMA3_ID, "prompt": "hi"})
    assert r.status_code == 200, r.text
    assert (models / bundled.GEMMA3_FILE).stat().st_size > 200 * 2**20


def test_the_leaderboard_shows_what_each_score_left_out(settings) -> None:  # type: ignore[no-untyped-def]
    """Scores left without their failed items were listed like complete ones, the failed
    count nowhere on the page (34th probe, with a model whose server failed the items it
    could not answer)."""
    from openscout.evals.runner import run_eval
    from tests.evals.helpers import add_mock

    add_mock(settings, "half", default="Answer: 4")
    add_mock(settings, "down", fail_with="the server answered 500")
    run_eval(settings, "arithmetic", ["half", "down"], limit=3)
    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    table = c.get("/leaderboard").text.split('id="evals"')[1].split("</table>")[0]
    rows = {r.split("</a>")[0].rsplit(">", 1)[-1]: r for r in table.split("<tr>")[2:]}
    assert re.search(r'<strong title="left out of the score[^"]*">3</strong>', rows["down"])
    assert ">0</td>" in rows["half"]
