"""llama.cpp's own log lines (`llama_kv_cache_iswa: using full-size SWA cache ...`) go to
stderr through llama-cpp-python's callback whatever `verbose=False` says, because newer ggml
numbers its levels differently. We install a callback that drops them, unless the user asked
for them (`openscout --verbose`, or OPENSCOUT_VERBOSE=1)."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

_installed: Any = None  # the ctypes callback: kept alive, or llama.cpp would call freed memory


def verbose() -> bool:
    return os.environ.get("OPENSCOUT_VERBOSE", "") not in ("", "0")


def quiet_llama(llama_cpp: Any) -> None:
    """Install the dropping (or, when verbose, forwarding) log callback once per process."""
    global _installed
    if _installed is not None:
        return
    loud = verbose()
    if not loud:  # ggml's abort handler forks gdb for a backtrace: two threads aborting at
        os.environ.setdefault("GGML_NO_BACKTRACE", "1")  # once deadlocked serve on it

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def _log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if loud:
            sys.stderr.write(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
    _installed = _log
