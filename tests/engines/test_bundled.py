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
