"""The embedded Gemma file is assembled into the data dir and trusted (no load check) only as
the version whose SHA256 was taken: a file patched in place with its size and modification
time put back passed a size+mtime stamp and aborted the process (twenty-second probe)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from openscout.engines import bundled, load_check
from openscout.engines.pinned import PinnedFile
from tests.engines.child import run_in_child


def test_a_file_patched_in_place_is_hashed_again_and_reassembled(
    tmp_path: Path, gemma_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(gemma_path, models / bundled.GEMMA3_FILE)  # as assembled, without its stamp
    target = bundled.gemma3_path(models)  # hashed once, stamped
    expected = bundled._sha256(target)
    st = target.stat()
    with target.open("r+b") as f:  # a byte of the header changed, size and mtime kept
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    with PinnedFile(target) as patched:
        assert not load_check.trusted(patched)
    again = bundled.gemma3_path(models)
    assert bundled._sha256(again) == expected  # put back from the package's parts
    with PinnedFile(again) as whole:
        assert load_check.trusted(whole)


def test_a_planted_stamp_is_neither_followed_nor_waited_on(
    tmp_path: Path, gemma_path: Path
) -> None:
    """A link at the stamp's path was written through (a file outside the data dir replaced),
    and a FIFO there held the load for ever (twenty-fifth probe)."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(gemma_path, models / bundled.GEMMA3_FILE)
    stamp = models / (bundled.GEMMA3_FILE + ".verified.json")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    stamp.symlink_to(victim)
    bundled.gemma3_path(models)
    assert victim.read_text() == "precious" and not stamp.is_symlink()
    stamp.unlink()
    os.mkfifo(stamp)
    done = []
    reader = threading.Thread(target=lambda: done.append(bundled.gemma3_path(models)))
    reader.start()
    reader.join(60)  # a hang guard: it answers in a second or two
    assert done, "the load waited on a FIFO at the stamp's path"


FORGED_STAMP = """
import json, shutil, sys
from pathlib import Path
from openscout.engines import bundled
from openscout.engines.llamacpp import LlamaCppEngine

models, bad = Path(sys.argv[1]), Path(sys.argv[2])
target = models / bundled.GEMMA3_FILE
shutil.copy(bad, target)
expected = bundled._gemma_parts()[1]  # the package's SHA256, beside the crafted file's stat
stamp = bundled._stamp(expected, target.stat())
(models / (bundled.GEMMA3_FILE + ".verified.json")).write_text(json.dumps(stamp))
try:
    LlamaCppEngine("g", bundled.gemma3_path(models), n_ctx=256)
except Exception as e:
    print(type(e).__name__, e.message.splitlines()[0])
"""


def test_a_forged_stamp_does_not_make_a_crafted_file_trusted(
    tmp_path: Path, gemma_path: Path
) -> None:
    """Whoever writes the data dir can write a stamp naming the package's SHA256 beside a
    crafted Gemma: it skipped the load check and aborted the process (twenty-fifth probe).
    The file is hashed as opened. In a child: an abort must not take the test run with it."""
    from tests.gguf_factory import copy_with_metadata

    models = tmp_path / "models"
    models.mkdir()
    bad = copy_with_metadata(gemma_path, tmp_path / "bad.gguf", {"gemma3.block_count": 0})
    done = run_in_child(FORGED_STAMP, models, bad)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ModelFileError llama.cpp crashed opening gemma-3-270m")


def test_a_full_disk_leaves_no_partial_gemma_and_says_why(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The temporary file of an assembly that failed (ENOSPC) stayed, 209 MB, and the disk
    stayed full for good; the request answered 500 (33rd probe, medium)."""
    import errno

    import pytest

    from openscout.errors import ModelFileError

    models = tmp_path / "models"
    real_fdopen = os.fdopen

    class FillsUp:  # a file system with 8 MiB free
        def __init__(self, f):  # type: ignore[no-untyped-def]
            self.f, self.written = f, 0

        def write(self, block: bytes) -> int:
            if self.written + len(block) > 8 * 2**20:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(block)
            return self.f.write(block)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            self.f.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FillsUp(real_fdopen(fd, mode)))
    with pytest.raises(ModelFileError, match="no room to assemble"):
        bundled.gemma3_path(models)
    left = [p.name for p in models.iterdir() if not p.name.endswith(".lock")]
    assert left == [], left


def test_what_a_killed_assembly_left_is_removed_by_the_next(
    tmp_path: Path, gemma_path: Path
) -> None:
    """Each kill -9 during an assembly left its temporary file (8 MB, 129 MB...) and a later
    assembly kept them all (33rd probe). Under the assemblers' lock, any is a dead one's."""
    models = tmp_path / "models"
    models.mkdir()
    killed = models / f".{bundled.GEMMA3_FILE}.0123456789abcdef.tmp"
    killed.write_bytes(b"\0" * 2**20)
    shutil.copy(gemma_path, models / bundled.GEMMA3_FILE)  # as assembled, without its stamp
    bundled.gemma3_path(models)
    assert not killed.exists()
