"""One target machine, one verdict (issue 16): the web catalog and model page judge a 7B
model's fit for the machine the reader names, and say what `openscout fit` says for it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from openscout.catalog.fit import estimate_fit
from openscout.catalog.machine import resolve_target
from openscout.server.app import create_app
from tests.browser.conftest import shot
from tests.server.live import live_server

MODEL = "allenai/OLMo-2-1124-7B-Instruct"  # 6.7 GB at Q4_K_M, 4096 tokens (trained for 4096)


def _cli_verdict(settings: Any, context: int, **target: str) -> str:
    """What `openscout fit MODEL --context N --memory X` (or --machine) decides."""
    t = resolve_target(home=settings.home, **target)
    return estimate_fit(MODEL, context=context, settings=settings, target=t).verdict


def _row(page: Any) -> Any:
    return page.locator(
        "#catalog-results tbody tr",
        has=page.locator("a.model-link", has_text=re.compile(f"^{MODEL}$")),
    )


@pytest.mark.parametrize(("small", "large"), [("8GB", "64GB")])
def test_the_same_target_drives_the_catalog_and_the_model_page(
    page: Any, settings: Any, small: str, large: str
) -> None:
    with live_server(create_app(settings)) as url:
        verdicts = {}
        for memory in (small, large):
            # the catalog, through its form
            page.goto(url + "/catalog")
            page.fill("#catalog-q", MODEL)
            page.fill("input[name=memory]", memory)
            page.fill("input[name=context]", "4096")
            page.click("#catalog-search")
            page.wait_for_url(f"**memory={memory}**")
            assert memory.removesuffix("GB") in page.locator("#catalog-machine").inner_text()
            row = _row(page)
            assert row.count() == 1
            listed = row.locator(".badge").last.inner_text()
            # the model page, through its own form, for the same target
            page.goto(url + f"/models/{MODEL}")
            page.fill("#fit-form input[name=memory]", memory)
            page.click("#fit-form button[type=submit]")
            page.wait_for_url(f"**memory={memory}**")
            assert memory.removesuffix("GB") in page.locator("#fit-machine").inner_text()
            shown = page.locator("#fit .badge").inner_text()
            context = int(
                re.search(r"at (\d+) tokens of context", page.locator("#fit").inner_text()).group(1)
            )  # type: ignore[union-attr]
            shot(page, f"model-fit-{memory}")
            assert shown == _cli_verdict(settings, context, memory=memory)
            assert listed == _cli_verdict(settings, 4096, memory=memory)
            verdicts[memory] = (listed, shown)
        # a small machine and a large one are told apart, in both views
        assert verdicts[small] != verdicts[large]
        assert verdicts[large] == ("fits comfortably", "fits comfortably")
        # a named profile is the same target as its size
        page.goto(url + f"/models/{MODEL}?machine=laptop-8gb")
        assert page.locator("#fit .badge").inner_text() == verdicts[small][1]
        assert page.log.csp_violations() == []
