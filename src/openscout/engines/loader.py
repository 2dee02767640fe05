"""Opening engines: a new one for a spec, or a loaded one from a bounded cache.

Loading a model is paid once per process: engines stay in an LRU cache bounded by the memory
their kinds say they hold (Settings.model_cache_bytes); the least recently used is closed first.
An engine a request holds (`hold` ... `release`) is closed only when its last holder lets go:
the server closed a model that queued requests went on to use, and llama.cpp read freed
memory (twenty-third probe: SIGABRT, SIGSEGV).
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


def _key(spec: ModelSpec) -> str:
    return spec.model_dump_json() + kind_of(spec).loaded_identity(spec)


class EngineCache:
    def __init__(self) -> None:
        self._engines: OrderedDict[str, tuple[Engine, int]] = OrderedDict()
        self._lock = threading.Lock()  # the dict: held only to look up and store
        # one model opened at a time (memory peaks as before), but a loaded model is never
        # kept waiting on it: one model's first load (its load check up to 300 s) stalled
        # every ready model's requests (twenty-first probe)
        self._opening = threading.Lock()
        self._holders: dict[int, int] = {}  # id(engine) -> requests holding it
        self._retired: dict[int, Engine] = {}  # evicted while held: closed at the last release

    def get(self, spec: ModelSpec, settings: Settings, hold: bool = False) -> Engine:
        """The spec's engine; with `hold`, kept open until `release` (taken atomically: no
        eviction can come between)."""
        key = _key(spec)
        found = self._cached(key, hold)
        if found is not None:
            return found
        with self._opening:
            found = self._cached(key, hold)  # opened while this request waited
            if found is not None:
                return found
            kind = kind_of(spec)
            engine = _create(kind, spec, settings)
            with self._lock:
                self._engines[key] = (engine, kind.held_bytes(spec, settings))
                if hold:
                    self._holders[id(engine)] = self._holders.get(id(engine), 0) + 1
                unused = self._evict(settings.model_cache_bytes, keep=key)
            for old in unused:  # outside the lock: lookups of loaded models never wait on it
                old.close()
            return engine

    def lookup(self, spec: ModelSpec, hold: bool = False) -> Engine | None:
        """The spec's engine if it is loaded; nothing is opened (cheap: a dict lookup)."""
        return self._cached(_key(spec), hold)

    def holds(self, engine: Engine) -> bool:
        """Whether engine is still open here (loaded, or evicted but held by a request)."""
        with self._lock:
            return id(engine) in self._retired or any(
                e is engine for e, _ in self._engines.values()
            )

    def _cached(self, key: str, hold: bool) -> Engine | None:
        with self._lock:
            if key not in self._engines:
                return None
            self._engines.move_to_end(key)
            engine = self._engines[key][0]
            if hold:
                self._holders[id(engine)] = self._holders.get(id(engine), 0) + 1
            return engine

    def release(self, engine: Engine) -> None:
        with self._lock:
            left = self._holders.get(id(engine), 0) - 1
            if left > 0:
                self._holders[id(engine)] = left
                return
            self._holders.pop(id(engine), None)
            retired = self._retired.pop(id(engine), None)
        if retired is not None:
            retired.close()

    def _evict(self, bound: int, keep: str) -> list[Engine]:
        """Drop the least recently used until within the bound; those nobody holds are
        returned, to be closed (held ones are closed by their last holder)."""
        unused = []
        while sum(s for _, s in self._engines.values()) > bound and len(self._engines) > 1:
            key = next(k for k in self._engines if k != keep)
            engine, _ = self._engines.pop(key)
            if self._holders.get(id(engine)):
                self._retired[id(engine)] = engine
            else:
                unused.append(engine)
        return unused

    def clear(self) -> None:
        with self._lock:
            for engine in [e for e, _ in self._engines.values()] + list(self._retired.values()):
                engine.close()
            self._engines.clear()
            self._retired.clear()
            self._holders.clear()


_cache = EngineCache()
# Close loaded models before interpreter shutdown tears down the modules llama.cpp's
# destructors need (otherwise a TypeError is printed at exit).
atexit.register(_cache.clear)


def open_engine(spec: ModelSpec, settings: Settings, hold: bool = False) -> Engine:
    """The spec's engine from the cache. With `hold`, it stays open until `release_engine`
    even if evicted meanwhile (a request in flight)."""
    return _cache.get(spec, settings, hold)


def loaded_engine(spec: ModelSpec, hold: bool = False) -> Engine | None:
    """The spec's engine if the cache holds it loaded, else None (nothing is opened)."""
    return _cache.lookup(spec, hold)


def still_open(engine: Engine) -> bool:
    """Whether the cache still holds engine open (not evicted and closed)."""
    return _cache.holds(engine)


def release_engine(engine: Engine) -> None:
    _cache.release(engine)


def clear_cache() -> None:
    _cache.clear()
