"""A path that cannot take a command's output file is a clear error naming it, exit 2: a
directory, a FIFO (it blocked for ever), /dev/full or a folder under /proc was "unexpected
error ... please report it" (nineteenth probe). A good path gets the whole file."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from openscout.errors import ConfigError
from openscout.outfile import write_text
from tests.reliability.helpers import cli, count

BAD = {
    "a folder": lambda tmp: tmp,
    "a FIFO": lambda tmp: _fifo(tmp / "pipe"),
    "a full device": lambda tmp: Path("/dev/full"),
    "under a file": lambda tmp: _file(tmp / "f.jsonl") / "x.jsonl",
    "under /proc": lambda tmp: Path("/proc/nope/x.jsonl"),
}


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _file(path: Path) -> Path:
    path.write_text("{}\n")
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="/dev/full and /proc")
@pytest.mark.parametrize("make", BAD.values(), ids=BAD.keys())
def test_tune_demo_data_to_a_bad_path_is_a_clear_error(
    tmp_path: Path, cli_env: dict[str, str], make
) -> None:  # type: ignore[no-untyped-def]
    out = make(tmp_path)
    p = cli(cli_env, "tune-demo-data", str(out), "--n", "5", check=False, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "cannot" in p.stderr and (str(out) in p.stderr or str(out.parent) in p.stderr)
    assert "unexpected" not in p.stderr and "Traceback" not in p.stderr


def test_tune_demo_data_writes_the_whole_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = tmp_path / "new" / "train.jsonl"
    cli(cli_env, "tune-demo-data", str(out), "--n", "5")
    assert len(out.read_text().splitlines()) == 5
    assert [p.name for p in out.parent.iterdir()] == ["train.jsonl"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = _file(tmp_path / "kept.txt")
    with pytest.raises(UnicodeEncodeError):
        write_text(target, "\ud800", hint="")  # not encodable: fails mid-write
    with pytest.raises(ConfigError, match="not a regular file"):
        write_text(tmp_path, "text", hint="")
    assert target.read_text() == "{}\n" and len(list(tmp_path.iterdir())) == 1


def test_a_link_planted_where_a_temporary_could_go_is_never_followed(tmp_path: Path) -> None:
    """The temporary beside the target had a name anyone could guess (`.NAME.tmpPID`); in a
    shared folder a link planted there would have been written through (twentieth probe)."""
    victim = _file(tmp_path / "victim.txt")
    folder = tmp_path / "shared"
    folder.mkdir()
    for pid in range(os.getpid() - 5, os.getpid() + 5):
        (folder / f".out.txt.tmp{pid}").symlink_to(victim)
    write_text(folder / "out.txt", "report", hint="")
    assert victim.read_text() == "{}\n" and (folder / "out.txt").read_text() == "report"
    assert not stat.S_ISLNK((folder / "out.txt").lstat().st_mode)


def test_compare_says_a_bad_out_folder_before_it_compares(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """It was said only after the whole comparison had run (twentieth probe)."""
    (tmp_path / "out" / "report.html").mkdir(parents=True)
    for out, said in [
        (_file(tmp_path / "f.txt") / "reports", "cannot create the folder"),
        (tmp_path / "out", "report.html: it is not a regular file"),
    ]:
        p = cli(cli_env, "compare", "--out", str(out), "--limit", "1", check=False)
        assert p.returncode == 2 and said in p.stderr, p.stderr
        assert "Traceback" not in p.stderr
    db = Path(cli_env["OPENSCOUT_HOME"]) / "openscout.db"
    if db.exists():  # nothing was run first
        assert count(db, "SELECT COUNT(*) FROM eval_runs") == 0
        assert count(db, "SELECT COUNT(*) FROM bench_results") == 0


def test_tune_demo_data_keeps_a_file_of_other_data(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """`tune-demo-data examples.jsonl` replaced the user's own examples without a word (42nd
    probe, low). Other data is kept unless --replace; the same demo data again is written."""
    out = tmp_path / "examples.jsonl"
    out.write_text('{"my": "precious data"}\n')
    p = cli(cli_env, "tune-demo-data", str(out), "--n", "5", check=False, timeout=60)
    assert p.returncode == 2 and "holds other data" in p.stderr
    assert out.read_text() == '{"my": "precious data"}\n'
    cli(cli_env, "tune-demo-data", str(out), "--n", "5", "--replace")
    cli(cli_env, "tune-demo-data", str(out), "--n", "5")  # the same data: no need to ask
    assert len(out.read_text().splitlines()) == 5
