"""Peak resident memory a model adds while it is measured (perf/measure.py's docstring says
how it is defined): peak RSS since a reset minus RSS before, or the plain RSS difference
where the kernel cannot reset its peak."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Any


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # Linux >= 4.0: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


@functools.cache
def _malloc_trim() -> Any:
    """glibc's malloc_trim, looked up once (find_library runs ldconfig); None elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def _release_freed() -> None:
    """Give the memory a closed model freed back to the system: glibc keeps it in the heap,
    where the next model measured reused it and so "added" about 20 MB less (the first of
    two identical models measured 12-36% bigger, and the order of `-m` decided between
    them: 47th probe). Elsewhere than glibc, nothing to do."""
    gc.collect()
    if (trim := _malloc_trim()) is not None:
        trim(0)


class MemoryProbe:
    """Peak resident memory added between start() and stop(); see the module docstring."""

    def __init__(self) -> None:
        self.base: int | None = None
        self.method = "rss-delta"

    def start(self) -> None:
        _release_freed()
        self.base = _status_kb("VmRSS")
        self.method = "peak-rss-delta" if _reset_peak() else "rss-delta"

    def stop(self) -> int | None:
        end = _status_kb("VmHWM" if self.method == "peak-rss-delta" else "VmRSS")
        if self.base is None or end is None:
            return None
        return max(0, end - self.base)
