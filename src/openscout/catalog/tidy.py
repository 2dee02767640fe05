"""Rewrite catalog data files in the canonical version-2 layout (a maintainer's tool).

    python -m openscout.catalog.tidy src/openscout/catalog/data/*.yaml

What it does, and nothing else:
- resolves YAML anchors and moves every fact out of `defaults` into the entries, so that each
  entry states its own values (only labels stay shared: organisation, family, tasks, domain);
- writes `unverified` as exactly the facts the entry states that have no `checks` record, so
  adding a check to an entry and running this tool moves that fact from unverified to checked;
- keeps the leading comment block and a fixed key order, one entry per block.

It never invents, drops or changes a value: the data loaded before and after is the same.
A file it cannot read (malformed YAML, a key written twice) or whose tidied form does not
validate is left untouched, and the problem is printed with its line; the exit status is 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from openscout import yamlcore, yamlfile
from openscout.catalog.loader import _merge, load_file
from openscout.catalog.provenance import FACT_KEYS, stated_facts
from openscout.catalog.schema import ModelEntry
from openscout.errors import DataFileError

SHARED_LABELS = ("organisation", "family", "tasks", "domain")
ORDER = tuple(ModelEntry.model_fields)  # the schema's own field order
BLOCK = ("openness", "checks")  # written one sub-key a line; everything else in flow style


def _flow(value: Any) -> str:
    text = yamlcore.dump(
        value, default_flow_style=True, width=10_000, allow_unicode=True, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def tidy_entry(defaults: dict[str, Any], item: dict[str, Any], shared: dict[str, Any]) -> dict:
    """One entry with every non-label default merged in and `unverified` recomputed."""
    merged = _merge(defaults, item)
    out = {k: v for k, v in merged.items() if not (k in shared and shared[k] == v)}
    checks = out.get("checks") or {}
    stated = stated_facts(merged)
    unverified = [k for k in FACT_KEYS if k in stated and k not in checks]
    out.pop("unverified", None)
    if unverified:
        out["unverified"] = unverified
    return {k: out[k] for k in ORDER if k in out} | {k: v for k, v in out.items() if k not in ORDER}


def render(header: list[str], shared: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    lines = [*header, "version: 2"]
    if shared:
        lines.append("defaults:")
        lines += [f"  {k}: {_flow(v)}" for k, v in shared.items()]
    lines.append("models:")
    for entry in entries:
        first = True
        for key, value in entry.items():
            lead = "  - " if first else "    "
            first = False
            if key in BLOCK and isinstance(value, dict) and value:
                lines.append(f"{lead}{key}:")
                lines += [f"      {k}: {_flow(v)}" for k, v in value.items()]
            else:
                lines.append(f"{lead}{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def tidy_text(text: str, path: str = "<text>") -> str:
    """The canonical layout of one data file; DataFileError if it cannot be read or the
    result does not validate (the caller then writes nothing)."""
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    raw = yamlfile.load(text, path)
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list):
        raise DataFileError("not a catalog data file: no `models` list", path=path)
    defaults = dict(raw.get("defaults") or {})
    shared = {k: defaults[k] for k in SHARED_LABELS if k in defaults}
    entries = [tidy_entry(defaults, dict(item), shared) for item in raw["models"]]
    out = render(header, shared, entries)
    try:
        load_file(path, out)  # the tidied file must validate, or it is not written
    except DataFileError as e:  # its line is the tidied text's: name the entry instead
        raise DataFileError(e.detail, path=path, entry=e.entry, field=e.field) from e
    return out


def main(argv: list[str] | None = None) -> int:
    failed = 0
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        try:
            text = tidy_text(yamlfile.read_text(path), str(path))
        except DataFileError as e:
            print(f"not tidied, left as it was: {e}", file=sys.stderr)
            failed = 1
            continue
        path.write_text(text, encoding="utf-8")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
