"""Untrusted text in a real browser: a model's answer and a model card carrying XSS payloads are
shown as text, nothing they carry runs, and the pages break no CSP rule of their own."""

from __future__ import annotations

from typing import Any

import yaml

from openscout.server.app import create_app
from tests.browser.conftest import shot
from tests.server.live import live_server

ANSWER = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> <b>bold?</b>'
NAME = "<img src=x onerror=window.__xss=3>"
CARD = "<script>window.__xss=4</script> <a href=javascript:window.__xss=5>click</a>"
DESCRIPTION = "<svg onload=window.__xss=6></svg> registered"


def write_fixtures(settings) -> None:  # type: ignore[no-untyped-def]
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "catalog").mkdir(exist_ok=True)
    (settings.home / "catalog" / "hostile.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "models": [
                    {
                        "id": "evil-org/xss-model",
                        "name": NAME,
                        "organisation": "Evil <i>Org</i>",
                        "family": "xss",
                        "params_b": 1.0,
                        "license": "Apache-2.0",
                        "tasks": ["chat"],
                        "description": DESCRIPTION,
                        "card_excerpt": CARD,
                    }
                ],
            }
        )
    )
    settings.models_file.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "models": [
                    {
                        "id": "xss-mock",
                        "engine": "mock",
                        "description": DESCRIPTION,
                        "catalog_id": "evil-org/xss-model",
                        "options": {"default": ANSWER},
                    }
                ],
            }
        )
    )


def assert_inert(page: Any) -> None:
    assert page.evaluate("window.__xss") is None
    hostile = "main img, main svg, main i, main script:not([src]):not([type]), [onerror], [onload]"
    assert page.locator(hostile).count() == 0


def test_payloads_are_shown_as_text(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    write_fixtures(settings)
    with live_server(create_app(settings, arena_models=[])) as url:
        # a model answer, streamed into the chat page
        page.goto(url + "/models/evil-org/xss-model")
        assert_inert(page)
        page.goto(url + "/chat")
        page.select_option("#model", "xss-mock")
        page.fill("#input", "say something hostile")
        page.click("#send")
        page.wait_for_selector(".msg-assistant.done")
        assert page.locator(".msg-assistant .text").inner_text() == ANSWER
        assert_inert(page)
        # the same answer reloaded from the store
        page.reload()
        page.wait_for_selector(".msg-assistant")
        assert page.locator(".msg-assistant .text").inner_text() == ANSWER
        assert_inert(page)
        shot(page, "xss-chat")

        # a model card: the catalog entry's name, organisation, description and card text
        page.goto(url + "/models/evil-org/xss-model")
        assert page.locator("#model-title").inner_text() == NAME
        assert page.locator("#card-excerpt").inner_text() == CARD
        assert page.locator("#description").inner_text() == DESCRIPTION
        assert page.locator("a[href^='javascript']").count() == 0
        assert_inert(page)
        shot(page, "xss-model-card")

        # the registered model's own description, and the catalog listing
        page.goto(url + "/")
        assert DESCRIPTION in page.locator("#models").inner_text()
        assert_inert(page)
        page.goto(url + "/catalog?q=xss")
        assert NAME in page.locator("#catalog-results").inner_text()
        assert "Evil <i>Org</i>" in page.locator("#catalog-results").inner_text()
        assert_inert(page)
        page.goto(url + "/models/xss-mock")
        assert page.locator(".spec-description").inner_text() == DESCRIPTION
        assert_inert(page)
        assert page.log.csp_violations() == []


def test_csp_blocks_script_injected_past_the_escaping(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    """Defence in depth: even markup that reached the DOM could not run inline script."""
    with live_server(create_app(settings, arena_models=[])) as url:
        page.goto(url + "/")
        page.evaluate("""() => {
            const s = document.createElement('script');
            s.textContent = 'window.__xss = 9';
            document.body.appendChild(s);
            const img = document.createElement('img');
            img.setAttribute('onerror', 'window.__xss = 10');
            img.src = 'data:,broken';
            document.body.appendChild(img);
        }""")
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        assert page.log.csp_violations()  # the browser reported the blocked attempts


def test_a_keyed_server_in_the_browser(page: Any, settings) -> None:  # type: ignore[no-untyped-def]
    """With a key, a browser without it sees the 401 page; the printed ?key= address logs it in
    and every later fetch (the chat stream included) is authorised by the cookie."""
    from openscout.engines.mock import MockEngine

    app = create_app(
        settings,
        api_key="k3y",
        engines={"m": MockEngine("m", default="hello back")},
        arena_models=[],
    )
    with live_server(app) as url:
        r = page.goto(url + "/chat")
        assert r.status == 401 and "?key=" in page.content()
        page.goto(url + "/chat?key=k3y")
        assert page.url == url + "/chat"  # the key left the address bar
        page.select_option("#model", "m")
        page.fill("#input", "hi")
        page.click("#send")
        page.wait_for_selector(".msg-assistant.done")
        assert page.locator(".msg-assistant .text").inner_text() == "hello back"
        cookies = page.context.cookies()
        assert [c["httpOnly"] for c in cookies] == [True] and "k3y" not in cookies[0]["value"]
