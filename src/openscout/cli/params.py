"""Checks of command-line values that typer's own types let through."""

from __future__ import annotations

import math

import typer


def finite(value: float | None) -> float | None:
    """A typer callback: `inf` passes a float option's `min` (`bench --price-per-hour inf`
    printed `Infinity` in --json, which is not JSON; sixteenth probe)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value
