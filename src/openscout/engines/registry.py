"""Engine name -> engine, with heavy imports done lazily, and a bounded cache of loaded models.

Loading a model is paid once per process: engines stay in an LRU cache bounded by the bytes
of their model files (Settings.model_cache_bytes); the least recently used is closed first.
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from collections.abc import Callable

from openscout.config import Settings
from openscout.engines.base import Engine
from openscout.errors import ConfigError
from openscout.models import ModelSpec, resolve_path


def _make_llamacpp(spec: ModelSpec, settings: Settings) -> tuple[Engine, int]:
    from openscout.engines.llamacpp import LlamaCppEngine

    path = resolve_path(spec, settings)
    engine = LlamaCppEngine(
        spec.id,
        path,
        n_ctx=spec.n_ctx,
        n_threads=settings.threads,
        prompt_format=spec.prompt_format,
    )
    return engine, path.stat().st_size


def _make_openai(spec: ModelSpec, settings: Settings) -> tuple[Engine, int]:
    from openscout.engines.openai_http import OpenAIEngine

    if not spec.base_url:
        raise ConfigError(f"model {spec.id!r} needs a base_url")
    engine = OpenAIEngine(
        spec.id,
        spec.base_url,
        model=spec.model,
        api_key_env=spec.api_key_env,
        loglikelihood=spec.loglikelihood,  # None: probe the server once
        **spec.options,
    )
    return engine, 0


def _make_mock(spec: ModelSpec, settings: Settings) -> tuple[Engine, int]:
    from openscout.engines.mock import MockEngine

    return MockEngine(spec.id, **spec.options), 0


def _make_vllm(spec: ModelSpec, settings: Settings) -> tuple[Engine, int]:
    try:
        from openscout.engines.vllm import VLLMEngine  # type: ignore[import-not-found]
    except ImportError as e:
        raise ConfigError(
            "the vllm engine needs the optional extra: pip install 'openscout[vllm]' on a GPU machine"
        ) from e
    return VLLMEngine(spec.id, spec.path or spec.model or spec.id, **spec.options), 0


FACTORIES: dict[str, Callable[[ModelSpec, Settings], tuple[Engine, int]]] = {
    "llamacpp": _make_llamacpp,
    "openai": _make_openai,
    "mock": _make_mock,
    "vllm": _make_vllm,
}


def load_engine(spec: ModelSpec, settings: Settings) -> Engine:
    """A new engine for spec, outside the cache (the caller closes it). Benchmarks use it so
    that loading happens inside their measurement."""
    factory = FACTORIES.get(spec.engine)
    if factory is None:
        raise ConfigError(f"unknown engine {spec.engine!r}", hint=f"known: {', '.join(FACTORIES)}")
    return factory(spec, settings)[0]


class EngineCache:
    def __init__(self) -> None:
        self._engines: OrderedDict[str, tuple[Engine, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ModelSpec, settings: Settings) -> Engine:
        key = spec.model_dump_json()
        with self._lock:
            if key in self._engines:
                self._engines.move_to_end(key)
                return self._engines[key][0]
            factory = FACTORIES.get(spec.engine)
            if factory is None:
                raise ConfigError(
                    f"unknown engine {spec.engine!r}", hint=f"known: {', '.join(FACTORIES)}"
                )
            engine, size = factory(spec, settings)
            self._engines[key] = (engine, size)
            self._evict(settings.model_cache_bytes, keep=key)
            return engine

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
