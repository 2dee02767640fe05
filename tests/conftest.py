"""Shared fixtures. Every test gets its own data dir; real models load once per session."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from openscout.config import Settings


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The assembled Gemma file (250 MB) is made once per session, not once per test.
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, shared_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "openscout-home"
    monkeypatch.setenv("OPENSCOUT_HOME", str(home))
    monkeypatch.setenv("OPENSCOUT_MODELS_DIR", str(shared_models_dir))
    monkeypatch.delenv("OPENSCOUT_API_KEY", raising=False)
    return home


@pytest.fixture
def settings(isolated_home: Path) -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from openscout.engines.bundled import smollm2_path

    return smollm2_path()


@pytest.fixture(scope="session")
def gemma_path(shared_models_dir: Path) -> Path:
    from openscout.engines.bundled import gemma3_path

    return gemma3_path(shared_models_dir)


@pytest.fixture(scope="session")
def smollm2_engine(smollm2_path: Path) -> Iterator[object]:
    from openscout.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine("smollm2-135m-instruct", smollm2_path, n_ctx=2048)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def gemma_engine(gemma_path: Path) -> Iterator[object]:
    from openscout.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine("gemma-3-270m", gemma_path, n_ctx=2048, prompt_format="completion")
    yield engine
    engine.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cli_env(isolated_home: Path, shared_models_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["OPENSCOUT_HOME"] = str(isolated_home)
    env["OPENSCOUT_MODELS_DIR"] = str(shared_models_dir)
    return env
