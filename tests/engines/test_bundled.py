"""The embedded Gemma file is assembled into the data dir and trusted (no load check) only as
the version whose SHA256 was taken: a file patched in place with its size and modification
time put back passed a size+mtime stamp and aborted the process (twenty-second probe)."""

from __future__ import annotations

import os
import shutil
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
