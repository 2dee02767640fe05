"""Catalog search on 100k entries: per-query latency of the columnar index vs a plain Python scan.

    .venv/bin/python bench/catalog_search.py [--n 100000] [--repeat 20] [--json]

The synthetic entries are copies of the curated ones with new ids, sizes, dates, licences,
languages, domains and base-model links, so every filter has real work to do. Each query's
result set is checked against the plain scan before it is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import time
from typing import Any

from openscout.catalog import assess_openness, load_catalog
from openscout.catalog.fit import bits_per_weight, required_bytes
from openscout.catalog.lineage import descendants
from openscout.catalog.loader import Catalog
from openscout.catalog.search import SearchIndex, SearchQuery, searchable_text

LICENSES = [
    "Apache-2.0",
    "MIT",
    "llama3.1",
    "gemma",
    "qwen",
    "CC-BY-NC-4.0",
    "bigscience-bloom-rail-1.0",
]
DOMAINS = ["general"] * 6 + ["medical", "math", "code", "legal", "finance"]
LANGS = [["en"], ["en", "fr"], ["ja", "en"], ["zh", "en"], ["multilingual"], ["de"], ["hi", "en"]]


def synthetic_catalog(n: int, seed: int = 0) -> Catalog:
    rng = random.Random(seed)
    templates = list(load_catalog())
    roots = [t for t in templates if t.base_model is None]
    entries = []
    for i in range(n):
        t = rng.choice(templates)
        org = f"org{i % 997}"
        update: dict[str, Any] = {
            "id": f"{org}/{t.id.split('/', 1)[1]}-v{i}",
            "name": f"{t.name} v{i}",
            "organisation": org,
            "params_b": round(t.params_b * rng.uniform(0.5, 2.0), 3),
            "released": dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(1400)),
            "license": rng.choice(LICENSES),
            "domain": rng.choice(DOMAINS),
            "languages": rng.choice(LANGS),
            "base_model": None,
            "relation": None,
            "card_excerpt": None,
        }
        if i > 100 and rng.random() < 0.5:  # half are derivatives of an earlier synthetic model
            update["base_model"] = entries[rng.randrange(i // 2, i)].id
            update["relation"] = rng.choice(["fine-tune", "quantization", "merge", "adapter"])
        if t.active_params_b:
            update["active_params_b"] = min(t.active_params_b, update["params_b"])
        entries.append(t.model_copy(update=update))
    return Catalog(entries + [r.model_copy() for r in roots])


QUERIES: dict[str, dict[str, Any]] = {
    "text 'mistral'": {"text": "mistral"},
    "text 'llama 8b instruct'": {"text": "llama 8b instruct"},
    "issue example (task+osi+<=8B)": {
        "task": "text-generation",
        "license": "osi",
        "max_params_b": 8,
    },
    "open source, MOF class I": {"label": "open source", "mof_class": "I"},
    "family Mistral, domain medical": {"family": "Mistral", "domain": "medical"},
    "language ja, commercial, by date": {"language": "ja", "license": "commercial", "sort": "date"},
    "fits 16 GB at 8k, by size": {
        "fits": True,
        "memory_bytes": 16 * 10**9,
        "context": 8192,
        "sort": "-size",
    },
}


def naive(cat: Catalog, ass: dict[str, Any], q: SearchQuery) -> set[str]:
    """The same filters as a plain loop over entries (with openness precomputed, to be fair)."""
    words = re.findall(r"[a-z0-9]+", q.text.lower()) if q.text else []
    out = set()
    bpw = bits_per_weight(q.quant)
    for e in cat:
        a = ass[e.id]
        hay = searchable_text(e).lower()
        toks = re.findall(r"[a-z0-9]+", hay)
        if words and not all(any(t.startswith(w) for t in toks) for w in words):
            continue
        if q.task and q.task not in e.tasks:
            continue
        if q.license == "osi" and not a.osi_approved:
            continue
        if q.license == "commercial" and a.commercial_use not in ("yes", "conditional"):
            continue
        if q.label and a.label != q.label:
            continue
        if (
            q.mof_class
            and {"I": 3, "II": 2, "III": 1, "none": 0}[a.mof_class]
            < {"I": 3, "II": 2, "III": 1}[q.mof_class]
        ):
            continue
        if q.max_params_b is not None and not e.params_b <= q.max_params_b:
            continue
        if q.family and e.family.lower() != q.family.lower():
            continue
        if q.domain and e.domain != q.domain:
            continue
        if q.language and q.language not in e.languages:
            continue
        if q.fits:
            x = e.arch
            if not (x.layers and x.kv_heads and x.head_dim and x.heads and x.hidden):
                continue
            need = required_bytes(
                params=e.params,
                bpw=bpw,
                layers=x.layers,
                kv_heads=x.kv_heads,
                head_dim=x.head_dim,
                n_ctx=q.context,
                heads=x.heads,
                hidden=x.hidden,
                vocab=x.vocab or 32000,
            )
            if need > q.memory_bytes:
                continue
        out.add(e.id)
    return out


def _time(fn: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    cat = synthetic_catalog(args.n)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = SearchIndex(cat)
    t_index = time.perf_counter() - t0
    ass = index.assessments
    rows = []
    for name, filters in QUERIES.items():
        q = SearchQuery(limit=20, **filters)
        full = index.search(q.model_copy(update={"limit": 10**6}))
        expected = naive(cat, ass, q)
        assert {i["id"] for i in full["items"]} == expected, f"{name}: index and scan disagree"
        fast = _time(lambda q=q: index.search(q), args.repeat)
        slow = _time(lambda q=q: naive(cat, ass, q), max(2, args.repeat // 10))
        med_fast, med_slow = statistics.median(fast), statistics.median(slow)
        rows.append(
            {
                "query": name,
                "matches": len(expected),
                "index_ms_median": round(med_fast, 2),
                "index_ms_p95": round(sorted(fast)[int(0.95 * (len(fast) - 1))], 2),
                "scan_ms_median": round(med_slow, 1),
                "speedup": round(med_slow / med_fast, 1),
            }
        )
    # a family-tree query on top: the derivatives of one popular synthetic base
    base = max(cat.ids[: args.n // 4], key=lambda i: len(cat.children(i)))
    tree_ms = statistics.median(_time(lambda: descendants(cat, base), args.repeat))
    result = {
        "entries": len(cat),
        "generate_s": round(t_gen, 2),
        "index_build_s": round(t_index, 2),
        "queries": rows,
        "descendants_ms_median": round(tree_ms, 2),
        "openness_assessed": len(ass),
        "example_assessment": assess_openness(cat.get(base), cat).label,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['entries']} entries: generated in {t_gen:.1f} s, index built in {t_index:.1f} s "
        "(openness assessed for every entry)"
    )
    head = ("query", "matches", "index ms", "p95 ms", "scan ms", "speedup")
    print("{:38s} {:>8s} {:>9s} {:>8s} {:>9s} {:>8s}".format(*head))
    for r in rows:
        cells = (
            r["query"],
            r["matches"],
            r["index_ms_median"],
            r["index_ms_p95"],
            r["scan_ms_median"],
        )
        print("{:38s} {:8d} {:9.2f} {:8.2f} {:9.1f}".format(*cells) + f" {r['speedup']:7.1f}x")
    print(f"descendants of {base}: {tree_ms:.2f} ms median")


if __name__ == "__main__":
    main()
