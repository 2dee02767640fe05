"""The CLI as a user runs it: a real subprocess, real models, real SQLite."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

OPENSCOUT = [sys.executable, "-m", "openscout.cli.main"]


def run_cli(
    args: list[str], env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(OPENSCOUT + args, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def test_models_list_json(cli_env: dict[str, str]) -> None:
    rows = json.loads(run_cli(["models", "list", "--json"], cli_env).stdout)
    by_id = {r["id"]: r for r in rows}
    assert by_id["smollm2-135m-instruct"]["license"] == "Apache-2.0"
    assert by_id["gemma-3-270m"]["license"] == "Gemma Terms of Use"
    assert by_id["smollm2-135m-instruct"]["file_size"] == 98362432
    assert by_id["gemma-3-270m"]["file_size"] > 200_000_000


@pytest.mark.real_model
def test_run_both_models_json_then_logs(cli_env: dict[str, str]) -> None:
    out = run_cli(
        [
            "generate",
            "-m",
            "smollm2-135m-instruct",
            "-m",
            "gemma-3-270m",
            "The capital of France is",
            "--json",
            "--max-tokens",
            "12",
        ],
        cli_env,
    )
    results = json.loads(out.stdout)
    assert [r["model_id"] for r in results] == ["smollm2-135m-instruct", "gemma-3-270m"]
    for r in results:
        assert r["text"].strip()
        assert r["ttft_s"] > 0 and r["output_tps"] > 0
        assert r["prompt_tokens"] > 0 and r["completion_tokens"] > 0
    logs = json.loads(run_cli(["logs", "--json"], cli_env).stdout)
    assert {r["model_id"] for r in logs} >= {"smollm2-135m-instruct", "gemma-3-270m"}
    assert any(r["output"] == results[0]["text"] for r in logs)


def test_models_show_reads_gguf_header(cli_env: dict[str, str]) -> None:
    info = json.loads(
        run_cli(["models", "show", "smollm2-135m-instruct", "--json"], cli_env).stdout
    )
    g = info["gguf"]
    assert g["architecture"] == "llama" and g["quantization"] == "Q4_1"
    assert g["chat_template_present"] is True and g["context_length"] == 8192


def _assert_clean_error(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error:" in proc.stderr and expected in proc.stderr


def test_cli_errors_are_one_clear_message(cli_env: dict[str, str], tmp_path: Path) -> None:
    _assert_clean_error(
        run_cli(
            ["models", "add", "x", "--path", str(tmp_path / "missing.gguf")], cli_env, check=False
        ),
        "no such file",
    )
    notgguf = tmp_path / "notes.gguf"
    notgguf.write_text("just text")
    _assert_clean_error(
        run_cli(["models", "add", "x", "--path", str(notgguf)], cli_env, check=False), "not a GGUF"
    )
    from openscout.engines.bundled import smollm2_path

    cut = tmp_path / "cut.gguf"
    with smollm2_path().open("rb") as f:
        cut.write_bytes(f.read(3_000_000))
    _assert_clean_error(
        run_cli(["models", "add", "x", "--path", str(cut)], cli_env, check=False), "truncated"
    )
    _assert_clean_error(
        run_cli(["run", "-m", "nope", "hi"], cli_env, check=False), "no model registered"
    )


def test_unreachable_and_failing_endpoints(cli_env: dict[str, str]) -> None:
    run_cli(["models", "add", "down", "--url", f"http://127.0.0.1:{free_port()}/v1"], cli_env)
    _assert_clean_error(
        run_cli(["run", "-m", "down", "hi"], cli_env, check=False), "cannot connect"
    )

    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "engine crashed"}}')

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        run_cli(
            ["models", "add", "broken", "--url", f"http://127.0.0.1:{srv.server_address[1]}/v1"],
            cli_env,
        )
        _assert_clean_error(
            run_cli(["run", "-m", "broken", "hi"], cli_env, check=False), "HTTP 500: engine crashed"
        )
    finally:
        srv.shutdown()


def test_generate_is_listed_and_its_old_name_run_still_works(cli_env: dict[str, str]) -> None:
    """`runs` are evaluation runs; one generation is `generate`, and `run` stays as a hidden
    alias so that scripts written for it keep working (the tests above call it so)."""
    shown = run_cli(["--help"], cli_env).stdout
    assert "generate" in shown
    assert not any(line.split()[:1] == ["run"] for line in _help_rows(shown))


def _help_rows(text: str) -> list[str]:
    return [line.strip(" │") for line in text.splitlines()]


def _wrapped(inner: BaseException) -> BaseException:
    try:
        raise inner
    except BaseException:
        try:
            raise ValueError("while loading the model")  # its cause is what counts
        except ValueError as outer:
            return outer


# how libraries say it (twenty-seventh probe: torch in `tune`, safetensors in `eval`)
OUT_OF_MEMORY = {
    "MemoryError": MemoryError(),
    "torch's allocator": RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 3221225472 bytes. Error code 12 (Cannot allocate memory)"
    ),
    "safetensors' mmap": RuntimeError(
        "unable to mmap 90868376 bytes from file <model.safetensors>: Cannot allocate memory (12)"
    ),
    "ENOMEM": OSError(errno.ENOMEM, "Cannot allocate memory"),
    "as a cause": _wrapped(MemoryError()),
}


@pytest.mark.parametrize("error", OUT_OF_MEMORY.values(), ids=OUT_OF_MEMORY.keys())
def test_running_out_of_memory_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: BaseException
) -> None:
    """Not "unexpected error: MemoryError ... please report it": the machine's bound (a ulimit,
    a container) is no bug (sixteenth probe)."""
    from openscout.cli import main as cli_main

    def exhausted(**kwargs: object) -> None:
        raise error

    monkeypatch.setattr(cli_main, "app", exhausted)
    with pytest.raises(SystemExit) as e:
        cli_main.main()
    err = capsys.readouterr().err
    assert e.value.code == 1 and "out of memory" in err and "report it" not in err


def test_a_runtime_error_of_another_kind_is_still_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from openscout.cli import main as cli_main

    def broken(**kwargs: object) -> None:
        raise RuntimeError("a tensor of the wrong shape")

    monkeypatch.setattr(cli_main, "app", broken)
    with pytest.raises(SystemExit):
        cli_main.main()
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError" in err and "out of memory" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["bench", "-m", "smollm2-135m-instruct", "--price-per-hour", "inf"],
        ["fit", "allenai/OLMo-7B", "--bandwidth", "inf"],
        ["fit", "allenai/OLMo-7B", "--bandwidth", "0"],
        ["fit", "allenai/OLMo-7B", "--bandwidth", "1e308"],  # a 309-digit figure (54th)
        ["fit", "allenai/OLMo-7B", "--context", "1" + "0" * 400],
        ["compare", "-m", "a", "-m", "b", "--max-cost", "inf"],
        ["compare", "-m", "a", "-m", "b", "--max-memory", "inf"],
        ["compare", "-m", "a", "-m", "b", "--api-price", "x=1e308/1e308"],
        ["models", "add", "x", "--path", "m.gguf", "--price-per-hour", "inf"],
        ["models", "add", "x", "--url", "http://127.0.0.1:1/v1", "--price-per-hour", "nan"],
        ["models", "add", "x", "--path", "m.gguf", "--n-ctx", "5"],
        ["tune", "smollm2-135m-instruct", "--data", "{data}", "--name", "t", "--epochs", "inf"],
        ["tune", "smollm2-135m-instruct", "--data", "{data}", "--name", "t", "--epochs", "1e308"],
        ["eval", "-m", "smollm2-135m-instruct", "-s", "arithmetic", "-n", "1", "--seed", "9" * 20],
        ["eval", "-m", "smollm2-135m-instruct", "-s", "arithmetic", "--limit", "100000000"],
        ["eval", "-m", "smollm2-135m-instruct", "-s", "city-json", "--limit", "100000"],
        ["runs", "list", "--limit", "1" + "0" * 20],
        ["catalog", "show", "HuggingFaceTB/SmolLM2-135M-Instruct", "--context", "1" + "0" * 400],
    ],
)
def test_numbers_out_of_range_are_usage_mistakes(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`tune --epochs 1e308`, `eval --seed 10**20`, `fit --bandwidth 0`, `models add --n-ctx 5`:
    "unexpected error: OverflowError / ZeroDivisionError / ValidationError ... please report
    it"; `bench --price-per-hour inf` ran and printed `Infinity` in --json (sixteenth probe)."""
    from openscout.cli.main import main
    from openscout.evals.tasks.cityjson import train_examples  # real data: the crash came late

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in train_examples(0, 40)))
    monkeypatch.setattr(sys, "argv", ["openscout", *(a.format(data=data) for a in args)])
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert "unexpected error" not in err and "report it" not in err


def test_arguments_that_are_not_utf8_are_a_usage_error(cli_env: dict[str, str]) -> None:
    """A prompt or file name in another encoding arrived as lone surrogates and failed deep
    inside each command: "unexpected error ... please report it" (twenty-second probe)."""
    for args in (
        [b"generate", b"-m", b"smollm2-135m-instruct", b"hi \xff there"],
        [b"runs", b"show", b"\xff"],
        [b"models", b"add", b"odd", b"--path", b"/tmp/m\xff.gguf"],
    ):
        proc = subprocess.run(
            [sys.executable.encode(), b"-m", b"openscout.cli.main", *args],
            env=cli_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert "is not UTF-8 text" in proc.stderr and "unexpected" not in proc.stderr
        assert "\\xff" in proc.stderr  # the argument named, its odd byte shown


def test_a_missing_stdin_or_a_full_disk_is_said_plainly(cli_env: dict[str, str]) -> None:
    """`chat` with no stdin at all and output to a full device were "unexpected error ...
    please report it" (twenty-fifth probe)."""
    import os

    cmd = [sys.executable, "-m", "openscout.cli.main"]
    chat = subprocess.run(
        [*cmd, "chat", "-m", "smollm2-135m-instruct"], env=cli_env, capture_output=True,
        text=True, timeout=120, preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert chat.returncode == 0 and "unexpected" not in chat.stderr, chat.stderr
    with open("/dev/full", "w") as full:
        listed = subprocess.run(
            [*cmd, "models", "list", "--json"], env=cli_env, stdout=full,
            stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    assert listed.returncode == 1 and "out of disk space" in listed.stderr
    assert "unexpected" not in listed.stderr


def test_a_database_damaged_after_it_opened_is_said_plainly(
    cli_env: dict[str, str], settings
) -> None:  # type: ignore[no-untyped-def]
    """A damaged page met mid-run (the result cache) was "unexpected error: DatabaseError:
    database disk image is malformed ... please report it" (37th probe, low)."""
    from openscout.evals import run_eval
    from tests.evals.helpers import add_mock

    add_mock(settings, "m", default="Answer: 7")
    run_eval(settings, "arithmetic", ["m"], limit=400)
    assert settings.db_path.stat().st_size > 64 * 1024
    with open(settings.db_path, "r+b") as f:  # two pages of the results: the schema is whole
        f.seek(40960)
        f.write(b"\xff" * 8192)
    cmd = [sys.executable, "-m", "openscout.cli.main", "eval", "--suite", "arithmetic", "-m", "m"]
    proc = subprocess.run([*cmd, "--limit", "400"], env=cli_env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "damaged" in proc.stderr and "openscout.db" in proc.stderr, proc.stderr


def test_models_list_and_show_hide_a_url_s_credentials(cli_env: dict[str, str]) -> None:
    """Everywhere else a URL's password and query were masked; `models list` and `models
    show` printed them, the output users paste into issues (59th probe, low)."""
    url = "http://us%40er:p4ssw0rdXY@127.0.0.1:9/v1?token=QSECRET123"
    run_cli(["models", "add", "creds", "--url", url, "--remote-model", "m"], cli_env)
    for args in (["models", "list"], ["models", "list", "--json"], ["models", "show", "creds"]):
        said = run_cli(args, cli_env).stdout
        assert "p4ssw0rdXY" not in said and "QSECRET123" not in said, args
    shown = json.loads(run_cli(["models", "show", "creds", "--json"], cli_env).stdout)
    assert shown["base_url"] == shown["spec"]["base_url"] == "http://127.0.0.1:9/v1"
