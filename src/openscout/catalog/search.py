"""Search and filter the catalog: free text plus facet filters, sorted, fast on 100k entries.

The index is columnar (numpy arrays per fact, postings per facet value and per text token),
so a query is a handful of vectorised mask operations instead of a Python loop over entries.
Build it once per catalog (`SearchIndex(catalog)`) and query it many times.

Text matching: every word of the query must prefix-match a token of the entry's id, name,
family, organisation, domain, tasks, languages or description (case-insensitive).
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from openscout.catalog import fit
from openscout.catalog.licenses import get_license
from openscout.catalog.openness import LABEL_RANK, MOF_RANK, assess_openness
from openscout.errors import SearchError

if TYPE_CHECKING:
    from openscout.catalog.loader import Catalog
    from openscout.catalog.openness import OpennessAssessment
    from openscout.catalog.schema import ModelEntry

SortKey = Literal[
    "relevance", "size", "-size", "date", "-date", "openness", "-openness", "name", "-name"
]
_TOKEN = re.compile(r"[a-z0-9]+")
_PARAMS = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmbt]?)\s*$", re.I)
_SCALE = {"": 1.0, "k": 1e-6, "m": 1e-3, "b": 1.0, "t": 1e3}


def parse_params(text: str | float | None) -> float | None:
    """'8B' -> 8.0, '135M' -> 0.135, '1.5t' -> 1500; a bare number is billions."""
    if text is None or isinstance(text, int | float):
        return None if text is None else float(text)
    m = _PARAMS.match(text)
    if not m:
        raise SearchError(
            f"cannot read a parameter count from {text!r}", hint="write e.g. 135M, 8B or 70"
        )
    return float(m.group(1)) * _SCALE[m.group(2).lower()]


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    task: str | None = None
    license: str | None = None  # 'osi', 'commercial', 'open' (no use restrictions) or a licence id
    label: Literal["open source", "open weights", "restricted weights"] | None = None
    mof_class: Literal["I", "II", "III"] | None = None  # this class or better
    min_params_b: float | None = Field(default=None, ge=0)
    max_params_b: float | None = Field(default=None, ge=0)
    family: str | None = None
    organisation: str | None = None
    language: str | None = None
    domain: str | None = None
    derived_from: str | None = None  # a base model id: its fine-tunes etc. at any depth
    fits: bool = False  # fits the memory in `memory_bytes` (filled from this machine by callers)
    tight: bool = False  # with fits: also what needs more than fit.COMFORT of the memory
    memory_bytes: int | None = Field(default=None, ge=0)
    context: int = Field(default=4096, ge=1, le=10_000_000)
    # trained for at least this context (an unknown context is kept; rows say "?")
    min_context: int | None = Field(default=None, ge=1, le=10_000_000)
    quant: str = "Q4_K_M"
    sort: SortKey = "relevance"
    limit: int = Field(default=20, ge=1, le=100_000)

    @field_validator("quant")
    @classmethod
    def _quant(cls, v: str) -> str:
        return fit.normalize_quant(v)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def searchable_text(e: ModelEntry) -> str:
    """The fields free-text search looks in."""
    return " ".join(
        [
            e.id,
            e.name,
            e.family,
            e.organisation,
            e.domain,
            *e.tasks,
            *e.languages,
            e.description or "",
        ]
    )


class SearchIndex:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.entries: list[ModelEntry] = list(catalog)
        n = len(self.entries)
        self.n = n
        nan = float("nan")
        self.params = np.array([e.params_b or nan for e in self.entries], dtype=np.float64)
        self.date = np.array(
            [e.released.toordinal() if e.released else -1 for e in self.entries], dtype=np.int64
        )
        arch = [e.arch for e in self.entries]
        self.layers = np.array([a.layers or nan for a in arch], dtype=np.float64)
        self.kv_heads = np.array([a.kv_heads or nan for a in arch], dtype=np.float64)
        self.head_dim = np.array([a.head_dim or nan for a in arch], dtype=np.float64)
        self.heads = np.array([a.heads or nan for a in arch], dtype=np.float64)
        self.hidden = np.array([a.hidden or nan for a in arch], dtype=np.float64)
        self.vocab = np.array([a.vocab or nan for a in arch], dtype=np.float64)
        self.context = np.array([a.context or nan for a in arch], dtype=np.float64)
        memo: dict[str, Any] = {}  # shared ancestors are judged once
        assessments = [assess_openness(e, catalog, memo) for e in self.entries]
        self.assessments = {e.id: a for e, a in zip(self.entries, assessments, strict=True)}
        self.score = np.array([a.score for a in assessments], dtype=np.int64)
        self.label_rank = np.array([LABEL_RANK[a.label] for a in assessments], dtype=np.int8)
        self.mof_rank = np.array([MOF_RANK[a.mof_class] for a in assessments], dtype=np.int8)
        self.osi = np.array([a.osi_approved for a in assessments], dtype=bool)
        self.commercial = np.array(
            [a.commercial_use in ("yes", "conditional") for a in assessments], dtype=bool
        )
        self.free = np.array(
            [
                all(get_license(x["id"]).free for x in [a.license, *a.inherited_licenses])
                for a in assessments
            ],
            dtype=bool,
        )
        self.names = [e.name.lower() for e in self.entries]
        self._names_arr = np.array(self.names, dtype=str)
        self._repos_arr = np.array(
            [" ".join(_tokens(e.id.split("/", 1)[1])) for e in self.entries], dtype=str
        )
        links = catalog.parent_links()
        self.derived = np.array([e.id in links for e in self.entries], dtype=np.int8)
        self._facets: dict[str, dict[str, list[int]]] = {
            k: {} for k in ("task", "license", "family", "organisation", "language", "domain")
        }
        postings: dict[str, list[int]] = {}
        for i, e in enumerate(self.entries):
            self._add("task", e.tasks, i)
            self._add("license", [e.license], i)
            self._add("family", [e.family], i)
            self._add("organisation", [e.organisation, e.id.split("/", 1)[0]], i)
            self._add("language", e.languages, i)
            self._add("domain", [e.domain], i)
            for tok in set(_tokens(searchable_text(e))):
                postings.setdefault(tok, []).append(i)
        self._vocab = sorted(postings)
        self._postings = [np.array(postings[t], dtype=np.int64) for t in self._vocab]
        self._facet_arrays = {
            k: {v: np.array(ix, dtype=np.int64) for v, ix in d.items()}
            for k, d in self._facets.items()
        }

    def _add(self, facet: str, values: list[str], i: int) -> None:
        d = self._facets[facet]
        for v in {x.casefold() for x in values}:
            d.setdefault(v, []).append(i)

    # -- masks -----------------------------------------------------------------------------

    def _facet_mask(self, facet: str, value: str) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        ix = self._facet_arrays[facet].get(value.casefold())
        if ix is not None:
            mask[ix] = True
        return mask

    def _text_mask(self, text: str) -> tuple[np.ndarray, list[str]]:
        mask = np.ones(self.n, dtype=bool)
        words = _tokens(text)
        for w in words:
            lo = bisect.bisect_left(self._vocab, w)
            hi = bisect.bisect_left(self._vocab, w + "\x7f")
            word_mask = np.zeros(self.n, dtype=bool)
            for j in range(lo, hi):
                word_mask[self._postings[j]] = True
            mask &= word_mask
        return mask, words

    def _need(self, q: SearchQuery) -> np.ndarray:
        """Memory each entry needs at q.context and q.quant (NaN where a fact is unknown)."""
        return fit.required_bytes(
            params=self.params * 1e9,
            bpw=fit.bits_per_weight(q.quant),
            layers=self.layers,
            kv_heads=self.kv_heads,
            head_dim=self.head_dim,
            n_ctx=q.context,
            heads=self.heads,
            hidden=self.hidden,
            vocab=np.nan_to_num(self.vocab, nan=32000.0),  # as fit.estimate does
        )

    def _fit_mask(self, q: SearchQuery, need: np.ndarray) -> np.ndarray:
        if q.memory_bytes is None:
            raise SearchError(
                "the 'fits' filter needs the machine's memory",
                hint="call fit.machine_memory() and pass memory_bytes",
            )
        room = q.memory_bytes * (1.0 if q.tight else fit.COMFORT)  # "fits" means comfortably
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(need, nan=np.inf) <= room

    def mask(self, q: SearchQuery) -> tuple[np.ndarray, dict[str, Any]]:
        m = np.ones(self.n, dtype=bool)
        extra: dict[str, Any] = {}
        if q.text:
            tm, extra["words"] = self._text_mask(q.text)
            m &= tm
        for facet in ("task", "family", "organisation", "language", "domain"):
            value = getattr(q, facet)
            if value:
                m &= self._facet_mask(facet, value)
        if q.license:
            lic = q.license.casefold()
            if lic == "osi":
                m &= self.osi
            elif lic == "commercial":
                m &= self.commercial
            elif lic in ("open", "free"):
                m &= self.free
            else:
                m &= self._facet_mask(
                    "license",
                    get_license(q.license).id if lic not in self._facets["license"] else lic,
                )
        if q.label:
            m &= self.label_rank == LABEL_RANK[q.label]
        if q.mof_class:
            m &= self.mof_rank >= MOF_RANK[q.mof_class]
        if q.min_params_b is not None:
            m &= self.params >= q.min_params_b
        if q.max_params_b is not None:
            m &= self.params <= q.max_params_b
        if q.derived_from:
            from openscout.catalog.lineage import descendants

            ids = {i.lower() for i in descendants(self.catalog, q.derived_from)}
            m &= np.array([e.id.lower() in ids for e in self.entries], dtype=bool) if ids else False
        extra["need"] = need = self._need(q)  # every row shows what it needs
        if q.fits:
            m &= self._fit_mask(q, need)
        if q.min_context is not None:
            m &= ~(self.context < q.min_context)  # NaN (unknown) compares False: kept
        return m, extra

    def _relevance(self, idx: np.ndarray, query: str) -> np.ndarray:
        """Name starts with the query > name contains it > repo name starts with / contains it."""
        names, repos = self._names_arr[idx], self._repos_arr[idx]
        return (
            4 * np.char.startswith(names, query)
            + 2 * (np.char.find(names, query) >= 0)
            + 2 * np.char.startswith(repos, query)
            + (np.char.find(repos, query) >= 0)
        ).astype(np.int64)

    def _order(self, idx: np.ndarray, q: SearchQuery, words: list[str]) -> np.ndarray:
        key = q.sort.lstrip("-")
        rev = q.sort.startswith("-")
        if key == "relevance":
            if not words:
                key = "openness"
            else:
                rel = self._relevance(idx, " ".join(words))
                derived = self.derived[idx]
                # most relevant first, then originals before derivatives, then the most open
                order = np.lexsort((-self.score[idx], derived, -rel))
                return idx[order[::-1]] if rev else idx[order]
        if key == "size":
            k = self.params[idx]  # smallest first
        elif key == "date":
            k = -self.date[idx]  # newest first
        elif key == "openness":
            k = -self.score[idx]  # most open first
        else:
            k = self._names_arr[idx]
        order = np.argsort(k, kind="stable")
        return idx[order[::-1]] if rev else idx[order]

    def search(self, q: SearchQuery) -> dict[str, Any]:
        if (
            q.min_params_b is not None
            and q.max_params_b is not None
            and q.min_params_b > q.max_params_b
        ):
            raise SearchError("min params is larger than max params")
        m, extra = self.mask(q)
        idx = np.flatnonzero(m)
        idx = self._order(idx, q, extra.get("words", []))[: q.limit]
        need = extra["need"]
        items = [self.row(int(i), float(need[i]), q) for i in idx]
        return {
            "total": int(m.sum()),
            "count": len(items),
            "query": q.model_dump(exclude_defaults=True),
            "items": items,
        }

    def row(
        self, i: int, need_bytes: float | None = None, q: SearchQuery | None = None
    ) -> dict[str, Any]:
        e = self.entries[i]
        a = self.assessments[e.id]
        out = summary(e, a)
        known = need_bytes is not None and not np.isnan(need_bytes)
        out["memory_needed_bytes"] = int(need_bytes) if known else None
        if q is not None and q.memory_bytes and known:
            out["fit"] = fit.verdict_for(int(need_bytes), q.memory_bytes)
        if q is not None:
            out["memory_context"] = q.context  # the context memory_needed_bytes is for
        return out


def summary(e: ModelEntry, a: OpennessAssessment) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "organisation": e.organisation,
        "family": e.family,
        "released": e.released_text,
        "params_b": e.params_b,
        "active_params_b": e.active_params_b,
        "license": e.license,
        "label": a.label,
        "mof_class": a.mof_class,
        "osi_approved": a.osi_approved,
        "commercial_use": a.commercial_use,
        "tasks": e.tasks,
        "languages": e.languages,
        "domain": e.domain,
        "base_model": e.base_model,
        "relation": e.relation,
        "context": e.arch.context,
        "origin": e.origin,
    }


_INDEX_CACHE: dict[int, SearchIndex] = {}


def index_for(catalog: Catalog) -> SearchIndex:
    """One index per catalog object (the curated catalog is loaded once per process)."""
    key = id(catalog)
    if key not in _INDEX_CACHE or _INDEX_CACHE[key].catalog is not catalog:
        _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = SearchIndex(catalog)
    return _INDEX_CACHE[key]


def search(catalog: Catalog, query: SearchQuery | None = None, **filters: Any) -> dict[str, Any]:
    """Search the catalog. Pass a SearchQuery or its fields as keywords."""
    q = query or SearchQuery(**filters)
    return index_for(catalog).search(q)
