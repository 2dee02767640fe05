"""Files written where the user says (`tune-demo-data OUT`, `compare --out DIR`): whole or not
at all, and a path that cannot take them is a clear error naming it.

A directory, a FIFO (which blocked the command for ever), /dev/full or a missing /proc folder
as OUT was "unexpected error ... please report it" (nineteenth probe). The text goes to a
temporary file beside the target and replaces it in one rename, so a kill never leaves half.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

from openscout.errors import ConfigError


def make_folder(folder: Path, hint: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the folder {folder}: {_why(e)}", hint=hint) from e


def try_writing(folder: Path, hint: str) -> None:
    """A file can be made in `folder` (made and removed at once); ConfigError otherwise."""
    try:
        fd, name = tempfile.mkstemp(prefix=".openscout-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ConfigError(f"cannot write in {folder}: {_why(e)}", hint=hint) from e
    os.close(fd)
    os.unlink(name)


def check_target(path: Path, hint: str) -> None:
    """Nothing, or a regular file, is at `path`; ConfigError otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {_why(e)}", hint=hint) from e
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"cannot write {path}: it is not a regular file", hint=hint)


def write_text(path: Path, text: str, hint: str) -> None:
    """`text` in `path` (UTF-8), replacing a regular file there; ConfigError otherwise."""
    check_target(path, hint)
    # a new file of a random name (O_EXCL, no link followed): a link planted at a name we
    # would pick is never written through (the folder may be a shared one; twentieth probe)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o666)  # the umask applies, as to any new file
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {_why(e)}", hint=hint) from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException as e:  # a full disk, text that cannot be encoded, Ctrl-C
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ConfigError(f"cannot write {path}: {_why(e)}", hint=hint) from e
        raise


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__
