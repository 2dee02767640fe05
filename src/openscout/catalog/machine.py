"""The machine a fit is judged for: this one, or a target the user names.

A target is `--memory 16GB`, `--gpu 24GB` (with `--gpus N`), a named profile
(`--machine laptop-16gb`), or a profile with either overridden. Profiles are built in
(PROFILES) or the user's own in `<data dir>/machines.yaml`:

    version: 1
    machines:
      my-box: {memory: 32GB, gpu: 24GB, gpus: 2, bandwidth: 900}

Sizes are binary gigabytes, the unit every view prints ("16GB" shows as "16.0 GB").
The memory given is what the model may use; "fits comfortably" still leaves a quarter of it
free (fit.COMFORT), which is the room an operating system and a browser take on a laptop.
A target's speed uses its stated bandwidth or the conservative defaults, never the
bandwidth or bench line measured on this machine.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openscout.errors import FitError

GiB = 2**30
MACHINES_FILE = "machines.yaml"


@dataclass(frozen=True)
class Profile:
    memory_bytes: int
    gpu_bytes: int | None = None  # per GPU
    gpus: int = 0
    bandwidth_gbs: float | None = None  # None: the CPU or GPU default of catalog.fit
    about: str = ""


PROFILES: dict[str, Profile] = {
    "laptop-8gb": Profile(8 * GiB, about="CPU laptop, 8 GB RAM"),
    "laptop-16gb": Profile(16 * GiB, about="CPU laptop, 16 GB RAM"),
    "laptop-32gb": Profile(32 * GiB, about="CPU laptop, 32 GB RAM"),
    "desktop-64gb": Profile(64 * GiB, about="CPU desktop, 64 GB RAM"),
    "gpu-16gb": Profile(32 * GiB, 16 * GiB, 1, about="one 16 GB GPU, 32 GB RAM"),
    "gpu-24gb": Profile(64 * GiB, 24 * GiB, 1, about="one 24 GB GPU, 64 GB RAM"),
    "gpu-48gb": Profile(128 * GiB, 48 * GiB, 1, about="one 48 GB GPU, 128 GB RAM"),
    "gpu-80gb": Profile(256 * GiB, 80 * GiB, 1, about="one 80 GB GPU, 256 GB RAM"),
    "2x-gpu-24gb": Profile(128 * GiB, 24 * GiB, 2, about="two 24 GB GPUs, 128 GB RAM"),
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(t|tb|tib|g|gb|gib|m|mb|mib)?\s*$", re.IGNORECASE)
_SCALE = {"t": 1024 * GiB, "g": GiB, "m": 2**20}


MAX_SIZE = 2**60  # an exabyte: beyond any machine; .inf and 400 nines are no size (ninth probe)
MAX_GPUS = 64  # as the pages' ?gpus=: one object is built per GPU (10 M of them took 52 s)


def parse_size(text: str | float | int) -> int:
    """'16GB', '16 GiB', '512M', '1.5T' or a bare number of GB -> bytes."""
    if isinstance(text, bool):
        raise FitError(f"not a memory size: {text!r}", hint="write e.g. 16GB, 512MB or 1.5TB")
    if isinstance(text, int | float):
        if isinstance(text, int) and abs(text) > MAX_SIZE:  # float() of 400 digits overflows
            raise FitError(f"not a memory size: {str(text)[:40]!r}", hint="write e.g. 16GB")
        size = float(text) * GiB
    else:
        m = _SIZE.match(str(text)[:100])
        if not m:
            raise FitError(f"not a memory size: {str(text)[:40]!r}", hint="write e.g. 16GB")
        size = float(m.group(1)) * _SCALE[(m.group(2) or "g")[0].lower()]
    if not 0 < size <= MAX_SIZE:  # NaN fails this too
        raise FitError(
            f"not a memory size: {str(text)[:40]!r}", hint="write e.g. 16GB, 512MB or 1.5TB"
        )
    return int(size)


def _gpu_count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GPUS:
        raise FitError(f"{where}gpus must be a whole number from 0 to {MAX_GPUS}, not {value!r}")
    return value


@dataclass(frozen=True)
class Target:
    """A named machine to judge fit for; `here` is this very machine."""

    name: str
    memory_bytes: int | None
    gpu_bytes: int | None = None
    gpus: int = 0
    bandwidth_gbs: float | None = None
    here: bool = False

    def describe(self) -> str:
        """'laptop-16gb (16.0 GB RAM)', or the shape alone for a target without a name."""
        if self.here:
            return "this machine"
        parts = [f"{self.memory_bytes / GiB:.1f} GB RAM"] if self.memory_bytes else []
        if self.gpu_bytes and self.gpus:
            parts.append(f"{self.gpus} x {self.gpu_bytes / GiB:.1f} GB GPU")
        shape = " + ".join(parts)
        return f"{self.name} ({shape})" if self.name else shape

    def memory(self) -> Any:
        """As catalog.fit.MachineMemory: the target's memory, all of it available."""
        from openscout.catalog.fit import GPU, MachineMemory, machine_memory

        if self.here:
            return machine_memory()
        gpus = [GPU(f"GPU {i}", self.gpu_bytes, self.gpu_bytes) for i in range(self.gpus)]
        return MachineMemory(self.memory_bytes, self.memory_bytes, gpus if self.gpu_bytes else [])


HERE = Target("this machine", None, here=True)


def _profile_from(name: str, raw: Any, path: Path) -> Profile:
    if not isinstance(raw, dict) or "memory" not in raw:
        raise FitError(f"{path}: machine {name!r} needs at least 'memory' (e.g. memory: 16GB)")
    unknown = set(raw) - {"memory", "gpu", "gpus", "bandwidth", "about"}
    if unknown:
        raise FitError(
            f"{path}: machine {name!r} has unknown keys {sorted(unknown)}",
            hint="known: memory, gpu, gpus, bandwidth (GB/s), about",
        )
    where = f"{path}: machine {name!r}: "
    try:
        gpu = parse_size(raw["gpu"]) if raw.get("gpu") is not None else None
        memory = parse_size(raw["memory"])
    except FitError as e:  # name the file and the machine, not only the value
        raise FitError(where + e.message, hint=e.hint) from e
    gpus = _gpu_count(raw.get("gpus", 1 if gpu else 0), where)
    bw = raw.get("bandwidth")
    if bw is not None and (
        isinstance(bw, bool) or not isinstance(bw, int | float) or not 0 < bw < 1e6
    ):
        raise FitError(where + "bandwidth must be a number of GB/s")
    return Profile(memory, gpu, gpus, bw, str(raw.get("about", "")))


# A machines file names a few machines; 64 KiB holds thousands. Read once per change: the
# web pages resolve `?machine=` on every request, and 240,000 entries in 6 MB took 26 s
# each time (eleventh probe)
MAX_MACHINES_BYTES = 64 * 2**10
_READ: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}
_READ_LOCK = threading.Lock()


def _user_machines(home: Path | None) -> tuple[Path, dict[str, Any]]:
    """The entries of the user's machines.yaml, by lower-cased name, not yet checked: one
    bad machine should not stop `fit` on another (tenth probe)."""
    path = (home or Path()) / MACHINES_FILE
    if home is None or not path.is_file():
        return path, {}
    try:
        stat = path.stat()
    except OSError:
        return path, {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _READ_LOCK:
        seen = _READ.get(path)
        if seen is not None and seen[0] == stamp:
            return path, seen[1]
        from openscout import yamlfile

        data = yamlfile.load_file(path, MAX_MACHINES_BYTES) or {}
        machines = data.get("machines") if isinstance(data, dict) else None
        if not isinstance(machines, dict):
            raise FitError(f"{path}: expected a 'machines:' mapping of name -> memory, gpu, gpus")
        entries = {str(k).strip().lower(): v for k, v in machines.items()}
        _READ[path] = (stamp, entries)
        return path, entries


def named_profile(machine: str, home: Path | None = None) -> tuple[str, Profile]:
    """A machine the user names: theirs (machines.yaml) first, then the built-in ones."""
    path, machines = _user_machines(home)
    key = machine.strip().lower()
    if key in machines:
        return key, _profile_from(key, machines[key], path)
    if key in PROFILES:
        return key, PROFILES[key]
    raise FitError(
        f"unknown machine {machine[:60]!r}",
        hint=f"known: {', '.join([*PROFILES, *machines])}; or define it in {MACHINES_FILE} in"
        " the data dir, or give --memory/--gpu",
    )


def resolve_target(
    *,
    machine: str | None = None,
    memory: str | None = None,
    gpu: str | None = None,
    gpus: int | None = None,
    home: Path | None = None,
) -> Target:
    """The target the options name: a profile, overridden by --memory/--gpu/--gpus; with
    none of them, this machine."""
    if not (machine or memory or gpu or gpus):
        return HERE
    base = Profile(0)
    name = ""
    if machine:
        name, base = named_profile(machine, home)
    mem = parse_size(memory) if memory else base.memory_bytes
    gpu_b = parse_size(gpu) if gpu else base.gpu_bytes
    count = gpus if gpus is not None else (base.gpus or (1 if gpu_b else 0))
    if count and not gpu_b:
        raise FitError("--gpus needs --gpu SIZE (memory per GPU) or a machine with GPUs")
    count = _gpu_count(count, "--")
    if not mem:
        mem = 16 * GiB if gpu_b else 0  # a GPU box always has some RAM; 16 GB is modest
    overridden = bool(memory or gpu or gpus is not None)
    label = name + (", adjusted" if name and overridden else "")
    return Target(label, mem, gpu_b, count, base.bandwidth_gbs)
