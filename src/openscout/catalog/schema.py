"""The strict schema of the curated catalog (package data, `catalog/data/*.yaml`).

One YAML file per family or organisation:

    version: 2
    defaults: {organisation: ..., family: ..., tasks: [...]}   # labels merged into each entry
    models:
      - id: org/name                    # the Hugging Face id
        name: ...
        released: 2024-09-19
        params_b: 7.24                  # total parameters, billions
        arch: {layers: 32, heads: 32, kv_heads: 8, head_dim: 128, context: 32768}
        ...
        checks:
          arch.context: {source: https://huggingface.co/org/name, quote: "Context length: 32k"}
        unverified: [released, params_b, ...]   # facts nobody has checked yet

Provenance (see provenance.py): every fact an entry states (released, params_b, licence,
languages, base model, each architecture number, each openness criterion) is either *checked*,
with a `checks` record naming the source read and a short quote or value from it, or listed
under `unverified`. Data files of `version: 2` must account for every fact this way; version 1
files still load, their unchecked facts shown as unverified. `card`, `sources`, `arch.source`
and each criterion's `source` remain the entry's general citations. Unknown is written as
unknown, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FileUrl,
    HttpUrl,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from openscout.catalog.provenance import TOP_FACTS, Check, provenance_problems, stated_facts

Status = Literal["open", "partial", "closed", "unknown"]
Relation = Literal[
    "fine-tune", "continued-pretraining", "distillation", "quantization", "merge", "adapter"
]
CRITERIA: tuple[str, ...] = (
    "training_data",
    "weights",
    "evaluation_code",
    "training_code",
    "training_logs",
)
CRITERION_LABELS = {
    "training_data": "training datasets",
    "weights": "full model weights",
    "evaluation_code": "evaluation code",
    "training_code": "training / fine-tuning code",
    "training_logs": "training metrics and logs",
}
_MONTH = re.compile(r"(\d{4})-(\d{2})")  # a release date the source gives to the month
HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}\Z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evidence(_Strict):
    status: Status
    evidence: str = Field(min_length=3)
    # file: only in the user's own entries (version 1 files): a local fine-tune's data, code
    # and logs are on this machine (openscout tune)
    source: HttpUrl | FileUrl | None = None

    @field_validator("source")
    @classmethod
    def _local_only_for_users(
        cls, v: HttpUrl | FileUrl | None, info: ValidationInfo
    ) -> HttpUrl | FileUrl | None:
        if isinstance(v, FileUrl) and info.context and info.context.get("strict_provenance"):
            raise ValueError("a file: source belongs to the user's own entries, not curated data")
        return v

    @model_validator(mode="after")
    def _cited(self) -> Evidence:
        if self.status != "unknown" and self.source is None:
            raise ValueError(f"a {self.status!r} judgement needs a source URL")
        return self


def _unknown(what: str) -> Evidence:
    return Evidence(status="unknown", evidence=f"no public information found on the {what}")


class Openness(_Strict):
    """What the release itself publishes. For a derivative this describes its own stage only;
    what the base withholds is added by the assessment (openness.py)."""

    training_data: Evidence = Field(default_factory=lambda: _unknown("training data"))
    weights: Evidence = Field(default_factory=lambda: _unknown("weights"))
    evaluation_code: Evidence = Field(default_factory=lambda: _unknown("evaluation code"))
    training_code: Evidence = Field(default_factory=lambda: _unknown("training code"))
    training_logs: Evidence = Field(default_factory=lambda: _unknown("training logs"))


class Architecture(_Strict):
    type: Literal["dense", "moe"] = "dense"
    attention: Literal["mha", "mqa", "gqa", "mla", "unknown"] = "unknown"
    layers: int | None = Field(default=None, ge=1, le=1000)
    heads: int | None = Field(default=None, ge=1, le=1024)
    kv_heads: int | None = Field(default=None, ge=1, le=1024)
    head_dim: int | None = Field(default=None, ge=8, le=1024)
    hidden: int | None = Field(default=None, ge=64, le=65536)
    vocab: int | None = Field(default=None, ge=256, le=2_000_000)
    context: int | None = Field(default=None, ge=128, le=10_000_000)
    sliding_window: int | None = Field(default=None, ge=64)
    experts: int | None = Field(default=None, ge=2)
    active_experts: int | None = Field(default=None, ge=1)
    notes: str | None = None
    source: HttpUrl | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Architecture:
        if self.heads and self.kv_heads:
            if self.kv_heads > self.heads or self.heads % self.kv_heads:
                raise ValueError(f"kv_heads {self.kv_heads} must divide heads {self.heads}")
            implied = (
                "mha" if self.kv_heads == self.heads else "mqa" if self.kv_heads == 1 else "gqa"
            )
            if self.attention not in ("unknown", implied):
                raise ValueError(
                    f"attention {self.attention!r} contradicts heads={self.heads},"
                    f" kv_heads={self.kv_heads}"
                    f" (that is {implied!r})"
                )
        if (self.type == "moe") != (self.experts is not None):
            raise ValueError(
                "a mixture-of-experts model (type: moe) states `experts`, a dense one does not"
            )
        if self.experts and (self.active_experts is None or self.active_experts > self.experts):
            raise ValueError("active_experts must be given and at most experts")
        return self

    @property
    def has_numbers(self) -> bool:
        return any(
            v is not None
            for v in (
                self.layers,
                self.heads,
                self.kv_heads,
                self.head_dim,
                self.hidden,
                self.context,
            )
        )

    @property
    def attention_kind(self) -> str:
        if self.attention != "unknown" or not (self.heads and self.kv_heads):
            return self.attention
        return "mha" if self.kv_heads == self.heads else "mqa" if self.kv_heads == 1 else "gqa"


FACT_KEYS_TOP = frozenset(TOP_FACTS)
FACT_FIELDS = frozenset(
    {
        "name",
        "organisation",
        "family",
        "released",
        "params_b",
        "active_params_b",
        "license",
        "tasks",
        "languages",
        "domain",
        "base_model",
        "relation",
        "description",
    }
)


class ModelEntry(_Strict):
    id: str
    name: str = Field(min_length=1)
    organisation: str = Field(min_length=1)
    family: str = Field(min_length=1)
    released: dt.date | None = None
    # "month" when the source gives only the month (`released: 2024-12` in a data file):
    # `released` is then that month's first day, and it is shown as "2024-12", never as a day
    released_precision: Literal["day", "month"] = "day"
    params_b: float | None = Field(
        default=None, gt=0, le=5000, description="total parameters, billions"
    )
    active_params_b: float | None = Field(default=None, gt=0)
    arch: Architecture = Field(default_factory=Architecture)
    license: str = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    languages: list[str] = Field(default_factory=list)
    domain: str = "general"
    base_model: str | None = None
    relation: Relation | None = None
    description: str | None = None
    card: HttpUrl | None = None
    card_excerpt: str | None = None  # model-card text, kept to infer a missing base_model
    sources: dict[str, HttpUrl] = Field(default_factory=dict)
    openness: Openness = Field(default_factory=Openness)
    checks: dict[str, Check] = Field(
        default_factory=dict, description="fact key -> the source it was checked against"
    )
    unverified: list[str] = Field(
        default_factory=list, description="fact keys nobody has checked against a source yet"
    )
    origin: Literal["curated", "hub"] = "curated"

    @model_validator(mode="before")
    @classmethod
    def _month_precision(cls, data: object) -> object:
        # `released: 2024-12` (YAML reads it as text): the source names the month, not a day
        if isinstance(data, dict) and isinstance(data.get("released"), str):
            found = _MONTH.fullmatch(data["released"].strip())
            if found:
                year, month = int(found[1]), int(found[2])
                if not 1 <= month <= 12:
                    raise ValueError(f"released: month {month} does not exist")
                data = {**data, "released": dt.date(year, month, 1), "released_precision": "month"}
        return data

    @field_serializer("released")
    def _show_released(self, v: dt.date | None) -> object:
        if v is not None and self.released_precision == "month":
            return f"{v.year:04d}-{v.month:02d}"
        return v

    @property
    def released_text(self) -> str | None:
        """The release date as the source gives it: "2024-12-19", or "2024-12" for a month."""
        if self.released is None:
            return None
        if self.released_precision == "month":
            return f"{self.released.year:04d}-{self.released.month:02d}"
        return self.released.isoformat()

    @field_validator("id", "base_model")
    @classmethod
    def _hf_id(cls, v: str | None) -> str | None:
        if v is not None and not HF_ID.match(v):
            raise ValueError(f"{v!r} is not a Hugging Face id of the form org/name")
        return v

    @field_validator("tasks", "languages")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [x.strip().lower() for x in v]

    @field_validator("sources")
    @classmethod
    def _known_facts(cls, v: dict[str, HttpUrl]) -> dict[str, HttpUrl]:
        unknown = set(v) - FACT_FIELDS
        if unknown:
            raise ValueError(
                f"sources for unknown facts {sorted(unknown)}; known: {sorted(FACT_FIELDS)}"
            )
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_citations(cls, data: object) -> object:
        # The card and config.json are the natural sources; fill them from the id.
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            data = dict(data)
            data.setdefault("card", f"https://huggingface.co/{data['id']}")
            arch = data.get("arch")
            if isinstance(arch, dict) and "source" not in arch:
                data["arch"] = {
                    **arch,
                    "source": f"https://huggingface.co/{data['id']}/blob/main/config.json",
                }
        return data

    @model_validator(mode="after")
    def _provenance(self, info: ValidationInfo) -> ModelEntry:
        # Data files of version 2 (all package data) account for every fact they state.
        strict = bool(info.context and info.context.get("strict_provenance"))
        problems = provenance_problems(
            stated_facts(self.model_dump(include={*FACT_KEYS_TOP, "arch"})),
            self.checks,
            self.unverified,
            strict=strict,
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def provenance(self, fact: str) -> Check | None:
        """The check of one fact key, or None when the fact is unverified."""
        return self.checks.get(fact)

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        if (self.base_model is None) != (self.relation is None):
            raise ValueError("base_model and relation go together: give both or neither")
        if self.base_model == self.id:
            raise ValueError("a model cannot be its own base_model")
        if self.origin == "curated" and self.params_b is None:
            raise ValueError("params_b (total parameters, billions) is required")
        if self.arch.type == "moe" and self.active_params_b is None:
            raise ValueError("a mixture-of-experts model needs active_params_b")
        if self.active_params_b is not None and self.active_params_b > (self.params_b or 0):
            raise ValueError("active_params_b exceeds params_b")
        return self

    def source_of(self, fact: str) -> str:
        """The URL that supports one fact: its check, its own source, else the card."""
        if fact in self.checks:
            return str(self.checks[fact].source)
        if fact == "arch" and self.arch.source:
            return str(self.arch.source)
        return str(self.sources.get(fact) or self.card)

    @property
    def params(self) -> int | None:
        return round(self.params_b * 1e9) if self.params_b else None


class DataFile(_Strict):
    """version 1: provenance optional (facts without a check count as unverified);
    version 2: every stated fact is either checked or listed under `unverified`."""

    version: Literal[1, 2]
    defaults: dict[str, object] = Field(default_factory=dict)
    models: list[dict[str, object]] = Field(min_length=1)
