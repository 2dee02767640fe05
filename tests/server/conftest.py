"""Fixtures for server tests: apps with scripted mock engines, a TestClient on a loopback Host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscout.config import Settings
from openscout.engines.mock import MockEngine
from openscout.server.app import create_app

BASE = "http://127.0.0.1:8765"


def mock_engines(**kwargs: Any) -> dict[str, MockEngine]:
    return {
        "mock-a": MockEngine("mock-a", script={"hello": "hi there from a"}, **kwargs),
        "mock-b": MockEngine("mock-b", script={"hello": "greetings from b"}, **kwargs),
    }


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


@pytest.fixture
def make_client(settings: Settings) -> Callable[..., TestClient]:
    def make(**kwargs: Any) -> TestClient:
        kwargs.setdefault("engines", mock_engines())
        kwargs.setdefault("arena_models", ["mock-a", "mock-b"])
        app = create_app(settings, **kwargs)
        return TestClient(app, base_url=BASE)

    return make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def sse_events(text: str) -> list[Any]:
    """Parse an SSE body into JSON objects, with '[DONE]' kept as the string."""
    import json

    out: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                payload = line[6:]
                out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out
