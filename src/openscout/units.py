"""One way to write a size, for the CLI, the web pages and the report alike."""

from __future__ import annotations


def human_bytes(n: int | float | None) -> str:
    """Binary units with one decimal ('6.7 GB', '581.0 MB'); '-' when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
