"""A child process that runs untrusted or user-supplied code within limits.

Two jobs go through it: `python` suite assertions (only when the user trusts the suite) and
chat templates taken from model files. Both could loop for ever or ask for gigabytes; in a
child they cannot take the caller with them:

- memory: `RLIMIT_AS` (address space), so a huge allocation fails with MemoryError;
- CPU: `RLIMIT_CPU` set before every call to the CPU used so far plus the call's budget, so a
  busy loop is killed by the kernel (SIGXCPU) even if the parent is not looking;
- wall time: the parent waits at most `timeout` seconds for each answer, then kills the child;
- no new processes (`RLIMIT_NPROC` 0), no files written (`RLIMIT_FSIZE` 0);
- replies are bounded (`MAX_REPLY` bytes), read by the parent as one JSON line.

A worker is started on first use (about 0.1 s) and reused; after a kill the next call starts
a fresh one. Calls are serialised by a lock. POSIX only (the `resource` module).

The child runs `python -I -m openscout.worker JOB`; JOB is "openscout.module:function", called
with the keyword arguments of each request. The worker imports nothing of the project
itself, so the modules that use it import it and not the other way round.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from openscout.errors import DataFileError, WorkerError, WorkerLimitError

MAX_REPLY = 32 * 2**20


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 512 * 2**20
    cpu_seconds: int = 5  # per call
    timeout: float = 5.0  # per call, wall clock


class Worker:
    def __init__(
        self, job: str, limits: Limits | None = None, pass_fds: tuple[int, ...] = ()
    ) -> None:
        self.job = job
        self.limits = limits or Limits()
        self.pass_fds = pass_fds  # descriptors every child inherits (a pinned model file)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def call(self, **args: Any) -> Any:
        payload = (json.dumps(args) + "\n").encode()  # ASCII: lone surrogates travel escaped
        with self._lock:
            proc = self._ensure()
            try:
                assert proc.stdin is not None
                proc.stdin.write(payload)
                proc.stdin.flush()
                line = self._read_line(proc)
            except (BrokenPipeError, WorkerLimitError, OSError) as e:
                self._kill()
                if isinstance(e, WorkerLimitError):
                    raise
                raise WorkerLimitError("the worker process stopped") from e
            try:
                reply = json.loads(line)
            except ValueError as e:  # something else wrote to its stdout: start afresh
                self._kill()
                raise WorkerLimitError("the worker process gave a garbled answer") from e
        if "error" in reply:
            raise WorkerError(
                reply["error"], reply.get("message", ""), reply.get("hint"), reply.get("parts")
            )
        return reply["ok"]

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            lim = self.limits
            argv = [sys.executable, "-I", "-m", "openscout.worker", self.job]
            self._proc = subprocess.Popen(
                [*argv, str(lim.memory_bytes), str(lim.cpu_seconds)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env={
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "LC_ALL": "C.UTF-8",
                    # no thread pools: with no new processes allowed, numpy's OpenBLAS could not
                    # start its threads and stopped the import for any user but root
                    "OPENBLAS_NUM_THREADS": "1",
                    "OMP_NUM_THREADS": "1",
                },
                start_new_session=True,  # a signal sent to our terminal's group misses it
                pass_fds=self.pass_fds,
            )
        return self._proc

    def _read_line(self, proc: subprocess.Popen[bytes]) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.limits.timeout
        parts: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerLimitError(f"no answer within {self.limits.timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # the child died: SIGXCPU, out of memory, ...
                raise WorkerLimitError(_death(proc))
            parts.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(parts)
            if size > MAX_REPLY:
                raise WorkerLimitError(f"an answer over {MAX_REPLY} bytes")

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


def _death(proc: subprocess.Popen[bytes]) -> str:
    try:
        rc = proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        return "the worker process stopped answering"
    if rc == -signal.SIGXCPU:
        return "it ran past its CPU time limit"
    return f"the worker process ended (status {rc}), e.g. out of memory"


# -- the child side ----------------------------------------------------------------------------


def _job(name: str) -> Any:
    """The function a job names; only the project's own (the parent chose it, not a user)."""
    import importlib

    module, _, function = name.partition(":")
    if not module.startswith("openscout.") or not function:
        raise SystemExit(f"not a job: {name!r}")
    return getattr(importlib.import_module(module), function)


def _limit_self(memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _cpu_budget(cpu: int) -> None:
    """Soft CPU limit = CPU used so far + this call's budget (the kernel sends SIGXCPU)."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (spent + cpu, resource.RLIM_INFINITY))


def _main(argv: list[str]) -> None:
    job, memory, cpu = _job(argv[0]), int(argv[1]), int(argv[2])
    _limit_self(memory)
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer:
        _cpu_budget(cpu)
        try:
            reply: dict[str, Any] = {"ok": job(**json.loads(raw))}
        except Exception as e:  # reported to the parent, which raises it there
            reply = {
                "error": type(e).__name__,
                "message": str(getattr(e, "message", e)),
                "hint": getattr(e, "hint", None),
                "parts": e.parts() if isinstance(e, DataFileError) else None,
            }
        try:
            data = json.dumps(reply)
        except (TypeError, ValueError):
            try:
                data = json.dumps({"ok": repr(reply.get("ok"))[:1000]})
            except ValueError:  # repr too can refuse (an int past Python's digit limit)
                data = json.dumps({"error": "ValueError", "message": "a value JSON cannot hold"})
        out.write(data.encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    _main(sys.argv[1:])
