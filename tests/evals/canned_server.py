"""A remote server that answers every request with one canned body, and the one item of a
suite of negative checks it is scored on: what a hostile or odd answer passes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from openscout.config import Settings
from openscout.engines.base import SamplingParams, collect
from openscout.engines.openai_http import OpenAIEngine
from openscout.evals import run_eval
from openscout.models import ModelSpec, add_model


class Canned(BaseHTTPRequestHandler):
    """Answers every POST with one canned body (a server with a reasoning parser)."""

    body, content_type = b"", "text/event-stream"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", self.content_type)
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def negative_checks_on(
    settings: Settings, tmp_path: Path, body: bytes, content_type: str
) -> dict[str, Any]:
    """The item of a suite of negative checks (`not-icontains`, `max-length`), answered by a
    server that sends `body` to every request."""
    handler = type("Handler", (Canned,), {"body": body, "content_type": content_type})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['go']\ntests:\n"
        "  - assert: [{type: not-icontains, value: Lyon}, {type: max-length, value: 10}]\n"
    )
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        spec = ModelSpec(id="r", engine="openai", base_url=url, model="fake", loglikelihood=False)
        add_model(settings, spec, replace=True)
        (item,) = run_eval(settings, str(suite), ["r"]).results["r"].items
    finally:
        server.shutdown()
        server.server_close()
    return item


def answered(body: bytes, content_type: str) -> tuple[str, str]:
    """The text and finish reason a remote model reads from `body`, sent to a chat request."""
    engine = OpenAIEngine(
        "u",
        "http://up.test/v1",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, headers={"content-type": content_type}, content=body)
        ),
    )
    hi = [{"role": "user", "content": "Say hello."}]
    text, final, _ = collect(engine.stream_chat(hi, SamplingParams()))  # type: ignore[arg-type]
    return text, final.finish_reason


def drop_cached_field(db_path: Path, name: str) -> None:
    """Every cached value without `name`, as an earlier version cached it."""
    import json
    import sqlite3

    conn = sqlite3.connect(db_path)
    with conn:
        for key, value in conn.execute("SELECT key, value_json FROM eval_cache").fetchall():
            old = {k: v for k, v in json.loads(value).items() if k != name}
            conn.execute(
                "UPDATE eval_cache SET value_json = ? WHERE key = ?", (json.dumps(old), key)
            )
    conn.close()
