"""The `mock` engine kind: a scripted, deterministic engine for tests and demos."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openscout.engines.kind import EngineKind

if TYPE_CHECKING:
    from openscout.config import Settings
    from openscout.engines.base import Engine
    from openscout.engines.spec import ModelSpec


class MockKind(EngineKind):
    name = "mock"

    def create(self, spec: ModelSpec, settings: Settings) -> Engine:
        from openscout.engines.mock import BatchingMockEngine, MockEngine

        options = dict(spec.options)
        batching = bool(options.pop("batch", False))  # declares the batch path, as llama.cpp has
        return (BatchingMockEngine if batching else MockEngine)(spec.id, **options)
