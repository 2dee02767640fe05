"""Published benchmark results: what a leaderboard or a model's own card says a model scores.

A published score is a fact like any other catalog fact: it names the benchmark, the setting
it was run in (shots, metric, harness where the publisher states them), the date, the page it
was read from and a short quote or value from that page. It is never mixed with what openscout
measured on the user's machine: views label it "published", and the user's own results
"yours".

Two origins, merged (curated wins over imported for the same model, benchmark and publisher):

- curated: package data in `catalog/data/published/*.yaml`, checked against stored sources;
- imported: `openscout catalog import-results` (leaderboard_import.py) writes
  `<data dir>/published/imported.json`, read here so imports work offline afterwards.

    version: 1
    results:
      - model: Qwen/Qwen2.5-72B-Instruct
        benchmark: IFEval
        value: 86.38
        scale: 100
        setting: 0-shot; strict accuracy (prompt + instruction level), normalised
        shots: 0
        metric: strict accuracy
        harness: lm-evaluation-harness (Open LLM Leaderboard v2)
        publisher: Open LLM Leaderboard v2
        date: 2024-10-16
        source: https://...
        quote: "ifeval_raw,ifeval_norm ... 0.863837949972739,86.3837949972739"
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, field_validator

from openscout import yamlfile
from openscout.catalog.schema import HF_ID
from openscout.errors import DataFileError

Origin = Literal["curated", "imported"]
IMPORT_FORMAT_VERSION = 1
# models one imported cache may hold: the Open LLM Leaderboard v2 export has about 4,600, so
# twice its size and more; at six scores a model the cache is then about 30 MB
MAX_IMPORTED_MODELS = 10_000
# what import-results writes at most (it refuses to write more) and read_imported reads: the
# largest allowed import writes about 30 MB (about 500 bytes a score), so twice that
MAX_IMPORTED_BYTES = 64 * 2**20
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?\Z")


class PublishedScore(BaseModel):
    """One published result of one model on one benchmark, with where it was read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    benchmark: str = Field(min_length=1, max_length=80)
    value: float
    scale: float = Field(default=100.0, gt=0, description="the best possible value (100 or 1)")
    setting: str = Field(min_length=3, max_length=300, description="shots, metric, harness")
    shots: int | None = Field(default=None, ge=0, le=100)
    metric: str | None = None
    harness: str | None = None
    publisher: str = Field(min_length=2, max_length=120)
    date: str = Field(description="the date the source gives: YYYY-MM-DD or YYYY-MM")
    source: AnyUrl
    quote: str = Field(min_length=1, max_length=400)
    note: str | None = None
    origin: Origin = "curated"

    @field_validator("model")
    @classmethod
    def _hf_id(cls, v: str) -> str:
        if not HF_ID.match(v):
            raise ValueError(f"{v!r} is not a Hugging Face id of the form org/name")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        if isinstance(v, dt.date):  # YAML reads 2024-10-16 as a date
            return v.isoformat()
        if not isinstance(v, str) or not _DATE.match(v):
            raise ValueError(f"date must be YYYY-MM-DD or YYYY-MM, got {v!r}")
        return v

    @field_validator("source")
    @classmethod
    def _web_or_file(cls, v: AnyUrl) -> AnyUrl:
        if v.scheme not in ("http", "https", "file"):
            raise ValueError(f"a source is an http(s) page or, for imports, a file; got {v}")
        return v

    @property
    def percent(self) -> float:
        """The value on a 0-100 scale, so scores from different publishers line up."""
        return self.value * 100.0 / self.scale

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model.lower(), self.benchmark.lower(), self.publisher.lower())

    def label(self) -> str:
        return f"{self.benchmark} ({self.publisher})"


class PublishedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    results: list[dict[str, Any]] = Field(min_length=1)


def parse_file(path: str, text: str) -> list[PublishedScore]:
    """One curated data file; a fault names the file, the line and the field."""
    root = yamlfile.compose(text, path).root
    raw = yamlfile.construct(root, path)
    data = yamlfile.validated(
        PublishedFile,
        raw,
        path,
        hint="a published-results file has `version: 1` and a `results` list",
    )
    out = []
    for i, item in enumerate(data.results):
        score = yamlfile.validated(
            PublishedScore,
            item,
            path,
            root,
            at=("results", i),
            entry=str(item.get("model", f"#{i + 1}")),
            hint="every score names benchmark, value, setting, publisher, date, source, quote",
        )
        if score.origin != "curated" or score.source.scheme == "file":
            raise DataFileError(
                "curated scores cite a web page (http or https) and have origin curated",
                path=path,
                entry=score.model,
                field="source",
            )
        out.append(score)
    return out


def _package_files() -> list[tuple[str, str]]:
    data = resources.files("openscout.catalog") / "data" / "published"
    files = sorted((p for p in data.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    return [
        (f"openscout/catalog/data/published/{p.name}", p.read_text(encoding="utf-8")) for p in files
    ]


@functools.lru_cache(maxsize=1)
def curated_scores() -> tuple[PublishedScore, ...]:
    """Every curated published score (validated once per process)."""
    seen: dict[tuple[str, str, str], str] = {}
    out: list[PublishedScore] = []
    for path, text in _package_files():
        for s in parse_file(path, text):
            if s.key in seen:
                raise DataFileError(
                    f"duplicate score for {s.benchmark!r} by {s.publisher!r}, first in {seen[s.key]}",
                    path=path,
                    entry=s.model,
                )
            seen[s.key] = path
            out.append(s)
    return tuple(out)


# ---- the imported cache ----------------------------------------------------------------------


def imported_path(home: Path) -> Path:
    return home / "published" / "imported.json"


# the last imported cache parsed: (path, (inode, mtime_ns, size), scores); views read it per
# request, and parsing 60,000 scores takes seconds
_imported_lock = threading.Lock()
_imported_cache: tuple[Path, tuple[int, int, int], tuple[PublishedScore, ...]] | None = None


def _cache_error(path: Path, why: str) -> DataFileError:
    return DataFileError(
        f"the imported results cache cannot be read ({why})",
        path=str(path),
        hint="run `openscout catalog import-results` again, or delete the file",
    )


def _parse_imported(path: Path, data: bytes) -> tuple[PublishedScore, ...]:
    try:
        doc = json.loads(data.decode("utf-8"))
        if doc.get("version") != IMPORT_FORMAT_VERSION:
            raise ValueError(f"version {doc.get('version')!r}, expected {IMPORT_FORMAT_VERSION}")
        return tuple(PublishedScore.model_validate(r) for r in doc["results"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise _cache_error(path, str(e)) from e


def read_imported(home: Path) -> list[PublishedScore]:
    """Scores an earlier `catalog import-results` stored; a damaged cache is an error that says
    how to rebuild it (never silently empty). Parsed once per change of the file."""
    global _imported_cache
    path = imported_path(home)
    if not path.is_file():
        return []
    with _imported_lock:  # concurrent views wait for one parse rather than each parsing
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())  # of the file read, even if it is replaced meanwhile
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                cached = _imported_cache
                if cached is not None and cached[0] == path and cached[1] == key:
                    return list(cached[2])
                if st.st_size > MAX_IMPORTED_BYTES:
                    raise _cache_error(
                        path,
                        f"{st.st_size} bytes; import-results writes {MAX_IMPORTED_BYTES} at most",
                    )
                data = f.read(MAX_IMPORTED_BYTES + 1)
        except OSError as e:
            raise _cache_error(path, e.strerror or str(e)) from e
        if len(data) > MAX_IMPORTED_BYTES:  # it grew while we read
            raise _cache_error(path, f"over {MAX_IMPORTED_BYTES} bytes")
        scores = _parse_imported(path, data)
        _imported_cache = (path, key, scores)
        return list(scores)


def merge(
    curated: Iterable[PublishedScore], imported: Iterable[PublishedScore]
) -> list[PublishedScore]:
    """Curated scores, then imported ones for (model, benchmark, publisher) not curated."""
    out = list(curated)
    taken = {s.key for s in out}
    out += [s for s in imported if s.key not in taken]
    return out


def all_scores(home: Path | None = None) -> list[PublishedScore]:
    """Curated plus (with a data dir) imported scores."""
    return merge(curated_scores(), read_imported(home) if home is not None else [])


def scores_for(model_id: str, scores: Iterable[PublishedScore]) -> list[PublishedScore]:
    key = model_id.lower()
    return sorted((s for s in scores if s.model.lower() == key), key=lambda s: s.label())


def as_row(s: PublishedScore) -> dict[str, Any]:
    """JSON-ready, labelled as published (never as a measurement of ours)."""
    return {"kind": "published", **s.model_dump(mode="json"), "percent": round(s.percent, 2)}
