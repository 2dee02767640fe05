"""The live Hugging Face Hub, merged with the curated facts and cached on disk.

Online, `hub_search` and `hub_model` ask the Hub (through `huggingface_hub.HfApi`), keep what
they learn in `<cache_dir>/hub/` and turn each Hub model into a catalog entry: licence from the
card metadata or tags, base model and relation from the `base_model:<relation>:<id>` tags or
the card metadata, and, where both are missing, a base inferred from the model card's prose.
Offline (or when the Hub fails), the cached answer is used, however old; with no cache, a
HubError says what to do. Curated facts always win over what the Hub says.

Remote data is parsed tolerantly (unknown fields are ignored, missing ones stay unknown), and
what a Hub entry cannot tell (training data, code, logs) is "unknown", never "open".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from openscout import datafile, outfile
from openscout.catalog import hub_http
from openscout.catalog.licenses import normalize_license
from openscout.catalog.loader import Catalog
from openscout.catalog.schema import ModelEntry
from openscout.errors import ConfigError, HubError, OpenscoutError

CACHE_VERSION = 1
CACHE_BYTES = 64 * 2**20  # a record is what an operation may read (hub_http), and less
DEFAULT_TTL_S = 24 * 3600
CARD_CHARS = 4000  # how much of a model card we keep to infer a base model
CARD_BYTES = 2**18  # how much of it we read: front matter, then those characters
CARD_SECONDS = 15.0  # and for how long: what came by then is the card
_RELATIONS = {
    "finetune": "fine-tune",
    "quantized": "quantization",
    "adapter": "adapter",
    "merge": "merge",
}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
MAX_LIST = 1000  # languages, datasets, base models a card may list
MAX_PARAMS = 10**14  # a hundred trillion parameters: any more is not a count


class HubCache:
    """JSON files under `<cache_dir>/hub/`, written atomically, each with its fetch time."""

    def __init__(self, root: Path) -> None:
        self.root = root / "hub"

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get(self, kind: str, key: str, ttl_s: float | None) -> Any | None:
        path = self._path(kind, key)
        try:  # a regular file only: a FIFO planted there held the search for ever (25th probe)
            rec = json.loads(datafile.read_bytes(path, CACHE_BYTES, "Hub cache files"))
        except (OpenscoutError, OSError, ValueError):
            return None
        if not isinstance(rec, dict):
            return None
        if rec.get("version") != CACHE_VERSION or rec.get("key") != key:
            return None
        if ttl_s is not None and time.time() - rec.get("fetched_at", 0) > ttl_s:
            return None
        return rec.get("data")

    def put(self, kind: str, key: str, data: Any) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = {"version": CACHE_VERSION, "key": key, "fetched_at": time.time(), "data": data}
        # a new file of a random name, then a rename: no link planted there is written through;
        # a cache that cannot be written costs the next call a request, nothing more
        with contextlib.suppress(ConfigError):
            outfile.write_text(path, json.dumps(rec, default=str), hint="")


def _api(endpoint: str | None) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint) if endpoint else HfApi()


def _iso(v: Any) -> str | None:
    if v is None:
        return None
    return v.isoformat() if isinstance(v, datetime) else str(v)


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    items = v if isinstance(v, list | tuple) else [v]
    return [x for x in items if isinstance(x, str)][:MAX_LIST]


def _text(v: Any) -> str | None:
    """A field the Hub documents as text; anything else (a list, a mapping) is unknown: card
    metadata is written by whoever uploads the model (sixteenth probe)."""
    return v if isinstance(v, str) else None


def _count(v: Any, most: int) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= most else None


def record_from_info(info: Any) -> dict[str, Any]:
    """A plain, JSON-safe record from a huggingface_hub ModelInfo (any version; tolerant)."""
    card = getattr(info, "card_data", None) or getattr(info, "cardData", None)
    card_d = (
        card.to_dict() if hasattr(card, "to_dict") else (card if isinstance(card, dict) else {})
    )
    tags = _as_list(getattr(info, "tags", None))
    st = getattr(info, "safetensors", None)
    total = getattr(st, "total", None) if st is not None else None
    if total is None and isinstance(st, dict):
        total = st.get("total")
    siblings = getattr(info, "siblings", None)
    files = (
        [
            getattr(s, "rfilename", None) or (s.get("rfilename") if isinstance(s, dict) else None)
            for s in siblings
        ]
        if siblings
        else None
    )
    gated = getattr(info, "gated", None)
    return {
        "id": str(getattr(info, "id", "") or getattr(info, "modelId", "")),
        "author": _text(getattr(info, "author", None)),
        "created_at": _iso(getattr(info, "created_at", None)),
        "last_modified": _iso(getattr(info, "last_modified", None)),
        "downloads": _count(getattr(info, "downloads", None), 10**15),
        "likes": _count(getattr(info, "likes", None), 10**15),
        "pipeline_tag": _text(getattr(info, "pipeline_tag", None)),
        "library_name": _text(getattr(info, "library_name", None)),
        "gated": gated if isinstance(gated, bool | str) else None,
        "tags": tags,
        "license": _text(card_d.get("license")) or _tag({"tags": tags}, "license"),
        "base_model": _as_list(card_d.get("base_model")),
        "languages": _as_list(card_d.get("language")),
        "datasets": _as_list(card_d.get("datasets")),
        "params": _count(total, MAX_PARAMS),
        "files": [f for f in files if isinstance(f, str)] if files is not None else None,
    }


def _tag(rec: dict[str, Any], prefix: str) -> str | None:
    return next(
        (t.split(":", 1)[1] for t in rec.get("tags") or [] if t.startswith(prefix + ":")), None
    )


def _declared_base(rec: dict[str, Any]) -> tuple[str | None, str | None]:
    """Base and relation from the `base_model:<relation>:<id>` tags, else the card metadata."""
    for tag in rec.get("tags") or []:
        parts = tag.split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model" and parts[1] in _RELATIONS:
            return parts[2], _RELATIONS[parts[1]]
    bases = rec.get("base_model") or []
    return (bases[0], "fine-tune") if bases else (None, None)


def entry_from_record(rec: dict[str, Any], catalog: Catalog | None = None) -> ModelEntry:
    """A catalog entry for a Hub model: what the Hub says, everything else unknown. A record
    of the wrong shapes (a hostile card, or a cache written by an older openscout) is a
    HubError naming the model, never Python's own words."""
    hf_id = str(rec.get("id") or "")
    org, _, name = hf_id.partition("/")
    if not org or not name or "/" in name or hf_id.startswith(".") or "\x00" in hf_id:
        # ids come from the network: an odd one is refused here, never used as a name
        raise HubError(f"the Hub returned a model id that is not org/name: {hf_id!r}")
    try:
        return _entry(hf_id, rec, catalog)
    except (ValueError, TypeError, AttributeError, OverflowError) as e:
        # pydantic's ValidationError is a ValueError; its first error names the field
        errors = getattr(e, "errors", None)
        field = ".".join(str(x) for x in errors()[0]["loc"]) if callable(errors) else None
        raise HubError(
            f"the Hub's record for {hf_id} is malformed"
            + (f" ({field})" if field else f" ({e.__class__.__name__})"),
            hint="the card metadata is the model author's; the curated catalog is unaffected",
        ) from e


def _entry(hf_id: str, rec: dict[str, Any], catalog: Catalog | None) -> ModelEntry:
    url = f"https://huggingface.co/{hf_id}"
    base, relation = _declared_base(rec)
    base_entry = catalog.get(base) if catalog is not None and base else None
    files = rec.get("files")
    has_weights = files is not None and any(f.endswith(_WEIGHT_SUFFIXES) for f in files)
    if files is None:
        weights = {"status": "unknown", "evidence": "file list not fetched"}
    elif has_weights:
        gate = f" (gated: {rec['gated']})" if rec.get("gated") else ""
        weights = {
            "status": "open",
            "evidence": f"weight files in the repository{gate}",
            "source": url,
        }
    else:
        weights = {
            "status": "closed",
            "evidence": "no weight files in the repository",
            "source": url,
        }
    datasets = rec.get("datasets") or []
    data = (
        {
            "status": "partial",
            "evidence": f"datasets named in the card metadata: {', '.join(datasets[:5])}",
            "source": url,
        }
        if datasets
        else {"status": "unknown", "evidence": "not stated in the Hub metadata"}
    )
    created = rec.get("created_at")
    return ModelEntry.model_validate(
        {
            "id": hf_id,
            "name": hf_id.split("/", 1)[1],
            "organisation": rec.get("author") or hf_id.split("/", 1)[0],
            "family": base_entry.family if base_entry else hf_id.split("/", 1)[0],
            "released": created[:10] if created else None,
            "params_b": rec["params"] / 1e9 if rec.get("params") else None,
            "license": normalize_license(rec.get("license") or _tag(rec, "license")),
            "tasks": [rec.get("pipeline_tag") or "unknown"],
            "languages": rec.get("languages") or [],
            "base_model": base if base and base != hf_id else None,
            "relation": relation if base and base != hf_id else None,
            "card": url,
            "card_excerpt": rec.get("card_excerpt"),
            "openness": {
                "weights": weights,
                "training_data": data,
                "evaluation_code": {
                    "status": "unknown",
                    "evidence": "not curated; the Hub metadata does not say",
                },
                "training_code": {
                    "status": "unknown",
                    "evidence": "not curated; the Hub metadata does not say",
                },
                "training_logs": {
                    "status": "unknown",
                    "evidence": "not curated; the Hub metadata does not say",
                },
            },
            "origin": "hub",
        }
    )


def _fetch(
    cache: HubCache, kind: str, key: str, fetch: Any, ttl_s: float, offline: bool
) -> tuple[Any, str]:
    if not offline:
        fresh = cache.get(kind, key, ttl_s)
        if fresh is not None:
            return fresh, "cache"
        try:
            data = fetch()
        except Exception as e:  # the Hub client raises many types (HTTP, connection, timeouts)
            stale = cache.get(kind, key, None)
            if stale is not None:
                return stale, f"cache (the Hub failed: {e.__class__.__name__})"
            raise HubError(
                f"the Hugging Face Hub could not answer ({e.__class__.__name__}: {e})",
                hint="check the network, or use the curated catalog offline",
            ) from e
        cache.put(kind, key, data)
        return data, "hub"
    stale = cache.get(kind, key, None)
    if stale is None:
        raise HubError(
            f"offline and nothing cached for {key!r}", hint="run once online to fill the cache"
        )
    return stale, "cache"


def _probe(api: Any) -> None:
    """Raise at once (ConnectionError) when the Hub cannot be reached at all; any reply will do."""
    from huggingface_hub.utils import get_session

    try:
        get_session().head(api.endpoint, timeout=5)
    except Exception as e:  # requests raises many kinds here; every one means "not reachable"
        raise ConnectionError(f"cannot reach {api.endpoint}: {e}") from e


def _search_records(api: Any, text: str, limit: int) -> list[dict[str, Any]]:
    """The search's records, each parsed on its own and a malformed one skipped:
    `list_models` parses them inside its generator, and one bad date ended the whole search
    (twenty-second probe). The query is the one `list_models` sends."""
    from huggingface_hub import ModelInfo
    from huggingface_hub.utils import build_hf_headers, get_session

    from openscout.engines.http_bounds import load_json

    params = {"search": text, "sort": "downloads", "limit": limit, "full": True, "cardData": True}
    resp = get_session().get(
        f"{api.endpoint}/api/models", params=params, headers=build_hf_headers()
    )
    if resp.status_code != 200:
        raise HubError(f"the Hub answered the search with HTTP {resp.status_code}")
    items = load_json(resp.content)
    if not isinstance(items, list):
        raise HubError("the Hub's search answer is not a list of models")
    records = []
    for item in items[:limit]:
        try:
            records.append(record_from_info(ModelInfo(**{"siblings": None, **item})))
        except Exception:  # the library's parser raises anything on odd input
            continue
    return records


def _card_text(api: Any, hf_id: str) -> str | None:
    from huggingface_hub.utils import get_session

    from openscout.engines.http_bounds import read_head

    url = f"{api.endpoint}/{hf_id}/raw/main/README.md"
    deadline = time.monotonic() + CARD_SECONDS
    with get_session().stream("GET", url, timeout=10) as resp:  # a card may be any size
        if resp.status_code != 200:
            return None
        text = read_head(resp, CARD_BYTES, deadline).decode("utf-8", "replace")
    if text.startswith("---"):  # drop the YAML front matter, keep the prose
        end = text.find("\n---", 3)
        text = text[end + 4 :] if end != -1 else text
    return text[:CARD_CHARS]


def hub_model(
    hf_id: str,
    *,
    settings: Any,
    catalog: Catalog,
    endpoint: str | None = None,
    offline: bool = False,
    ttl_s: float = DEFAULT_TTL_S,
) -> dict[str, Any]:
    """One model: the Hub record (cached) merged with curated facts when we have them."""
    cache = HubCache(settings.cache_dir)

    def fetch() -> dict[str, Any]:
        api = _api(endpoint)

        def ask() -> dict[str, Any]:
            rec = record_from_info(api.model_info(hf_id, files_metadata=False))
            if not _declared_base(rec)[0]:
                rec["card_excerpt"] = _card_text(api, hf_id)
            return rec

        return hub_http.call(f"the Hub record of {hf_id}", ask)

    rec, origin = _fetch(cache, "model", hf_id, fetch, ttl_s, offline)
    # the entry is made for the id the record gives (a renamed repo answers with its new
    # one): curated facts win for that id too, not only for the one asked (a record naming a
    # curated model was shown as it with the Hub's licence; twenty-third probe)
    curated = catalog.get(str(rec.get("id") or hf_id)) or catalog.get(hf_id)
    entry = curated or entry_from_record(rec, catalog)
    return {"entry": entry, "hub": rec, "source": origin, "curated": curated is not None}


def hub_search(
    text: str,
    *,
    settings: Any,
    catalog: Catalog,
    limit: int = 20,
    endpoint: str | None = None,
    offline: bool = False,
    ttl_s: float = DEFAULT_TTL_S,
) -> dict[str, Any]:
    """Search the Hub by text (most downloaded first); curated entries replace Hub ones."""
    cache = HubCache(settings.cache_dir)
    key = json.dumps({"q": text, "limit": limit})

    def fetch() -> list[dict[str, Any]]:
        api = _api(endpoint)

        def ask() -> list[dict[str, Any]]:
            _probe(api)  # the library retries with backoff for ~20 s: unreachable fails here
            return _search_records(api, text, limit)

        return hub_http.call("a Hub search", ask)

    recs, origin = _fetch(cache, "search", key, fetch, ttl_s, offline)
    entries, kept = [], []
    for r in recs:
        try:
            entries.append(catalog.get(str(r.get("id"))) or entry_from_record(r, catalog))
        except (HubError, ValueError):  # one odd record (bad id, bad field) is skipped
            continue
        kept.append(r)
    return {"entries": entries, "hub": kept, "source": origin}
