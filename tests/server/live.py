"""A real uvicorn server on 127.0.0.1 and a free port, in a thread, for tests that need the
network path (streaming, disconnects, the openai package, the browser)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from tests.conftest import free_port


@contextlib.contextmanager
def live_server(app: Any, **config_options: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **config_options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        httpx.get(url + "/health", timeout=5)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
