"""`openscout` entry point. Each noun lives in its own module with a `register(app)` function.

Errors openscout raises on purpose (OpenscoutError) are printed as one message plus a hint
and exit with status 2, as are usage mistakes (with the usage line); nothing else prints a
traceback unless OPENSCOUT_DEBUG is set. Every message goes out inert (see cli/output.py).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from openscout.errors import (
    OpenscoutError,
    is_damaged_database,
    is_database_busy,
    is_out_of_disk,
    is_out_of_memory,
)

COMMAND_MODULES = ["models", "talk", "catalog", "evals", "compare", "serve", "tune"]

app = typer.Typer(
    name="openscout",
    help="Choose an open LLM: catalog, openness, fit, evaluations, speed and cost on your machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"openscout.cli.{_name}").register(app)


@app.callback()
def _options(
    verbose: bool = typer.Option(
        False, "--verbose", help="also show llama.cpp's and other libraries' own log lines"
    ),
) -> None:
    if verbose:  # read where the engines and the embedding model load (engines/llama_log.py)
        os.environ["OPENSCOUT_VERBOSE"] = "1"


@app.command("version")
def version() -> None:
    """Print the openscout version."""
    from openscout import __version__

    typer.echo(__version__)


def _usage_mistake(e: typer.TyperException) -> int:
    """A mistake on the command line (typer's click errors all derive from TyperException):
    the usage line and one error, as click would print them, never 'please report it'."""
    from openscout.cli.output import err_console, plain, print_error

    ctx = getattr(e, "ctx", None)
    message = e.format_message()
    if not message:  # a group called without a command: it has printed its help
        return int(getattr(e, "exit_code", 2))
    if ctx is not None:
        err_console.print(plain(ctx.get_usage()), highlight=False, soft_wrap=True)
    hint = f"'{ctx.command_path} --help' lists the options" if ctx is not None else None
    if "extra argument" in message:
        hint = 'put text with spaces in quotes, e.g. "deepseek r1 distill"'
    print_error(message, hint)
    return int(getattr(e, "exit_code", 2))


def _arguments_are_text(args: list[str]) -> None:
    """Arguments are read as UTF-8; bytes that are not (a Latin-1 file name, a prompt typed in
    another encoding) arrive as lone surrogates, which no model, database or YAML file takes:
    each command failed somewhere inside with "unexpected error" (twenty-second probe)."""
    for i, arg in enumerate(args, start=1):
        if any("\udc80" <= c <= "\udcff" for c in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise OpenscoutError(
                f"argument {i} ({shown[:80]}) is not UTF-8 text",
                hint="openscout reads its arguments as UTF-8: rename the file, or pass the "
                "text in a UTF-8 terminal",
            )


def _streams_never_fail_on_text() -> None:
    """A terminal or pipe in another encoding (Latin-1, a Windows code page) cannot show
    every character a model writes: an emoji ended `generate` with "unexpected error". What
    it cannot show is written as an escape; bytes on stdin that are not text become U+FFFD
    (a pasted Latin-1 line ended `chat` the same way; twenty-fourth probe)."""
    for stream, errors in ((sys.stdout, "backslashreplace"), (sys.stderr, "backslashreplace"),
                           (sys.stdin, "replace")):  # fmt: skip
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=errors)


def main() -> None:
    from openscout.cli.output import print_error

    _streams_never_fail_on_text()
    try:
        _arguments_are_text(sys.argv[1:])
        code = app(prog_name="openscout", standalone_mode=False)
    except OpenscoutError as e:
        print_error(e.message, e.hint)
        sys.exit(2)
    except typer.TyperException as e:
        sys.exit(_usage_mistake(e))
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except typer.Abort:
        print_error("aborted")
        sys.exit(1)
    except Exception as e:
        if is_out_of_memory(e):
            # the machine's (or a ulimit's) bound, not a fault to report; what was stored is kept
            print_error(
                "out of memory",
                hint="ask for less (a smaller --limit or --batch, fewer models at once) or "
                "free memory",
            )
            sys.exit(1)
        if is_damaged_database(e):
            print_error(
                f"the database is damaged: {e}",
                hint=f"move {_db_path()} aside; openscout will create a new one",
            )
            sys.exit(1)
        if is_database_busy(e):  # another program's write outlasted the 30 s wait
            print_error(
                f"the database is locked by another program: {_db_path()}",
                hint="try again once it is done (another openscout command, a backup, sqlite3)",
            )
            sys.exit(1)
        if is_out_of_disk(e):  # however it is said (SQLite, safetensors, numpy: no errno)
            print_error("out of disk space", hint="free some space; what was stored is kept")
            sys.exit(1)
        if isinstance(e, OSError):  # the system's refusal (a closed stream, a permission)
            where = f" ({e.filename})" if e.filename else ""
            print_error(f"the system refused: {e.strerror or e}{where}")
            sys.exit(1)
        if os.environ.get("OPENSCOUT_DEBUG"):
            raise
        print_error(
            f"unexpected error: {e.__class__.__name__}: {e}",
            "set OPENSCOUT_DEBUG=1 to see the traceback, and please report it",
        )
        sys.exit(1)
    # without standalone mode, typer returns the code of `typer.Exit` (0 after --help)
    sys.exit(code if isinstance(code, int) else 0)


def _db_path() -> str:
    from openscout.config import get_settings

    try:
        return str(get_settings().db_path)
    except Exception:  # the settings themselves may be what failed
        return "the database (openscout.db in the data dir)"


if __name__ == "__main__":
    main()
