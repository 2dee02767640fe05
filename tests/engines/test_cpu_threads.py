"""The thread count follows the cores other processes leave free (engines/cpu_threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openscout.engines.base import SamplingParams
from openscout.engines.cpu_threads import RECHECK_S, ThreadChooser, busy_seconds


class FakeMachine:
    """A clock, the system's busy CPU seconds and our own, advanced by hand."""

    def __init__(self) -> None:
        self.t = 0.0
        self.busy = 0.0
        self.own = 0.0

    def run(self, seconds: float, ours: float, others: float) -> None:
        """`seconds` of wall time in which we used `ours` cores and the others `others`."""
        self.t += seconds
        self.own += ours * seconds
        self.busy += (ours + others) * seconds

    def chooser(self, cores: int = 2, fixed: int | None = None) -> ThreadChooser:
        return ThreadChooser(
            fixed,
            cores=list(range(cores)),
            read_busy=lambda _: self.busy,
            own_cpu=lambda: self.own,
            clock=lambda: self.t,
        )


@pytest.mark.parametrize(
    ("cores", "others", "want"),
    [
        (2, 0.0, 2),
        (2, 0.3, 2),  # a little background work keeps every core
        (2, 0.7, 1),  # a spinning neighbour that our threads squeeze to 2/3 of a core
        (2, 1.0, 1),
        (2, 2.0, 1),  # never fewer than one
        (8, 2.9, 5),
    ],
)
def test_threads_are_the_cores_others_leave(cores: int, others: float, want: int) -> None:
    m = FakeMachine()
    c = m.chooser(cores)
    m.run(1.0, ours=1.0, others=others)
    assert c.threads() == want


def test_a_short_window_keeps_the_last_choice_and_a_quiet_one_gives_cores_back() -> None:
    m = FakeMachine()
    c = m.chooser(2)
    m.run(1.0, ours=1.0, others=1.0)
    assert c.threads() == 1
    m.run(RECHECK_S / 5, ours=1.0, others=0.0)
    assert c.threads() == 1  # too short to read the load again
    m.run(1.0, ours=1.0, others=0.0)
    assert c.threads() == 2


def test_engines_at_work_in_one_process_share_the_free_cores() -> None:
    m = FakeMachine()
    c = m.chooser(4)
    with c.working():
        m.run(1.0, ours=4.0, others=0.0)
        assert c.threads() == 4
        with c.working():  # a second model decodes at the same time (arena, server)
            assert c.threads() == 2
            m.run(1.0, ours=2.0, others=2.0)  # and another process takes two cores
            assert c.threads() == 1
    assert c.threads() == 2  # nobody works now: the next engine gets what is free


def test_work_after_a_long_idle_spell_reads_a_fresh_window() -> None:
    m = FakeMachine()
    c = m.chooser(2)
    m.run(60.0, ours=0.0, others=0.0)  # a server idles for a minute
    m.run(1.0, ours=0.0, others=1.0)  # then a neighbour starts spinning
    with c.working():  # a request arrives: the minute's average would say "all free"
        m.run(0.5, ours=1.0, others=1.0)
        assert c.threads() == 1


def test_a_fixed_count_is_kept_whatever_the_load() -> None:
    m = FakeMachine()
    c = m.chooser(2, fixed=2)
    m.run(1.0, ours=0.0, others=2.0)
    assert c.threads() == 2


def test_without_proc_stat_every_core_is_used() -> None:
    c = ThreadChooser(cores=[0, 1, 2], read_busy=lambda _: None)
    assert c.threads() == 3


def test_proc_stat_parsing(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  900 0 100 5000 50 0 0 0 0 0\n"
        "cpu0 400 0 50 2500 25 0 0 0 0 0\n"
        "cpu1 500 0 50 2500 25 0 0 10 0 0\n"
        "intr 12345\n"
    )
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    assert busy_seconds([1], str(stat)) == pytest.approx(560 * tick)
    assert busy_seconds([0, 1], str(stat)) == pytest.approx(1010 * tick)
    assert busy_seconds([0], str(tmp_path / "missing")) is None


@pytest.fixture
def spinner() -> Iterator[None]:
    """Another process that keeps one core busy."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


needs_two_cores = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2 or not Path("/proc/stat").exists(),
    reason="needs Linux and at least two cores",
)


@needs_two_cores
def test_a_real_busy_core_is_left_alone(spinner: None) -> None:
    c = ThreadChooser()  # its first window starts now, with the neighbour already spinning
    time.sleep(0.6)
    assert c.threads() <= len(c.cores) - 1
    assert c.others > 0.6


@needs_two_cores
@pytest.mark.real_model
def test_the_engine_gives_llama_cpp_the_free_cores(smollm2_engine, spinner: None) -> None:  # type: ignore[no-untyped-def]
    e = smollm2_engine
    e.threads.threads()  # start a fresh window now that the neighbour spins
    time.sleep(RECHECK_S * 2)
    list(e.stream_completion("Once upon a time", SamplingParams(temperature=0.0, max_tokens=8)))
    ctx = e.llm._ctx.ctx
    assert e._lib.llama_n_threads(ctx) == e.threads.current <= len(e.threads.cores) - 1
