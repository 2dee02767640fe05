"""A Hub dataset's data files, downloaded by openscout itself within bounds.

`huggingface_hub.snapshot_download` names its cache files after what the Hub answers (the
commit sha, each file's ETag) and fetches files of any size: an endpoint that answered a sha
or ETag of `../../..` wrote files outside the data dir, and one that streamed for ever filled
the disk (seventeenth probe). Here the Hub is asked only for the file list and the bytes:
every file is stored under a hashed name in the data dir, refused past the data-file bound
(by its listed size and while it comes), and the whole download has a deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openscout import datafile
from openscout.catalog import hub_http
from openscout.errors import HubError

SUFFIXES = (".parquet", ".csv", ".json", ".jsonl")
MAX_FILES = 32  # a leaderboard export is one to a few files
MAX_FILE_BYTES = datafile.MAX_BYTES  # what the readers take; a bigger file is never read
DEADLINE_S = 600.0  # the whole download: a 64 MiB file on a slow line, not a trickle for ever
_SHA = re.compile(r"[0-9a-f]{40}")


def dataset_files(hub_id: str, cache_dir: Path) -> list[Path]:
    """The dataset's CSV, JSON and Parquet files at its current commit, each downloaded once
    into `cache_dir/datasets/` under a hashed name, where nothing else is kept. Called under
    the import lock (leaderboard_import.import_results)."""
    from huggingface_hub import HfApi

    try:
        info = hub_http.call(
            f"the Hub's file list of {hub_id}",
            lambda: HfApi().dataset_info(hub_id, files_metadata=True),
        )
    except Exception as e:  # huggingface_hub raises many types (HTTP, offline, auth)
        raise HubError(
            f"could not ask the Hub for the dataset {hub_id!r}: {type(e).__name__}: {str(e)[:200]}",
            hint="check the id and the network, or pass a CSV/JSON/Parquet export of it",
        ) from e
    sha = getattr(info, "sha", None)
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise HubError(f"the Hub named no commit of {hub_id!r} (sha {str(sha)[:60]!r})")
    wanted = [s for s in getattr(info, "siblings", None) or [] if _wanted(s)]
    if not wanted:
        raise HubError(f"the dataset {hub_id!r} holds no CSV, JSON or Parquet file")
    if len(wanted) > MAX_FILES:
        raise HubError(
            f"the dataset {hub_id!r} holds {len(wanted)} data files; openscout imports at most"
            f" {MAX_FILES}",
            hint="download the file you want and pass its path",
        )
    deadline = time.monotonic() + DEADLINE_S
    folder = cache_dir / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    _keep_only(folder, {_target(folder, hub_id, sha, s.rfilename) for s in wanted})
    fetched: list[Path] = []
    try:
        for s in wanted:
            fetched.append(_fetch(hub_id, sha, s.rfilename, s.size, folder, deadline))
    except BaseException:  # a failed import keeps none: a 404 on the third file kept the
        for f in fetched:  # first two, 101 MB (35th probe)
            f.unlink(missing_ok=True)
        raise
    return fetched


def _keep_only(folder: Path, kept: set[Path]) -> None:
    """Remove what earlier imports left: other commits' files, a killed download's part.
    The caller holds the import lock, so no other import is using any of them."""
    for left in folder.iterdir():
        if left not in kept:
            with contextlib.suppress(OSError):
                left.unlink()


def _target(folder: Path, hub_id: str, sha: str, name: str) -> Path:
    key = hashlib.sha256(f"{hub_id}@{sha}/{name}".encode()).hexdigest()
    return folder / f"{key}{Path(name).suffix.lower()}"


def _wanted(sibling: Any) -> bool:
    name = getattr(sibling, "rfilename", None)
    if not isinstance(name, str) or not name.lower().endswith(SUFFIXES):
        return False
    parts = name.split("/")
    return (
        not name.startswith("/") and ".." not in parts and "\\" not in name and "\x00" not in name
    )


def _fetch(hub_id: str, sha: str, name: str, size: Any, folder: Path, deadline: float) -> Path:
    target = _target(folder, hub_id, sha, name)
    if target.is_file():  # the same file of the same commit: fetched before
        return target
    if isinstance(size, int) and size > MAX_FILE_BYTES:
        raise _too_big(hub_id, name)
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session

    url = f"{constants.ENDPOINT}/datasets/{quote(hub_id)}/resolve/{sha}/{quote(name)}"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            # under the Hub bounds too: headers trickled a line at a time never reached the
            # deadline checked between pieces of the body (twenty-third probe)
            hub_http.call(
                f"{name!r} of {hub_id!r}",
                lambda: _copy(get_session(), url, build_hf_headers(), out, hub_id, name, deadline),
                seconds=max(0.0, deadline - time.monotonic()),
                max_bytes=MAX_FILE_BYTES + 2**24,  # its own check names the bound first
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _copy(
    session: Any,
    url: str,
    headers: dict[str, str],
    out: Any,
    hub_id: str,
    name: str,
    deadline: float,
) -> None:
    written = 0
    try:
        with session.stream("GET", url, headers=headers, follow_redirects=True, timeout=30) as r:
            if r.status_code != 200:
                raise HubError(f"the Hub answered {r.status_code} for {name!r} of {hub_id!r}")
            for chunk in r.iter_bytes():
                written += len(chunk)
                if written > MAX_FILE_BYTES:
                    raise _too_big(hub_id, name)
                if time.monotonic() > deadline:
                    raise HubError(
                        f"the download of {hub_id!r} took more than {DEADLINE_S:.0f} s",
                        hint="download the file yourself and pass its path",
                    )
                out.write(chunk)
    except HubError:
        raise
    except Exception as e:  # the HTTP client's own errors: connection, timeout, protocol
        raise HubError(
            f"could not download {name!r} of {hub_id!r}: {type(e).__name__}: {str(e)[:200]}"
        ) from e


def _too_big(hub_id: str, name: str) -> HubError:
    return HubError(
        f"{name!r} of {hub_id!r} is over {MAX_FILE_BYTES} bytes, more than openscout reads",
        hint="download the rows you need and pass that file",
    )
