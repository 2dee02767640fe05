"""Every table command at 80 columns, with long real catalog ids: no id and no URL is cut."""

from __future__ import annotations

import re

import pytest
import yaml

from openscout.catalog.views import show_model

LONG = ["deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "HuggingFaceTB/SmolLM2-1.7B-Instruct"]


@pytest.fixture
def run(settings, cli80):  # type: ignore[no-untyped-def]
    settings.ensure()
    models = [
        {"id": i, "engine": "mock", "catalog_id": i, "options": {"default": "4 5 6 7 8 9"}}
        for i in LONG
    ]
    settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": models}))
    return cli80


def _whole(text: str, needles: list[str]) -> None:
    for n in needles:
        assert n in text, f"{n!r} is cut or missing in:\n{text}"


def test_model_and_run_tables_keep_ids_whole(run) -> None:  # type: ignore[no-untyped-def]
    _whole(run("models", "list"), LONG)
    _whole(run("catalog", "search", "distill", "--limit", "8"), [LONG[0]])
    models = [a for i in LONG for a in ("-m", i)]
    evaluated = run("eval", "--suite", "arithmetic", *models, "--limit", "3")
    _whole(evaluated, LONG)
    run_id = re.search(r"run (\S+)", evaluated) or re.search(r"runs show (\S+)", evaluated)
    listed = run("runs", "list")
    _whole(listed, LONG)
    rid = run_id.group(1) if run_id else listed.split("\n")[3].split()[1]
    _whole(run("runs", "show", rid), LONG)
    _whole(run("bench", *models, "--repeats", "1", "--warmup", "0", "--max-tokens", "4"), LONG)


def test_compare_keeps_ids_whole(run) -> None:  # type: ignore[no-untyped-def]
    models = [a for i in LONG for a in ("-m", i)]
    out = run("compare", *models, "--limit", "3", "--repeats", "1", "--max-tokens", "4")
    _whole(out, LONG)


def test_catalog_show_keeps_every_url_whole(run, settings) -> None:  # type: ignore[no-untyped-def]
    out = run("catalog", "show", LONG[0])
    data = show_model(LONG[0], settings=settings)
    urls = set(re.findall(r"https?://[^\s\"')]+", str(data["facts"]["provenance"])))
    urls |= {s for c in data["openness"]["criteria"].values() for s in c["sources"]}
    assert len(urls) > 3
    _whole(out, sorted(urls))
