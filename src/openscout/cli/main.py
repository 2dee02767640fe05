"""`openscout` entry point. Each noun lives in its own module with a `register(app)` function.

Errors openscout raises on purpose (OpenscoutError) are printed as one message plus a hint
and exit with status 2; nothing else prints a traceback unless OPENSCOUT_DEBUG is set.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from openscout.errors import OpenscoutError

COMMAND_MODULES = ["models", "talk", "catalog", "evals", "compare", "serve"]

app = typer.Typer(
    name="openscout",
    help="Choose an open LLM: catalog, openness, fit, evaluations, speed and cost on your machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"openscout.cli.{_name}").register(app)


@app.command("version")
def version() -> None:
    """Print the openscout version."""
    from openscout import __version__

    typer.echo(__version__)


def main() -> None:
    from openscout.cli.output import print_error

    try:
        app(standalone_mode=False)
    except OpenscoutError as e:
        print_error(e.message, e.hint)
        sys.exit(2)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except Exception as e:  # click usage errors and the unexpected
        import click

        if isinstance(e, click.exceptions.Exit):
            sys.exit(e.exit_code)
        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            print_error("aborted")
            sys.exit(1)
        if os.environ.get("OPENSCOUT_DEBUG"):
            raise
        print_error(
            f"unexpected error: {e.__class__.__name__}: {e}",
            "set OPENSCOUT_DEBUG=1 to see the traceback, and please report it",
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
