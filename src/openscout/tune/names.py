"""The folder and catalog file a fine-tune writes, one per model id, and never another's.

Model ids may hold `/` and `:`, file names may not. Mapping both to one character made `a/b`,
`a:b` and `a_b` share a folder and a catalog file: a later fine-tune replaced an earlier one's
adapter, and `--name mine` replaced the user's own `catalog/mine.yaml` (nineteenth probe).
So an id that had to change keeps a digest of the whole id in its stem, the folder records
the id it belongs to, and a catalog file is replaced only when `tune` wrote it for that id.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from openscout import datafile
from openscout.errors import TuneError

OWNER_FILE = "model-id.txt"
MAX_STEM = 80


def stem(model_id: str) -> str:
    """The id itself when it is a safe file name already, else a readable part and a digest."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", model_id).strip("-.")[:MAX_STEM]
    if safe == model_id:
        return model_id
    return f"{safe or 'tuned'}-{hashlib.sha256(model_id.encode()).hexdigest()[:12]}"


def claim_folder(folder: Path, model_id: str) -> None:
    """Make `folder` the fine-tune's, or refuse when it holds another model's run or a link.

    A link at the folder, or at any name in it, led `tune` to write outside the data dir and
    to delete a folder there (`adapter/`) (30th probe): no link is followed here."""
    _no_links(folder)
    owner = folder / OWNER_FILE
    if owner.exists():  # a regular file only: a pipe there held `tune` for ever (31st probe)
        found = datafile.read_bytes(owner, 1024).decode("utf-8", "replace").strip()
        if found != model_id:
            raise TuneError(
                f"the folder {folder} holds the fine-tune {found[:130]!r}, not {model_id!r}",
                hint="choose another --name",
            )
        return
    folder.mkdir(parents=True, exist_ok=True)  # a folder from before ids were recorded: ours
    owner.write_text(model_id + "\n", encoding="utf-8")


def _no_links(folder: Path) -> None:
    """No link at the folder or in it, nor a pipe, socket or device (a pipe at the checkpoint
    held `tune` for ever: 31st probe): files and folders only."""
    found = [p for p in (folder.parent, folder) if p.is_symlink()]
    if not found and folder.is_dir():
        found = [Path(e.path) for e in os.scandir(folder) if _not_plain(e)]
    if found:
        raise TuneError(
            f"{found[0]} is a link or not a regular file: a fine-tune writes only in its own"
            " folder of the data dir and follows no link there",
            hint="remove it (or choose another --name)",
        )


def _not_plain(entry: os.DirEntry[str]) -> bool:
    return entry.is_symlink() or not (entry.is_file() or entry.is_dir())


def catalog_header(model_id: str) -> str:
    return f"# written by `openscout tune` for the fine-tune {model_id!r}\n"


def check_catalog_file(path: Path, model_id: str) -> None:
    """Refuse to replace a catalog file `tune` did not write for this id (a user's own)."""
    if not path.exists():
        return
    # a regular file only: a pipe there held `tune` for ever (32nd probe)
    first = datafile.read_bytes(path, 1024, head=True).decode("utf-8", "replace")
    if first.partition("\n")[0] + "\n" != catalog_header(model_id):
        raise TuneError(
            f"{path} was not written by `openscout tune` for {model_id!r}; it is left as it is",
            hint="rename that file, or choose another --name",
        )
