"""`openscout serve` as a user runs it: a real process, key from the environment, health, auth."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port


def _serve(env: dict[str, str], port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "openscout.cli.main", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.real_model
def test_serve_command_end_to_end(cli_env: dict[str, str], smollm2_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**cli_env, "OPENSCOUT_API_KEY": "from-env"}
    proc = _serve(env, port, "--json")
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        while lines[-1] and lines[-1].strip() != "}":
            lines.append(proc.stdout.readline())
        first = json.loads("".join(lines))
        assert first == {
            "url": f"http://127.0.0.1:{port}/",
            "api": f"http://127.0.0.1:{port}/v1",
            "auth": True,
        }
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        health: dict = {}
        while time.monotonic() < deadline:
            try:
                health = httpx.get(url + "/health", timeout=2).json()
                if health.get("ready"):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health.get("ready"), health  # the bundled SmolLM2 is preloaded
        states = {m["id"]: m["state"] for m in health["models"]}
        assert states["smollm2-135m-instruct"] == "ready"
        assert httpx.get(url + "/v1/models").status_code == 401
        ok = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer from-env"})
        assert ok.status_code == 200
        assert (
            httpx.get(url + "/v1/models", headers={"Host": "attacker.example"}).status_code == 400
        )
        openai = pytest.importorskip("openai")
        client = openai.OpenAI(base_url=url + "/v1", api_key="from-env", max_retries=0)
        assert "smollm2-135m-instruct" in [m.id for m in client.models.list()]
        stream = client.chat.completions.create(
            model="smollm2-135m-instruct",
            messages=[{"role": "user", "content": "Say hi."}],
            max_tokens=8,
            temperature=0,
            stream=True,
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_login_url_carries_any_key(cli_env: dict[str, str]) -> None:
    """A key holding Rich markup was "unexpected error: MarkupError" (eleventh probe); one
    holding & or # printed a login URL that did not log in."""
    key = "abc[/bold][/]x&y#z 12345678"
    port = free_port()
    proc = _serve(cli_env, port, "--api-key", key)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("openscout workbench: "), first + (
            proc.stderr.read() if proc.poll() is not None else ""
        )  # type: ignore[union-attr]
        login = first.split(": ", 1)[1].strip()
        r = None
        deadline = time.monotonic() + 60
        while r is None and time.monotonic() < deadline:
            try:
                r = httpx.get(login, follow_redirects=False, timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert (
            r is not None
            and r.status_code in (302, 303, 307)
            and "openscout_key=" in r.headers.get("set-cookie", "")
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
