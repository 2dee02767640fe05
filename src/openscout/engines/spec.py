"""ModelSpec: one registered model, as the engines need it to open it.

"spec" means this and nothing else in openscout: an entry of the user's model registry
(models.py) naming its engine kind, where the model lives and how to run it. Which engine
kinds exist is the kind registry's business (kinds.py), checked when a spec is read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openscout.engines.kinds import known_kinds

MAX_CONTEXT = 1_048_576  # tokens: the longest context any model offers, and then some


# a machine's price an hour, at most: 1e308 passed as finite and overflowed every cost to inf,
# "tied" with any other (47th probe); no machine costs a million dollars an hour
MAX_PRICE_PER_HOUR = 1e6


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # price .inf: "$inf/h"

    id: str
    engine: str  # an engine kind's name (kinds.py)
    path: str | None = None  # a local file (llamacpp)
    lora: str | None = None  # llamacpp: a GGUF LoRA adapter applied on the base file (tune)
    base_url: str | None = None  # openai
    model: str | None = None  # remote model name (openai), defaults to id
    api_key_env: str | None = None  # name of the env var holding the key; keys never stored
    prompt_format: Literal["chat", "completion"] = "chat"
    n_ctx: int = Field(default=2048, ge=128, le=MAX_CONTEXT)
    loglikelihood: bool | None = None  # openai: whether the endpoint supports echo+logprobs
    license: str | None = None
    catalog_id: str | None = None  # Hugging Face id in the catalog, for openness and fit
    description: str | None = None
    price_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE_PER_HOUR)
    bundled: bool = False
    options: dict[str, Any] = Field(default_factory=dict)  # engine-specific extras (mock script)
    # made by each `models add` of a remote model: removed and added again under its id, it
    # is another registration, and its answers are asked anew (42nd probe)
    registration: str | None = Field(default=None, max_length=64)

    @field_validator(
        "id", "path", "lora", "base_url", "model", "api_key_env", "license", "catalog_id",
        "description",
    )  # fmt: skip
    @classmethod
    def _utf8(cls, value: str | None) -> str | None:
        """Text the registry can hold: a file name that is not UTF-8 arrives with lone
        surrogates, which YAML writes as escapes its reader refuses (a models.yaml no command
        could read, nor repair; twenty-second probe)."""
        if value is not None and any("\ud800" <= c <= "\udfff" for c in value):
            raise ValueError("is not UTF-8 text (a file name from another system?): rename it")
        return value

    @field_validator("engine")
    @classmethod
    def _known_kind(cls, name: str) -> str:
        known = known_kinds()
        if name not in known:
            raise ValueError(f"unknown engine {name!r}; known: {', '.join(known)}")
        return name
