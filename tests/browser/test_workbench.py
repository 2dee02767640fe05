"""The workbench in a real browser: catalog and model page, chat with SmolLM2, compare, arena."""

from __future__ import annotations

from typing import Any

import pytest

from openscout.engines.mock import MockEngine
from openscout.server.app import create_app
from tests.browser.conftest import shot, wait_count
from tests.server.live import live_server

SMOL = "smollm2-135m-instruct"
GEMMA = "gemma-3-270m"


def test_search_catalog_and_open_a_model_page(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    with live_server(create_app(settings)) as url:
        page.goto(url + "/catalog")
        page.fill("#catalog-q", "smollm2 instruct")
        page.click("#catalog-search")
        page.wait_for_url("**/catalog?q=smollm2+instruct**")
        link = page.locator(
            "#catalog-results a.model-link", has_text="HuggingFaceTB/SmolLM2-135M-Instruct"
        )
        assert link.count() == 1
        row = page.locator(
            "#catalog-results tbody tr",
            has=page.locator("a.model-link", has_text="HuggingFaceTB/SmolLM2-135M-Instruct"),
        )
        assert "open source" in row.inner_text()
        assert "fits" in row.inner_text() or "tight" in row.inner_text()
        shot(page, "catalog-search")
        link.click()
        page.wait_for_url("**/models/HuggingFaceTB/SmolLM2-135M-Instruct")
        assert page.locator("#model-title").inner_text() == "SmolLM2 135M Instruct"
        assert page.locator("#openness tr").count() == 6  # header + five criteria
        assert (
            "HuggingFaceTB/SmolLM2-135M"
            in page.locator("#family-tree").inner_text() + page.content()
        )
        assert page.locator("#fit .badge").count() == 1
        shot(page, "model-page")
        assert page.log.csp_violations() == []


@pytest.mark.real_model
def test_chat_streams_an_answer_from_smollm2(page: Any, settings, smollm2_path) -> None:  # type: ignore[no-untyped-def]
    with live_server(create_app(settings)) as url:
        page.goto(url + "/chat")
        page.select_option("#model", SMOL)
        page.fill("#temperature", "0")
        page.fill("#max_tokens", "40")
        page.fill("#system", "You are a concise assistant.")
        # count DOM updates of the answer: a streamed answer arrives in many pieces
        page.evaluate("""() => {
            window.__updates = 0;
            new MutationObserver(() => { window.__updates += 1; })
              .observe(document.getElementById('messages'),
                       {subtree: true, childList: true, characterData: true});
        }""")
        page.fill("#input", "What is the capital")
        page.press("#input", "Shift+Enter")  # a new line, not a send
        assert page.input_value("#input") == "What is the capital\n"
        assert page.locator(".msg-user").count() == 0
        page.fill("#input", "What is the capital of France?")
        page.press("#input", "Enter")  # Enter sends
        page.wait_for_selector(".msg-assistant.done")
        answer = page.locator(".msg-assistant .text").inner_text()
        assert answer.strip()
        assert page.evaluate("window.__updates") >= 5
        assert "tok/s" in page.locator("#stats").inner_text()
        page.wait_for_selector("#chat-list li")
        shot(page, "chat")
        # kept: it is listed, it reloads, it exports, it deletes
        assert "What is the capital of France?" in page.locator("#chat-list").inner_text()
        page.reload()
        page.wait_for_selector(".msg-assistant")
        assert page.locator(".msg-assistant .text").inner_text() == answer
        href = page.get_attribute("#export-json", "href")
        exported = page.request.get(url + href).json()
        assert [m["role"] for m in exported["messages"]] == ["user", "assistant"]
        md = page.request.get(url + page.get_attribute("#export-md", "href")).text()
        assert "## User" in md and answer.strip()[:20] in md
        # a later turn's settings are the chat's own when it reopens (the first turn's were
        # kept for ever: 41st probe, low)
        page.fill("#system", "Answer in one word.")
        page.fill("#temperature", "0.5")
        page.fill("#input", "And of Spain?")
        page.press("#input", "Enter")
        wait_count(page.locator(".msg-assistant.done"), 1)  # the reloaded answer is not "done"
        wait_count(page.locator(".msg-assistant"), 2)
        page.fill("#system", "")
        page.reload()
        wait_count(page.locator(".msg-assistant"), 2)
        assert page.input_value("#system") == "Answer in one word."
        assert page.input_value("#temperature") == "0.5"
        page.click("#delete-chat")
        wait_count(page.locator("#chat-list li"), 0)
        assert page.log.csp_violations() == []


@pytest.mark.real_model
def test_base_model_chat_is_marked_and_clean(page: Any, settings, gemma_path) -> None:  # type: ignore[no-untyped-def]
    with live_server(create_app(settings)) as url:
        page.goto(url + "/chat")
        assert page.locator("#base-note").is_hidden()  # the default model chats
        page.select_option("#model", GEMMA)
        assert "(base model)" in page.locator("#model option:checked").inner_text()
        assert page.locator("#base-note").is_visible()
        page.fill("#temperature", "0")
        page.fill("#max_tokens", "48")
        page.fill("#input", "What is the capital of France?")
        page.press("#input", "Enter")
        page.wait_for_selector(".msg-assistant.done")
        answer = page.locator(".msg-assistant .text").inner_text()
        assert answer.strip()
        assert not any(t in answer for t in ("<|im_start|>", "<|im_end|>", "<start_of_turn>"))
        shot(page, "chat-base-model")
        assert page.log.csp_violations() == []


def test_model_page_names_own_and_inherited_licences(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    with live_server(create_app(settings)) as url:
        page.goto(url + "/models/deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
        text = " ".join(page.locator("#licence").inner_text().split())
        assert "licence: MIT License" in text
        assert "also binding (from the base model): Llama 3.1 Community License" in text
        assert "commercial use conditional" in text


@pytest.mark.real_model
def test_compare_two_models_side_by_side(page: Any, settings, smollm2_path, gemma_path) -> None:  # type: ignore[no-untyped-def]
    with live_server(create_app(settings)) as url:
        page.goto(url + "/compare")
        for box in page.locator("#compare-models input").all():
            box.set_checked(box.get_attribute("value") in (SMOL, GEMMA))
        page.fill("#compare-prompt", "The three primary colours are")
        page.fill("#compare-max", "16")
        page.click("#compare-run")
        wait_count(page.locator("#compare-out .col.done"), 2)
        cols = page.locator("#compare-out .col")
        assert sorted(c.get_attribute("data-model") for c in cols.all()) == sorted([SMOL, GEMMA])
        for col in cols.all():
            assert col.locator(".answer").inner_text().strip()
            meta = col.locator(".meta").inner_text()
            assert "TTFT" in meta and "tok/s" in meta and "-" not in meta.split("TTFT")[1][:3]
        shot(page, "compare")
        assert page.log.csp_violations() == []


def test_arena_votes_change_the_leaderboard(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    engines = {
        f"mock-{c}": MockEngine(f"mock-{c}", default=f"answer from {c}", delay_s=0.01)
        for c in "xyz"
    }
    app = create_app(settings, engines=engines, arena_models=list(engines))
    with live_server(app) as url:
        page.goto(url + "/leaderboard")
        before = {
            r.get_attribute("data-model"): r.locator(".votes").inner_text()
            for r in page.locator("#ratings tbody tr").all()
        }
        assert before == {"mock-x": "0", "mock-y": "0", "mock-z": "0"}
        page.goto(url + "/arena")
        winners = []
        for i in range(4):
            page.fill("#arena-prompt", f"question {i}")
            page.click("#arena-go")
            page.wait_for_selector("#vote-bar:not([hidden])")
            # anonymous until the vote: no model name anywhere on the page
            assert page.locator("#name-a").inner_text() == "Model A"
            assert "mock-" not in page.locator("#arena-out").inner_text()
            answer_a = page.locator("#answer-a").inner_text()
            assert answer_a.startswith("answer from ")
            # words counted alike for both sides: a token count in each model's own
            # tokenizer told them apart before the vote (54th probe)
            assert page.locator("#meta-a").inner_text() == "3 words"
            page.click("#vote-a")
            page.wait_for_selector("#arena-result:not([hidden])")
            revealed = page.locator("#name-a").inner_text()
            assert revealed.startswith("Model A: mock-")
            winners.append(revealed.split(": ")[1])
            assert answer_a == f"answer from {winners[-1][-1]}"  # the name matches the answer
        shot(page, "arena")
        page.click("#arena-result a")
        page.wait_for_url("**/leaderboard")
        rows = page.locator("#ratings tbody tr").all()
        votes = {r.get_attribute("data-model"): int(r.locator(".votes").inner_text()) for r in rows}
        assert sum(votes.values()) == 8  # four battles, two models each
        assert "4 votes" in page.locator("main").inner_text()
        top = rows[0].get_attribute("data-model")
        assert top in winners  # the leader has won at least once
        shot(page, "leaderboard")
        assert page.log.csp_violations() == []


def test_leaderboard_draws_the_comparison_charts(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.report.sample import sample_result

    folder = settings.reports_dir / "compare-1"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(sample_result().to_json()))
    with live_server(create_app(settings, arena_models=[])) as url:
        page.goto(url + "/leaderboard")
        for name in ("quality_vs_cost", "quality_vs_speed"):
            page.wait_for_selector(f"#chart-{name} svg.main-svg")
        shot(page, "leaderboard-charts")
        # plotly.js, served locally, ran under the page's policy: no script was blocked
        assert [e for e in page.log.csp_violations() if "script" in e] == []
