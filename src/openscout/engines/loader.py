"""Opening engines: a new one for a spec, or a loaded one from a bounded cache.

Loading a model is paid once per process: engines stay in an LRU cache bounded by the memory
their kinds say they hold (Settings.model_cache_bytes); the least recently used is closed first.
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict

from openscout.config import Settings
from openscout.engines.base import Engine
from openscout.engines.kind import EngineKind
from openscout.engines.kinds import kind_of
from openscout.engines.spec import ModelSpec
from openscout.errors import ConfigError


def load_engine(spec: ModelSpec, settings: Settings) -> Engine:
    """A new engine for spec, outside the cache (the caller closes it). Benchmarks use it so
    that loading happens inside their measurement."""
    return _create(kind_of(spec), spec, settings)


def _create(kind: EngineKind, spec: ModelSpec, settings: Settings) -> Engine:
    """The kind's engine; an entry the kind cannot build from (a port of 'abc', an option
    of the wrong type or name, written by hand into models.yaml) is a ConfigError naming
    the model, not a 500 or "unexpected error" (eleventh probe)."""
    try:
        return kind.create(spec, settings)
    except (TypeError, ValueError) as e:
        said = str(e) if len(str(e)) <= 200 else str(e)[:200] + "..."
        raise ConfigError(
            f"model {spec.id!r} cannot be set up from its entry: {said}",
            hint="check it with `openscout models show ID`; add it again with `models add`",
        ) from e


class EngineCache:
    def __init__(self) -> None:
        self._engines: OrderedDict[str, tuple[Engine, int]] = OrderedDict()
        self._lock = threading.Lock()  # the dict: held only to look up and store
        # one model opened at a time (memory peaks as before), but a loaded model is never
        # kept waiting on it: one model's first load (its load check up to 300 s) stalled
        # every ready model's requests (twenty-first probe)
        self._opening = threading.Lock()

    def get(self, spec: ModelSpec, settings: Settings) -> Engine:
        key = spec.model_dump_json()
        found = self._cached(key)
        if found is not None:
            return found
        with self._opening:
            found = self._cached(key)  # opened while this request waited
            if found is not None:
                return found
            kind = kind_of(spec)
            engine = _create(kind, spec, settings)
            with self._lock:
                self._engines[key] = (engine, kind.held_bytes(spec, settings))
                self._evict(settings.model_cache_bytes, keep=key)
            return engine

    def _cached(self, key: str) -> Engine | None:
        with self._lock:
            if key not in self._engines:
                return None
            self._engines.move_to_end(key)
            return self._engines[key][0]

    def _evict(self, bound: int, keep: str) -> None:
        while sum(s for _, s in self._engines.values()) > bound and len(self._engines) > 1:
            key = next(k for k in self._engines if k != keep)
            engine, _ = self._engines.pop(key)
            engine.close()

    def clear(self) -> None:
        with self._lock:
            for engine, _ in self._engines.values():
                engine.close()
            self._engines.clear()


_cache = EngineCache()
# Close loaded models before interpreter shutdown tears down the modules llama.cpp's
# destructors need (otherwise a TypeError is printed at exit).
atexit.register(_cache.clear)


def open_engine(spec: ModelSpec, settings: Settings) -> Engine:
    return _cache.get(spec, settings)


def clear_cache() -> None:
    _cache.clear()
