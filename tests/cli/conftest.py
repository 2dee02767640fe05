"""The CLI in-process at 80 columns: `cli80("runs", "show", RUN)` returns what it printed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from openscout.cli.main import app


@pytest.fixture
def cli80(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    monkeypatch.setenv("COLUMNS", "80")

    def invoke(*args: str) -> str:
        r = CliRunner().invoke(app, list(args))
        assert r.exit_code == 0, r.output
        return r.output

    return invoke
