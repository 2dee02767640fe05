"""The `openai` engine kind: any OpenAI-compatible server (vLLM, TGI, Ollama, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from openscout.engines.kind import EngineKind, FileDigest
from openscout.errors import ConfigError

if TYPE_CHECKING:
    from openscout.config import Settings
    from openscout.engines.base import Engine
    from openscout.engines.spec import ModelSpec


class OpenAIKind(EngineKind):
    name = "openai"

    def create(self, spec: ModelSpec, settings: Settings) -> Engine:
        from openscout.engines.openai_http import OpenAIEngine

        if not spec.base_url:
            raise ConfigError(f"model {spec.id!r} needs a base_url")
        return OpenAIEngine(
            spec.id,
            spec.base_url,
            model=spec.model,
            api_key_env=spec.api_key_env,
            loglikelihood=spec.loglikelihood,  # None: probe the server once
            **spec.options,
        )

    def validate(self, spec: ModelSpec) -> ModelSpec:
        try:
            url = urlparse(spec.base_url or "")
            url.port  # noqa: B018 - read for its check: a port of 'abc' or 99999 raises
        except ValueError as e:  # '[::1' (an unclosed IPv6 address), a bad port
            raise ConfigError(
                f"{(spec.base_url or '')[:200]!r} is not a valid URL ({e})",
                hint="e.g. http://127.0.0.1:8000/v1",
            ) from e
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(
                f"{spec.base_url!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8000/v1"
            )
        return spec

    def cache_identity(self, spec: ModelSpec, settings: Settings, digest: FileDigest) -> str:
        return f"openai:{(spec.base_url or '').rstrip('/')}|{spec.model or spec.id}"
