"""Issue 17: untrusted text reaches the terminal inert, and usage mistakes are usage errors.

A hostile model (scripted mock), suite, registry entry and upstream server put terminal
control sequences (OSC 52 clipboard, OSC 0 title, CSI, 8-bit CSI, bidi overrides) and Rich
markup into what the CLI prints; the bytes written must carry none of them as controls.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from openscout.config import Settings
from openscout.models import ModelSpec, add_model
from tests.evals.helpers import add_mock

CLI = [sys.executable, "-m", "openscout.cli.main"]
MARKUP = "[bold red]x[/]"
HOSTILE = (
    f"{MARKUP} \x1b]52;c;cm0gLXJmIH4K\x07 \x1b]0;pwned\x07 \x1b[2J\x1b[31mred "
    "\x9b2J \x9d0;t\x9c \u202eevil\u202c \r:thumbs_up:"
)
# what a terminal would act on, as the bytes of UTF-8 output
CONTROLS = (b"\x07", b"\x1b]", b"\xc2\x9b", b"\xc2\x9d", b"\r", "\u202e".encode())
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def cli(env: dict[str, str], *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**env, "COLUMNS": "250"}
    return subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, timeout=120)


def assert_inert(out: bytes, *, colour: bool = False) -> None:
    for bad in CONTROLS:
        assert bad not in out, (bad, out)
    if colour:  # Rich's own styling (SGR) only: no ESC of the model's survives
        assert b"\x1b" not in SGR.sub(b"", out), out
    else:
        assert b"\x1b" not in out, out


@pytest.fixture
def evil(settings: Settings) -> str:
    add_mock(settings, "evil", default=HOSTILE)
    return "evil"


def test_generate_prints_model_output_inert(cli_env: dict[str, str], evil: str) -> None:
    p = cli(cli_env, "generate", "-m", evil, "hi")
    assert p.returncode == 0, p.stderr
    assert_inert(p.stdout)
    text = p.stdout.decode()
    assert MARKUP in text and "\\x1b]52;c;cm0gLXJmIH4K\\x07" in text and "\\u202eevil" in text
    assert ":thumbs_up:" in text  # no emoji codes read from model output either


def test_generate_with_colour_keeps_only_rich_styling(cli_env: dict[str, str], evil: str) -> None:
    p = cli({**cli_env, "FORCE_COLOR": "1", "TERM": "xterm-256color"}, "generate", "-m", evil, "x")
    assert p.returncode == 0, p.stderr
    assert SGR.search(p.stdout)  # the rule and the stats line are styled: colour is on
    assert_inert(p.stdout, colour=True)


def test_generate_json_escapes_c1_and_bidi(cli_env: dict[str, str], evil: str) -> None:
    p = cli(cli_env, "generate", "-m", evil, "hi", "--json")
    assert p.returncode == 0, p.stderr
    assert_inert(p.stdout)
    assert json.loads(p.stdout)[0]["text"] == HOSTILE  # the same text, escaped as JSON


def test_logs_reads_no_markup_from_stored_output(cli_env: dict[str, str], evil: str) -> None:
    assert cli(cli_env, "generate", "-m", evil, "hi", "--json").returncode == 0
    p = cli(cli_env, "logs")
    assert p.returncode == 0, p.stderr
    assert_inert(p.stdout)
    assert MARKUP in p.stdout.decode()


def test_chat_prints_model_output_inert(cli_env: dict[str, str], evil: str) -> None:
    p = cli(cli_env, "chat", "-m", evil, stdin=b"hello\n\n")
    assert p.returncode == 0, p.stderr
    assert_inert(p.stdout)
    assert MARKUP in p.stdout.decode()


def test_eval_and_runs_show_print_suite_and_output_inert(
    cli_env: dict[str, str], evil: str, tmp_path: Path
) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        'name: "s\\e]0;suite\\a[blink]"\n'
        "prompts: ['say {{w}}']\n"
        "tests:\n"
        "  - vars: {w: '[bold]x'}\n"
        "    assert: [{type: icontains, value: nothing}]\n"
    )
    p = cli(cli_env, "eval", "--suite", str(suite), "-m", evil)
    assert p.returncode == 0, p.stderr
    assert_inert(p.stdout)
    assert "[blink]" in p.stdout.decode()
    run_id = json.loads(cli(cli_env, "runs", "list", "--json").stdout)[0]["id"]
    for args in (("runs", "list"), ("runs", "show", run_id)):
        p = cli(cli_env, *args)
        assert p.returncode == 0, p.stderr
        assert_inert(p.stdout)
    assert MARKUP in p.stdout.decode()


def test_models_list_and_show_print_registry_strings_inert(
    cli_env: dict[str, str], settings: Settings
) -> None:
    lic = "[red]MIT\x1b]0;pwned\x07\u202e"
    add_model(settings, ModelSpec(id="m", engine="mock", license=lic, catalog_id="a/b[i]"))
    for args in (("models", "list"), ("models", "show", "m")):
        p = cli(cli_env, *args)
        assert p.returncode == 0, p.stderr
        assert_inert(p.stdout)
        assert "[red]MIT\\x1b]0;pwned\\x07" in p.stdout.decode()


@pytest.fixture
def hostile_upstream() -> Iterator[str]:
    """An OpenAI-compatible server whose error message is a terminal attack."""

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.dumps({"error": {"message": f"[bold]boom {HOSTILE}"}}).encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_error_printer_shows_upstream_text_inert(
    cli_env: dict[str, str], hostile_upstream: str
) -> None:
    assert cli(cli_env, "models", "add", "up", "--url", hostile_upstream).returncode == 0
    p = cli(cli_env, "generate", "-m", "up", "hi")
    assert p.returncode == 2, p.stderr
    assert_inert(p.stderr)
    err = p.stderr.decode()
    assert "error:" in err and "[bold]boom" in err and MARKUP in err


def test_error_printer_reads_no_markup_from_a_model_id(cli_env: dict[str, str]) -> None:
    p = cli(cli_env, "generate", "-m", "[bold]x[/]", "hi")
    assert p.returncode == 2 and "[bold]x[/]" in p.stderr.decode(), p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("catalog", "search", "deepseek", "r1", "distill"),
        ("models", "list", "--bogus"),
        ("runs", "show"),
        ("eval", "--limit", "many"),
        ("no-such-command",),
    ],
)
def test_usage_mistakes_are_usage_errors(cli_env: dict[str, str], args: tuple[str, ...]) -> None:
    p = cli(cli_env, *args)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert err.startswith("Usage: openscout") and "error:" in err
    assert "unexpected error" not in err and "report it" not in err and "Traceback" not in err


def test_help_and_a_bare_group_still_work(cli_env: dict[str, str]) -> None:
    assert cli(cli_env, "--help").returncode == 0
    p = cli(cli_env, "models")
    assert p.returncode == 2 and b"unexpected" not in p.stderr and b"list" in p.stdout


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> StringIO:
    """The catalog CLI's console, recording what a colour terminal would get."""
    import openscout.cli.catalog as catalog_cli
    import openscout.cli.output as output

    buf = StringIO()
    recording = Console(file=buf, force_terminal=True, width=250)
    monkeypatch.setattr(catalog_cli, "console", recording)
    monkeypatch.setattr(output, "console", recording)  # print_table prints there
    return buf


def test_catalog_tables_print_hub_strings_inert(recorded: StringIO) -> None:
    from openscout.cli.catalog import _print_search, _print_tree

    bad = f"org/m{HOSTILE}"
    row = {
        "id": bad,
        "params_b": 1.0,
        "active_params_b": None,
        "license": bad,
        "label": "open weights",
        "mof_class": "III",
        "released": bad,
        "tasks": [bad],
        "domain": bad,
    }
    _print_search({"count": 1, "total": 1, "source": "hub", "query": {}, "items": [row]})
    node = {
        "id": bad,
        "relation": bad,
        "inferred": True,
        "domain": bad,
        "languages": [bad],
        "in_catalog": False,
        "children": [],
    }
    _print_tree(
        {
            "ancestors": [{"child": bad, "relation": bad, "base": bad, "inferred": True}],
            "tree": node,
        }
    )
    out = recorded.getvalue().encode()
    assert_inert(out, colour=True)
    assert MARKUP in recorded.getvalue()


def test_the_servers_log_is_inert(capsys: pytest.CaptureFixture[str]) -> None:
    """An upstream's error text reached `openscout serve`'s stderr raw (third probe)."""
    import logging

    from openscout.cli.output import log_inert_to_stderr

    root, uv = logging.getLogger(), logging.getLogger("uvicorn")
    kept = (root.handlers[:], root.level)
    uv_kept = (uv.handlers[:], uv.propagate)
    uv.handlers[:], uv.propagate = [logging.StreamHandler()], False  # as uvicorn configures it
    try:
        log_inert_to_stderr()
        logging.getLogger("openscout.server").warning(
            "request failed: %s", "upstream says \x1b]52;c;SGVsbG8=\x07\x1b[2J\x9b31m"
        )
        logging.getLogger("uvicorn.error").error("boom \x1b]0;title\x07")
    finally:
        root.handlers[:], level = kept
        root.setLevel(level)
        uv.handlers[:], uv.propagate = uv_kept
    err = capsys.readouterr().err
    assert "request failed" in err and "boom" in err
    assert not any(c in err for c in "\x1b\x07\x9b"), repr(err)
    assert "\\x1b]52" in err


def test_text_put_in_markup_keeps_its_emoji_codes() -> None:
    """Hub and catalog strings reach markup through esc(), which escapes `[...]`: an emoji
    code in them was still read (twenty-third probe)."""
    from openscout.cli import output

    with output.console.capture() as captured:
        output.console.print(f"by [bold]{output.esc(':thumbs_up: [red]x[/]')}[/bold]")
    assert captured.get().strip() == "by :thumbs_up: [red]x[/]"


def test_a_console_in_another_encoding_gets_escapes_not_an_error(
    cli_env: dict[str, str], settings: Settings
) -> None:
    """An emoji in an answer ended `generate` with "unexpected error" on a Latin-1 or ASCII
    console, and a Latin-1 line on `chat`'s stdin did too (twenty-fourth probe)."""
    add_mock(settings, "emoji", default="caf\u00e9 \U0001f600")
    for encoding in ("ascii", "latin-1"):
        p = cli({**cli_env, "PYTHONIOENCODING": encoding}, "generate", "-m", "emoji", "hi")
        assert p.returncode == 0, p.stderr
        assert b"\\U0001f600" in p.stdout and b"unexpected" not in p.stderr
    p = cli(cli_env, "chat", "-m", "emoji", stdin=b"hi \xff there\n")
    assert p.returncode == 0, p.stderr
    assert "caf\u00e9".encode() in p.stdout and b"unexpected" not in p.stderr
