"""One way to write a size and a price, for the CLI, the web pages and the report alike."""

from __future__ import annotations


def human_bytes(n: int | float | None) -> str:
    """Binary units: GB and TB with one decimal, smaller units whole ('6.7 GB', '581 MB');
    '-' when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if round(size) < 1024 or unit == "TB":
            return f"{size:.1f} {unit}" if unit in ("GB", "TB") else f"{size:.0f} {unit}"
        size /= 1024
    return f"{n} B"


def money(v: float | None) -> str:
    """Dollars: three decimals from a cent up ('$0.250'), two significant digits below
    ('$0.0043'); '-' when unknown."""
    if v is None:
        return "-"
    return f"${v:.3f}" if v >= 0.01 else f"${v:.2g}"
