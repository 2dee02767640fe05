"""Serving benchmark (issue 15): `openscout serve` driven over HTTP from this separate process at
concurrency 1, 2, 4 and 8, in the conventions of vLLM's `bench serve`: aggregate output
tokens/s (all completion tokens of a level over its wall time), TTFT and ITL percentiles per
level, and the single-request figure beside them. The same load goes to llama-cpp-python's own
server (`python -m llama_cpp.server`, one request at a time) on the same model file.

Streaming chat requests, temperature 0, `max_tokens` 64. Every answer at concurrency > 1 is
compared with the same prompt's answer alone (concurrency 1): llama.cpp rounds a batch of
rows differently from one row, so a near tie can flip; the count of differing answers is
reported, not hidden.

    .venv/bin/python bench/serve_bench.py [--lanes 4] [--rounds 2] [--no-reference] [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from speed_vs_reference import OPENSCOUT, model_path, user_env  # noqa: E402

MODEL = "smollm2-135m-instruct"
LEVELS = (1, 2, 4, 8)
MAX_TOKENS = 64
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Describe a walk through a forest in autumn.",
    "Explain how a bicycle works to a child.",
    "Write a letter to a friend about your garden.",
    "Tell the story of a cat who learns to swim.",
    "Describe the view from a mountain at sunrise.",
    "Write a diary entry of a sailor on a long voyage.",
    "Explain why the sky is blue in simple words.",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(cmd: list[str], env: dict[str, str], ready_url: str):  # type: ignore[no-untyped-def]
    # a file, not a pipe: a server that logs much (llama.cpp's loader) would block on a full pipe
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{cmd[:3]} exited: {log.read().decode()[-800:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[:3]} did not start")
            time.sleep(0.3)
        yield
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def one_request(base: str, model: str, prompt: str) -> dict[str, Any]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    t0 = time.perf_counter()
    times: list[float] = []
    text, usage = "", None
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    times.append(time.perf_counter())
                    text += piece
    end = time.perf_counter()
    tokens = usage["completion_tokens"] if usage else len(times)  # one token per chunk there
    return {
        "prompt": prompt,
        "text": text,
        "tokens": tokens,
        "start": t0,
        "end": end,
        "ttft_s": times[0] - t0 if times else None,
        "itl_s": [b - a for a, b in itertools.pairwise(times)],
    }


def run_level(base: str, model: str, concurrency: int, rounds: int) -> list[dict[str, Any]]:
    """`concurrency` clients, each sending its next request as soon as the last one ends."""
    n = len(PROMPTS) if concurrency == 1 else concurrency * rounds
    work: queue.SimpleQueue[str] = queue.SimpleQueue()
    for i in range(n):
        work.put(PROMPTS[i % len(PROMPTS)])
    out: list[dict[str, Any]] = []
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                prompt = work.get_nowait()
            except queue.Empty:
                return
            r = one_request(base, model, prompt)
            with lock:
                out.append(r)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def summarise(results: list[dict[str, Any]], alone: dict[str, str] | None) -> dict[str, Any]:
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    ttft = [r["ttft_s"] for r in results if r["ttft_s"] is not None]
    itl = [g for r in results for g in r["itl_s"]]
    differ = None
    if alone is not None:
        differ = sum(1 for r in results if r["text"] != alone[r["prompt"]])
    return {
        "requests": len(results),
        "output_tps": sum(r["tokens"] for r in results) / wall,
        "ttft_p50_s": statistics.median(ttft) if ttft else None,
        "ttft_p99_s": pct(ttft, 99),
        "itl_p50_s": statistics.median(itl) if itl else None,
        "itl_p99_s": pct(itl, 99),
        "answers_differing_from_alone": differ,
    }


def sweep(base: str, model: str, rounds: int, label: str) -> dict[str, Any]:
    levels: dict[str, Any] = {}
    alone: dict[str, str] | None = None
    for c in LEVELS:
        results = run_level(base, model, c, rounds)
        if c == 1:
            alone = {r["prompt"]: r["text"] for r in results}
        levels[str(c)] = summarise(results, None if c == 1 else alone)
        s = levels[str(c)]
        print(
            f"  {label:<26} c={c}: {s['output_tps']:6.1f} tok/s  "
            f"TTFT p50 {s['ttft_p50_s']:.3f} p99 {s['ttft_p99_s']:.3f} s  "
            f"ITL p50 {1000 * s['itl_p50_s']:.1f} p99 {1000 * s['itl_p99_s']:.1f} ms"
            + (
                f"  ({s['answers_differing_from_alone']}/{s['requests']} answers differ from alone)"
                if c > 1
                else ""
            ),
            flush=True,
        )
    single = levels["1"]["output_tps"]
    for c in LEVELS:
        levels[str(c)]["vs_single"] = levels[str(c)]["output_tps"] / single
    return levels


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lanes", type=int, action="append", help="openscout lanes (repeatable)")
    ap.add_argument("--rounds", type=int, default=2, help="requests per client at c > 1")
    ap.add_argument("--no-reference", action="store_true", help="skip llama_cpp.server")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict[str, Any] = {"model": MODEL, "max_tokens": MAX_TOKENS, "openscout": {}}
    with tempfile.TemporaryDirectory() as home:
        env = user_env(home)
        for lanes in args.lanes or [4]:
            port = free_port()
            cmd = [
                OPENSCOUT,
                "serve",
                "--port",
                str(port),
                "--preload",
                MODEL,
                "--lanes",
                str(lanes),
            ]
            with server(cmd, env, f"http://127.0.0.1:{port}/health"):
                base = f"http://127.0.0.1:{port}"
                one_request(base, MODEL, "Hello")  # warm-up
                out["openscout"][str(lanes)] = sweep(
                    base, MODEL, args.rounds, f"openscout --lanes {lanes}"
                )
        if not args.no_reference:
            port = free_port()
            path = model_path(MODEL, env)
            cmd = [
                sys.executable, "-m", "llama_cpp.server", "--model", path, "--model_alias", MODEL,
                "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", "2048", "--n_threads", "2", "--n_threads_batch", "2",
                "--interrupt_requests", "False",
            ]  # fmt: skip
            with server(cmd, env, f"http://127.0.0.1:{port}/v1/models"):
                base = f"http://127.0.0.1:{port}"
                one_request(base, MODEL, "Hello")
                out["llama_cpp.server"] = sweep(base, MODEL, args.rounds, "llama_cpp.server")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
