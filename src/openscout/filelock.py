"""One process at a time for a read-change-write of a file in the data dir.

A file replaced atomically is always whole, but two processes that each read it, change it
and write it back lose the first one's change: eight `models add` at once lost one model
(seventeenth probe), two `catalog import-results` at once lost one import's scores
(twenty-fourth probe). An exclusive `flock` on a lock file beside it orders them; the kernel
lets go when the process dies, so a killed writer never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openscout.errors import DataFileError, OpenscoutError


@contextmanager
def one_writer(lock_file: Path, busy: OpenscoutError | None = None) -> Iterator[None]:
    """Hold `lock_file` exclusively; wait for another holder, or, given `busy`, raise it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    # no link followed (one planted there made a file outside the data dir), no FIFO or
    # folder taken for a lock (twenty-fifth probe)
    flags = os.O_CREAT | os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(lock_file, flags, 0o600)
    except OSError as e:
        raise DataFileError(
            f"{lock_file} cannot serve as a lock: {e.strerror}",
            hint="remove it; openscout makes it again",
        ) from e
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DataFileError(
            f"{lock_file} cannot serve as a lock: it is not a regular file",
            hint="remove it; openscout makes it again",
        )
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if busy else 0))
        except BlockingIOError:
            raise busy from None  # type: ignore[misc]
        yield
    finally:
        os.close(fd)  # and the lock with it
