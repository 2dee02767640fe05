"""One exception tree for everything openscout raises on purpose.

OpenscoutError                 message + hint; the CLI prints both, never a traceback
├── ConfigError                a settings or registry file is wrong
├── DataFileError              a YAML/JSON file we read is malformed (names file, line, entry, field)
├── NotFoundError              no such thing under that id (404 through the API)
│   ├── ModelNotFoundError         no model registered under that id
│   └── ChatNotFoundError          no saved chat under that id
├── ModelFileError             a model file is missing, not GGUF, truncated or hostile
│   ├── ModelNotPreparedError      made on first use, and not by a GET (the embedded Gemma)
│   └── ChatTemplateError          its chat template refused or failed on these messages
├── EngineError                a model engine failed to answer (`transient`: worth asking again)
│   ├── EngineUnavailableError     could not connect, timed out, or the connection broke
│   ├── EngineResponseError        the server answered with an error status or a broken body
│   └── ContextLengthError         the prompt (or continuation) does not fit the model's context
├── CapabilityError            an engine was asked for something it declared it cannot do
├── StoreError                 the SQLite store cannot be opened or migrated
├── ConstraintError            a recommendation request is malformed
├── ClientGoneError            the API client went away before its answer began
├── FitError                   a fit estimate lacks what it needs (a shape, a catalog id)
├── SearchError                a catalog search filter is malformed
├── HubError                   the Hugging Face Hub could not answer (offline, unknown repo)
├── ArenaError                 a battle request cannot be served (unknown, voted, bad vote)
├── ChatFullError              a saved chat is at its size bound: start a new one
├── QueueFullError             a model's request queue (or the server's) is full: 429 / 503
├── WorkerError                code run in a limited child process failed there (`kind`)
├── WorkerLimitError           the child ran past its time, CPU or memory limit and was stopped
├── ScoringError               no check could read an answer: the item counts as a miss
├── PythonAssertionError       a `python` assertion is untrusted, failed or was stopped
├── PatternError               a suite's or task's regular expression cannot be used
│   └── PatternTimeoutError        it repeats too far or ran past its time limit
└── TuneError                  a fine-tune cannot start or go on (no float weights, memory)
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from typing import Any

# How allocation failures that are not MemoryError read: torch's CPU allocator ("can't
# allocate memory"), a failed mmap of safetensors ("Cannot allocate memory (12)"), CUDA
_NO_MEMORY_WORDS = ("can't allocate memory", "cannot allocate memory", "out of memory")


def _causes(e: BaseException, most: int = 8) -> Iterator[BaseException]:
    """The exception and what it was raised from or during, nearest first."""
    cause: BaseException | None = e
    for _ in range(most):
        if cause is None:
            return
        yield cause
        cause = cause.__cause__ or cause.__context__


def is_out_of_memory(e: BaseException) -> bool:
    """MemoryError, or a library's RuntimeError or OSError saying the same: torch ran out of
    memory as "unexpected error ... please report it" (twenty-seventh probe). Causes count."""
    for cause in _causes(e):
        if isinstance(cause, MemoryError):
            return True
        if isinstance(cause, OSError) and cause.errno == errno.ENOMEM:
            return True
        if isinstance(cause, (RuntimeError, OSError)):
            text = str(cause)[:2000].lower()
            if any(w in text for w in _NO_MEMORY_WORDS):
                return True
    return False


# How a full disk reads without an errno: SQLite, the system's words passed on as text
# (safetensors' SafetensorError), numpy's short write from `tofile` (the gguf writer's)
_NO_DISK_WORDS = re.compile(
    r"disk is full|no space left on device|disk quota exceeded|\d+ requested and \d+ written",
    re.IGNORECASE,
)


def is_damaged_database(e: BaseException) -> bool:
    """SQLite finding the file damaged after it opened (a page read mid-run): its corruption
    and not-a-database codes. "unexpected error ... please report it" said it (37th probe)."""
    return any(
        getattr(cause, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
        for cause in _causes(e)
    )


def is_database_busy(e: BaseException) -> bool:
    """SQLite giving up on a lock another connection held past the busy timeout ("database is
    locked"): a moment's condition, not a fault. The server said 500 "internal error" with a
    traceback while a backup or the sqlite3 shell held a write (41st probe)."""
    return any(
        getattr(cause, "sqlite_errorname", "").startswith("SQLITE_BUSY") for cause in _causes(e)
    )


def is_out_of_disk(e: BaseException) -> bool:
    """A full disk or quota, as the system says it (ENOSPC, EDQUOT) or as a library passes
    it on in words. Causes count: a store error may wrap it. `tune` on a full disk said "the
    system refused: 4608 requested and 1480 written" or "unexpected error: SafetensorError"
    (36th probe)."""
    for cause in _causes(e):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if _NO_DISK_WORDS.search(str(cause)[:2000]):
            return True
    return False


class OpenscoutError(Exception):
    """Base class. `hint` says what the user can do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ConfigError(OpenscoutError):
    pass


class DataFileError(OpenscoutError):
    """A malformed data file. Carries where the fault is so messages can name it."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        entry: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = []
        if path:
            where.append(f"{path}:{line}" if line else path)
        if entry:
            where.append(f"entry {entry!r}")
        if field:
            where.append(f"field {field!r}")
        full = f"{', '.join(where)}: {message}" if where else message
        super().__init__(full, hint)
        self.detail = message  # without the place, so it can be rebuilt elsewhere (worker)
        self.path, self.line, self.entry, self.field = path, line, entry, field

    def parts(self) -> dict[str, object]:
        return {
            "detail": self.detail,
            "path": self.path,
            "line": self.line,
            "entry": self.entry,
            "field": self.field,
        }


class NotFoundError(OpenscoutError):
    pass


class ModelNotFoundError(NotFoundError):
    pass


class ModelFileError(OpenscoutError):
    pass


class ModelNotPreparedError(ModelFileError):
    """A model file made on first use (the embedded Gemma), asked for where none is made (a
    GET): not a fault of the model's."""


class ChatTemplateError(ModelFileError):
    """The model's chat template could not turn these messages into a prompt: it refused them
    (`raise_exception`, e.g. "System role not supported"), failed on them, or ran past its
    limits. The model itself loaded; other messages may work (the API answers 400)."""


class EngineError(OpenscoutError):
    """`transient`: asking the same request again may succeed (connection lost, a stream cut
    short, HTTP 429 or 5xx). `retry_after`: seconds the server asked us to wait. `cause`: a
    short label for counting failures ("HTTP 429", "stream cut", ...)."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.transient = transient
        self.retry_after = retry_after
        self.cause = cause or type(self).__name__


class EngineUnavailableError(EngineError):
    pass


class EngineResponseError(EngineError):
    def __init__(
        self, message: str, status: int | None = None, hint: str | None = None, **kw: Any
    ) -> None:
        kw["cause"] = kw.get("cause") or (f"HTTP {status}" if status else None)
        super().__init__(message, hint, **kw)
        self.status = status


class ContextLengthError(EngineError):
    pass


class CapabilityError(OpenscoutError):
    pass


class StoreError(OpenscoutError):
    pass


class ConstraintError(OpenscoutError):
    pass


class FitError(OpenscoutError):
    pass


class SearchError(OpenscoutError):
    pass


class HubError(OpenscoutError):
    pass


class ArenaError(OpenscoutError):
    """A battle request that cannot be served (unknown battle, second vote, bad vote)."""


class ChatNotFoundError(NotFoundError):
    pass


class ChatFullError(OpenscoutError):
    pass


class QueueFullError(OpenscoutError):
    """`status`: 429 when one model's queue is full, 503 when the whole server's is."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WorkerError(OpenscoutError):
    """The job failed inside the child (`kind` is the exception's class name)."""

    def __init__(
        self, kind: str, message: str, hint: str | None = None, parts: dict | None = None
    ) -> None:
        super().__init__(message, hint)
        self.kind = kind
        self.parts = parts  # a DataFileError's place (DataFileError.parts), to raise it again


class WorkerLimitError(OpenscoutError):
    """The child ran past its time, CPU or memory limit (or died) and was stopped."""


class ScoringError(OpenscoutError):
    """A model's answer no check could read (it broke the check or ran its pattern past the
    time limit): the item counts as a miss, with this reason. Left out of the score, such an
    answer took the model's misses out with it (34th probe)."""


class PythonAssertionError(OpenscoutError):
    pass


class PatternError(OpenscoutError):
    pass


class PatternTimeoutError(PatternError):
    pass


class ClientGoneError(OpenscoutError):
    pass


class TuneError(OpenscoutError):
    """A fine-tune cannot start or go on: no float weights, not enough memory, a checkpoint
    that belongs to other settings."""


MAX_RECORDED_ERROR = 2000


def recorded(text: str | None, most: int = MAX_RECORDED_ERROR) -> str | None:
    """An error's words as the results database keeps them (and `runs show` prints them):
    cut, whatever raised it. A 30 MB upstream message stored with every failed item made a
    two-item run 360 MB (eleventh probe)."""
    if text is None or len(text) <= most:
        return text
    return text[:most] + "..."
