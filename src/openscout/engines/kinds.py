"""The engine kinds openscout knows, by name: the only place that tells kinds apart.

Adding a kind means writing its EngineKind (kind.py) in its own module and one line in
BUILT_IN below; a test or a plugin may also `register_kind` its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openscout.engines.kind import EngineKind
from openscout.engines.llamacpp_kind import LlamaCppKind
from openscout.engines.mock_kind import MockKind
from openscout.engines.openai_kind import OpenAIKind
from openscout.errors import ConfigError

if TYPE_CHECKING:
    from openscout.engines.spec import ModelSpec

BUILT_IN: tuple[EngineKind, ...] = (LlamaCppKind(), OpenAIKind(), MockKind())

_kinds: dict[str, EngineKind] = {k.name: k for k in BUILT_IN}


def register_kind(kind: EngineKind) -> None:
    _kinds[kind.name] = kind


def unregister_kind(name: str) -> None:
    if any(k.name == name for k in BUILT_IN):
        raise ConfigError(f"{name!r} is a built-in engine kind")
    _kinds.pop(name, None)


def known_kinds() -> list[str]:
    return list(_kinds)


def kind_of(spec: ModelSpec | str) -> EngineKind:
    name = spec if isinstance(spec, str) else spec.engine
    kind = _kinds.get(name)
    if kind is None:
        raise ConfigError(f"unknown engine {name!r}", hint=f"known: {', '.join(_kinds)}")
    return kind
