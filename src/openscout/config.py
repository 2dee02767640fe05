"""Settings, read from the environment (prefix OPENSCOUT_) with sensible defaults.

The data dir holds everything openscout writes: the model registry, the SQLite store,
assembled model files and caches. Nothing is written outside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_home() -> Path:
    return Path(os.environ.get("OPENSCOUT_HOME") or Path.home() / ".openscout").expanduser()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_default_home)
    host: str = field(default_factory=lambda: os.environ.get("OPENSCOUT_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("OPENSCOUT_PORT", "8765")))
    api_key: str | None = field(default_factory=lambda: os.environ.get("OPENSCOUT_API_KEY"))
    threads: int | None = field(
        default_factory=lambda: (
            int(os.environ["OPENSCOUT_THREADS"]) if os.environ.get("OPENSCOUT_THREADS") else None
        )
    )
    # Upper bound on the bytes of model files kept loaded at once (the engine cache).
    model_cache_bytes: int = field(
        default_factory=lambda: int(os.environ.get("OPENSCOUT_MODEL_CACHE_MB", "2048")) * 2**20
    )

    @property
    def db_path(self) -> Path:
        return self.home / "openscout.db"

    @property
    def models_file(self) -> Path:
        return self.home / "models.yaml"

    @property
    def models_dir(self) -> Path:
        # Assembled model files may live apart from the rest (tests share one copy).
        override = os.environ.get("OPENSCOUT_MODELS_DIR")
        return Path(override).expanduser() if override else self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def ensure(self) -> Settings:
        # the data dir holds chats, prompts and results: the user's alone when we make it
        # (an existing one is left as its owner set it)
        if not self.home.is_dir():
            self.home.parent.mkdir(parents=True, exist_ok=True)
            self.home.mkdir(mode=0o700, exist_ok=True)
        return self


def get_settings() -> Settings:
    """Fresh settings each call, so tests that change OPENSCOUT_HOME see it at once."""
    return Settings()
