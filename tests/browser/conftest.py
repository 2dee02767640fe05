"""Headless Chromium (Debian's package) driven by Playwright against a real uvicorn server.

Skipped with a reason when /usr/bin/chromium or the playwright package is missing. Screenshots
land in artifacts/ (gitignored) for people to look at; console errors and CSP violations are
collected so a test can assert the page ran clean.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def close_engines_at_exit() -> Iterator[None]:
    # servers load models through the process-wide engine cache; close them while llama.cpp
    # is still importable, not in the interpreter's teardown
    yield
    from openscout.engines.loader import clear_cache

    clear_cache()


@pytest.fixture(autouse=True)
def one_thread_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # llama.cpp threads spin while they wait: on a 2-core machine shared with a browser, a
    # server and other tests, one thread per model is far faster than two fighting for cores.
    monkeypatch.setenv("OPENSCOUT_THREADS", "1")


# Package scope: Playwright's sync API keeps an event loop running in the main thread while it
# is started; a session-scoped browser left it running for every later test in the suite.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    pw = sync_api.sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


class PageLog:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(120_000)  # generous: CI machines are shared
    p = context.new_page()
    log = PageLog()
    p.on("console", lambda m: log.errors.append(m.text) if m.type in ("error", "warning") else None)
    p.on("pageerror", lambda e: log.errors.append(str(e)))
    p.log = log
    yield p
    context.close()


def wait_count(locator: Any, n: int) -> None:
    """Wait until a locator matches n elements (Playwright's expect: no eval, which our CSP
    forbids)."""
    from playwright.sync_api import expect

    expect(locator).to_have_count(n, timeout=120_000)


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
