"""How many threads llama.cpp gets: the cores that other processes leave free, looked at again
while it runs.

llama.cpp's OpenMP threads meet at a barrier after every operation of the graph, hundreds of
times per token. With OpenMP's default wait policy a thread at the barrier spins for a moment
before it sleeps, and that is what makes decoding fast on a quiet machine (SmolLM2 here: about
75 tok/s, against 23 with OMP_WAIT_POLICY=PASSIVE, which sleeps at once and wakes late). The
same spinning is what hurts on a busy machine: when another process holds one of the cores, the
kernel parks one of our threads and every barrier waits for it (18-24 tok/s with two threads,
44 with one). So the wait policy stays the default and the thread count follows the load:
before a decode, at most every RECHECK_S, we read the CPU time all processes used on our cores
(/proc/stat) minus our own (process_time) over the wall time since the last look, and give
llama.cpp the cores that the others did not use. Figures: docs/DESIGN.md, docs/performance.md.

Several models decoding at once in one process (the arena, the server) share the free cores:
one chooser serves the whole process and splits them between the engines at work, since
two engines each spinning on every core would collide like two processes do.

Where /proc/stat cannot be read (not Linux) every allowed core is used. A fixed count
(OPENSCOUT_THREADS) turns the adaptation off.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

RECHECK_S = 0.25  # shortest window worth reading: /proc/stat counts in 10 ms ticks
STALE_S = 2.0  # a window this old when work starts is begun anew
# Other processes must use this share of a core before we leave it to them; a little
# background work (a shell, a log writer) should not halve our speed.
TAKEN_AT = 0.6
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def allowed_cores() -> list[int]:
    """The CPUs this process may run on (taskset and cpusets narrow it)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def busy_seconds(cores: list[int], stat_path: str = "/proc/stat") -> float | None:
    """CPU seconds all processes spent on `cores` since boot (idle and iowait excluded)."""
    wanted = {f"cpu{c}" for c in cores}
    total = 0.0
    try:
        with open(stat_path, encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(" ")
                if name not in wanted:
                    continue
                v = [int(x) for x in rest.split()]
                # user nice system idle iowait irq softirq steal: steal is time another
                # guest of the host took, so it is not ours to use either
                total += sum(v[:8]) - v[3] - (v[4] if len(v) > 4 else 0)
    except (OSError, ValueError):
        return None
    return total * _TICK_S


@dataclass
class _Look:
    wall: float
    busy: float
    own: float


class ThreadChooser:
    """Tells llama.cpp how many threads to use now; one per process (`process_chooser`),
    shared by every engine and context in it."""

    def __init__(
        self,
        fixed: int | None = None,
        *,
        cores: list[int] | None = None,
        read_busy: Callable[[list[int]], float | None] = busy_seconds,
        own_cpu: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fixed = fixed
        self.cores = cores if cores is not None else allowed_cores()
        self._read_busy, self._own_cpu, self._clock = read_busy, own_cpu, clock
        self.free = len(self.cores)  # cores the other processes left in the last window
        self.others = 0.0  # cores' worth of CPU the other processes used in the last window
        self._working = 0  # engines decoding now in this process
        self._mutex = threading.Lock()
        self._last = self._look()

    @property
    def current(self) -> int:
        """Threads for one engine: the free cores split between the engines at work."""
        if self.fixed:
            return self.fixed
        return max(1, self.free // max(1, self._working))

    @contextmanager
    def working(self) -> Iterator[None]:
        """Count an engine as decoding while the block runs. Work that starts after a long
        idle spell starts a new window: an average over minutes of idling says little about
        the next second (the last count is kept until the new window is read)."""
        with self._mutex:
            if self._working == 0 and self._last and self._clock() - self._last.wall > STALE_S:
                self._last = self._look()
            self._working += 1
        try:
            yield
        finally:
            with self._mutex:
                self._working -= 1

    def _look(self) -> _Look | None:
        busy = self._read_busy(self.cores)
        return None if busy is None else _Look(self._clock(), busy, self._own_cpu())

    def threads(self) -> int:
        """The thread count to use for the next decode."""
        with self._mutex:
            stale = self._last is not None and self._clock() - self._last.wall >= RECHECK_S
            if stale and not self.fixed:
                self._update()
            return self.current

    def _update(self) -> None:
        assert self._last is not None
        now = self._look()
        if now is None:
            return
        window = now.wall - self._last.wall
        others = ((now.busy - self._last.busy) - (now.own - self._last.own)) / window
        self._last = now
        self.others = max(0.0, others)
        taken = int(self.others + (1.0 - TAKEN_AT))
        self.free = max(1, len(self.cores) - taken)


_process_chooser: ThreadChooser | None = None
_process_lock = threading.Lock()


def process_chooser() -> ThreadChooser:
    """The one chooser of this process (adaptive; engines with a fixed count make their own)."""
    global _process_chooser
    with _process_lock:
        if _process_chooser is None:
            _process_chooser = ThreadChooser()
        return _process_chooser


class ContextThreads:
    """Keeps one llama_context's thread count in step with a ThreadChooser."""

    def __init__(self, chooser: ThreadChooser, llama_cpp: Any, ctx: Any) -> None:
        self.chooser, self._lib, self._ctx = chooser, llama_cpp, ctx
        self._set: int | None = None

    def sync(self) -> None:
        n = self.chooser.threads()
        if n != self._set:
            self._lib.llama_set_n_threads(self._ctx, n, n)
            self._set = n
