"""Files written where the user says (`tune-demo-data OUT`, `compare --out DIR`): whole or not
at all, and a path that cannot take them is a clear error naming it.

A directory, a FIFO (which blocked the command for ever), /dev/full or a missing /proc folder
as OUT was "unexpected error ... please report it" (nineteenth probe). The text goes to a
temporary file beside the target and replaces it in one rename, so a kill never leaves half.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from openscout.errors import ConfigError


def make_folder(folder: Path, hint: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the folder {folder}: {_why(e)}", hint=hint) from e


def write_text(path: Path, text: str, hint: str) -> None:
    """`text` in `path` (UTF-8), replacing a regular file there; ConfigError otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {_why(e)}", hint=hint) from e
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"cannot write {path}: it is not a regular file", hint=hint)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException as e:  # a full disk, text that cannot be encoded, Ctrl-C
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ConfigError(f"cannot write {path}: {_why(e)}", hint=hint) from e
        raise


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__
