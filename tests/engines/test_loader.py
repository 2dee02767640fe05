"""The engine cache: a model being opened never keeps a loaded one waiting."""

from __future__ import annotations

import threading

import pytest

from openscout.config import Settings
from openscout.engines import loader
from openscout.engines.spec import ModelSpec


def test_a_loaded_model_answers_while_another_opens(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One model's first load (its load check up to 300 s) held the cache's lock, and every
    request to every ready model waited on it (twenty-first probe)."""
    cache = loader.EngineCache()
    ready, slow = ModelSpec(id="ready", engine="mock"), ModelSpec(id="slow", engine="mock")
    first = cache.get(ready, settings)
    opening, release = threading.Event(), threading.Event()
    real = loader._create

    def create(kind, spec, settings):  # type: ignore[no-untyped-def]
        if spec.id == "slow":
            opening.set()
            release.wait(30)
        return real(kind, spec, settings)

    monkeypatch.setattr(loader, "_create", create)
    opener = threading.Thread(target=cache.get, args=(slow, settings))
    opener.start()
    try:
        assert opening.wait(30)
        got: list[object] = []
        asker = threading.Thread(target=lambda: got.append(cache.get(ready, settings)))
        asker.start()
        asker.join(10)  # a deadline for a hang, not a speed figure: it returns at once
        assert got == [first], "a ready model waited for another model to open"
    finally:
        release.set()
        opener.join(30)
        cache.clear()


def test_a_ready_model_answers_while_many_others_open(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each opening waited in a thread of asyncio's shared executor (6 threads on two cores),
    and a ready model's lookup queued behind them: 0.37 s became 9 s while a dozen models
    opened (twenty-fourth probe)."""
    import asyncio

    from openscout.server.limits import Limits
    from openscout.server.pool import ModelPool
    from tests.evals.helpers import add_mock

    for model_id in ["ready"] + [f"slow{i}" for i in range(12)]:
        add_mock(settings, model_id)
    release = threading.Event()
    real = loader._create

    def create(kind, spec, settings):  # type: ignore[no-untyped-def]
        if spec.id.startswith("slow"):
            release.wait(60)
        return real(kind, spec, settings)

    monkeypatch.setattr(loader, "_create", create)
    pool = ModelPool(settings, Limits())

    async def ask() -> bool:
        await pool.engine("ready")
        openings = [asyncio.ensure_future(pool.engine(f"slow{i}")) for i in range(12)]
        await asyncio.sleep(0.2)  # every opening has its thread, waiting
        try:  # a deadline for a hang, not a speed figure: a lookup returns at once
            await asyncio.wait_for(pool.engine("ready"), 10)
            return True
        except TimeoutError:
            return False
        finally:
            release.set()
            await asyncio.gather(*openings)

    try:
        assert asyncio.run(ask()), "a ready model waited for other models' openings"
    finally:
        release.set()
        loader.clear_cache()


@pytest.mark.real_model
def test_a_file_replaced_at_the_same_path_is_opened_anew(
    settings: Settings,
    tmp_path,
    smollm2_path,  # type: ignore[no-untyped-def]
) -> None:
    """The cache knew a model by its registration alone: a file replaced at the same path
    and registered again was served from the old one while it stayed loaded (twenty-fifth
    probe). A loaded engine is known by its file's version too."""
    import os

    from tests.gguf_factory import copy_with_metadata

    path = copy_with_metadata(smollm2_path, tmp_path / "m.gguf", {})
    spec = ModelSpec(id="m", engine="llamacpp", path=str(path), n_ctx=256)
    try:
        first = loader.open_engine(spec, settings)
        assert loader.open_engine(spec, settings) is first  # unchanged: the same engine
        other = copy_with_metadata(smollm2_path, tmp_path / "new.gguf", {"general.name": "new"})
        os.replace(other, path)
        again = loader.open_engine(spec, settings)
        assert again is not first and again.header.get("general.name") == "new"
    finally:
        loader.clear_cache()
