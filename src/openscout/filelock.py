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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def one_writer(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it
