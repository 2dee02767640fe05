"""A model file opened once, and every later opening of it made through that descriptor.

A file checked by its name and opened by its name again can be another file the second time:
a file renamed over a registered path while its load check ran was opened unchecked, and
aborted `serve` (twenty-second probe); a tokenizer child restarted after the swap read the
new file's vocabulary for the old model. So an engine opens its file once, and the load
check's child, the tokenizer's child and llama.cpp itself all open `/proc/self/fd/N` (the
children inherit N): that is the very file first opened, whatever later happens to the name.
A file written in place is another matter: `changed()` tells it, and an engine refuses a file
that changed while it was being opened (a file rewritten while loaded is outside what
openscout can promise: its weights are mapped, not copied).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from types import TracebackType

from openscout.errors import ModelFileError

PROC_FD = Path("/proc/self/fd")  # Linux; elsewhere the name is used, and compared after

Version = tuple[int, int, int, int, int]


def version_of(st: os.stat_result) -> Version:
    """What changes when a file is replaced or written: device, inode, size and both times
    (the change time cannot be set back by a user)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class PinnedFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:  # non-blocking: a FIFO at the path must not hold the open for ever
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise ModelFileError(f"{self.path}: {e.strerror.lower()}", hint="check the path") from e
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise ModelFileError(f"{self.path}: not a regular file")
        os.set_blocking(fd, True)
        self.fd = fd
        self.version = version_of(st)
        self._links = st.st_nlink
        self._sealed: tuple[int, str] | None = None  # (bytes, their digest)

    def seal(self, end: int) -> None:
        """Take a digest of the first `end` bytes (the header llama.cpp parses): a store
        through a shared mapping changes bytes and no times (twenty-fourth probe)."""
        self._sealed = (end, self._digest(end))

    @property
    def key(self) -> tuple[Version, str | None]:
        """What a verdict on the file is kept under: its version and its sealed bytes."""
        return (self.version, self._sealed[1] if self._sealed else None)

    def sha256(self) -> str:
        """The whole file's SHA256, read through the descriptor."""
        return self._digest(self.version[2])

    def _digest(self, end: int) -> str:
        h, at = hashlib.sha256(), 0
        while at < end:
            block = os.pread(self.fd, min(2**20, end - at), at)
            if not block:
                break
            h.update(block)
            at += len(block)
        return h.hexdigest()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def opened(self) -> str:
        """The name this process, and a child given the descriptor, open this very file by."""
        return f"{PROC_FD}/{self.fd}" if PROC_FD.is_dir() else str(self.path)

    def changed(self) -> bool:
        """Written since it was opened (or, without /proc, its name now names another file).
        The change time counts unless the links changed: a rename over the name sets it on
        this file too, and a write with its modification time put back sets it alone."""
        st = os.fstat(self.fd)
        now = version_of(st)
        if now[:4] != self.version[:4]:
            return True
        if st.st_nlink == self._links and now[4] != self.version[4]:
            return True
        if self._sealed is not None and self._digest(self._sealed[0]) != self._sealed[1]:
            return True
        if PROC_FD.is_dir():
            return False
        try:
            return version_of(os.stat(self.path)) != self.version
        except OSError:
            return True

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> PinnedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
