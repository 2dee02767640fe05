"""The `openai` engine kind: any OpenAI-compatible server (vLLM, TGI, Ollama, ...)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from openscout.engines.http_bounds import public_url
from openscout.engines.kind import EngineKind, FileDigest
from openscout.engines.openai_wire import is_number
from openscout.errors import ConfigError
from openscout.loopback import reaches_this_machine

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
            **checked_options(spec),
        )

    def on_this_machine(self, spec: ModelSpec) -> bool:
        try:
            host = urlparse(spec.base_url or "").hostname
        except ValueError:
            return False
        return host is not None and reaches_this_machine(host)

    def validate(self, spec: ModelSpec) -> ModelSpec:
        checked_options(spec)
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
        # the URL as shown, and a digest of all of it: `user:password@` and the query are
        # sent and may choose another deployment, so they tell models apart (38th probe),
        # but the results database is shared as "my results" and held them in clear (37th)
        # and the registered id: a server answering any model name with what it loaded
        # (llama-server) gave a model registered after a swap the old one's answers and
        # score (40th probe); one registration is one model as far as openscout can tell
        url = spec.base_url or ""
        whole = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        # the registration tag and the log-prob flag too: a model removed and added again
        # after a swap (42nd probe), or registered anew --no-logprobs because its log-probs
        # are wrong, is not answered from what the earlier registration cached
        identity = f"openai:{public_url(url).rstrip('/')}#{whole}|{spec.model or spec.id}|{spec.id}"
        if spec.registration:
            identity += f"|{spec.registration}"
        # and whether its template opens thinking, which decides how its answers are read:
        # set in models.yaml by hand, the cached answers kept being read the old way (44th)
        if spec.options.get("opens_thinking") is True:
            identity += "|opens-thinking"
        return identity + ("|no-logprobs" if spec.loglikelihood is False else "")


def checked_options(spec: ModelSpec) -> dict[str, Any]:
    """The options a models.yaml entry may set for this engine, each of its kind: a timeout
    of .inf or "abc", or a `transport`, were 500s at the first request (twelfth probe)."""
    options = dict(spec.options)
    unknown = set(options) - {"timeout_s", "max_parallel", "stream", "opens_thinking"}
    timeout = options.get("timeout_s", 120.0)
    parallel = options.get("max_parallel", 8)
    if (
        unknown
        or not is_number(timeout)
        or not 0 < timeout <= 24 * 3600
        or not is_number(parallel)
        or not 1 <= parallel <= 1024
        or parallel != int(parallel)
        or not isinstance(options.get("stream", True), bool)
        or not isinstance(options.get("opens_thinking", False), bool)
    ):
        raise ConfigError(
            f"model {spec.id!r}: options {sorted(options)[:10]} are not what the openai engine"
            " takes",
            hint="timeout_s: seconds (up to a day), max_parallel: 1 to 1024, stream: true/false,"
            " opens_thinking: true/false",
        )
    if "max_parallel" in options:
        options["max_parallel"] = int(parallel)
    return options
