"""EngineKind: everything openscout knows about one kind of engine, in one place.

A kind says how to create its engine from a ModelSpec, how to check a new spec before it is
saved, what makes two specs the same model for the result cache, which file on this machine
holds the weights (if any), and whether the model runs in this process. Callers ask the kind
(`kinds.kind_of(spec)`) instead of testing `spec.engine` against names.
Capabilities of a running engine (lanes, optional fast paths) are declared by the engine
itself: `Capabilities` and the protocols in base.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from openscout.config import Settings
    from openscout.engines.base import Engine
    from openscout.engines.spec import ModelSpec

FileDigest = Callable[[Path], str]  # a stable digest of a file's content (evals/store.py)


class EngineKind:
    name: ClassVar[str]
    # The model runs in this process on this machine's memory: fit estimates, memory
    # footprints and bandwidth figures apply to it. Remote and scripted kinds do not.
    runs_here: ClassVar[bool] = False

    def on_this_machine(self, spec: ModelSpec) -> bool:
        """Whether the model's time is this machine's, so its price per hour applies (in this
        process, or a server on a loopback address); a server elsewhere runs on hardware
        whose price openscout cannot know."""
        return True

    def create(self, spec: ModelSpec, settings: Settings) -> Engine:
        raise NotImplementedError

    def validate(self, spec: ModelSpec) -> ModelSpec:
        """Check what can be checked without loading; may normalise the spec (e.g. a path)."""
        return spec

    def local_file(self, spec: ModelSpec, settings: Settings) -> Path | None:
        """The file on this machine that holds the model's weights, if it has one."""
        return None

    def cache_identity(self, spec: ModelSpec, settings: Settings, digest: FileDigest) -> str:
        """What makes two specs the same model for cached results."""
        return f"{self.name}:" + json.dumps(
            {"id": spec.id, "options": spec.options}, sort_keys=True
        )

    def loaded_identity(self, spec: ModelSpec) -> str:
        """Beyond the spec, what makes a loaded engine still the spec's model (cheap: asked
        at every lookup); "" when the spec alone says it."""
        return ""

    def held_bytes(self, spec: ModelSpec, settings: Settings) -> int:
        """Memory a loaded engine holds, for the bound on cached engines."""
        path = self.local_file(spec, settings)
        return path.stat().st_size if path is not None and path.exists() else 0
