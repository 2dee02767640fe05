"""How far openscout's openness judgement agrees with two public openness indexes.

The indexes' ratings are package data (`catalog/data/indexes/openness_indexes.yaml`), each
with the index file it was read from and that repository's commit:

- the Model Openness Tool (MOT, LF AI & Data) rates a model on the Model Openness Framework:
  class I, II, III or none;
- the European Open Source AI Index (EOSAI) rates a system open / partial / closed on each of
  its dimensions (data, weights, training code, documentation, licences).

For every catalog model an index also rates, `compare` sets openscout's label and class (asked
of the catalog through its public API) beside the index's. A difference is:

- MOT: its class differs from openscout's MOF class;
- EOSAI: the label its availability ratings imply (`eosai_label`) differs from openscout's.

Each difference needs a reason, written per entry in the data file; `problems` lists the
entries that break that rule or name a model that is neither in the catalog nor marked
`not_in_catalog`. `python -m openscout.catalog.index_agreement --write-docs` rewrites the
comparison table in docs/catalog.md (a test keeps it in step with the data).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openscout import yamlfile
from openscout.catalog import Catalog, assess_openness, load_catalog
from openscout.catalog.schema import HF_ID
from openscout.errors import DataFileError

IndexName = Literal["mot", "eosai"]
INDEX_TITLES = {"mot": "MOT", "eosai": "EOSAI"}
DOCS_START = "<!-- index-agreement:start (generated: python -m openscout.catalog.index_agreement --write-docs) -->"
DOCS_END = "<!-- index-agreement:end -->"
PACKAGE_PATH = "openscout/catalog/data/indexes/openness_indexes.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexSource(_Strict):
    name: str = Field(min_length=1)
    repository: str = Field(pattern=r"^https://github\.com/[\w.-]+/[\w.-]+$")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    rating: str = Field(min_length=1)


class IndexEntry(_Strict):
    """One model as one index rates it."""

    index: IndexName
    name: str = Field(min_length=1)
    path: str = Field(min_length=1)  # the index's file, in its repository at `commit`
    id: str | None = None  # the Hugging Face id, as the catalog names it
    rating: dict[str, object]
    not_in_catalog: str | None = Field(default=None, min_length=3)
    reason: str | None = Field(default=None, min_length=10)  # why openscout differs, if it does

    @field_validator("id")
    @classmethod
    def _hf_id(cls, v: str | None) -> str | None:
        if v is not None and not HF_ID.match(v):
            raise ValueError(f"{v!r} is not a Hugging Face id of the form org/name")
        return v

    @field_validator("rating")
    @classmethod
    def _rated(cls, v: dict[str, object]) -> dict[str, object]:
        if not v:
            raise ValueError("a rating needs at least one value")
        return v


class IndexFile(_Strict):
    version: Literal[1]
    indexes: dict[IndexName, IndexSource]
    models: list[dict[str, object]] = Field(min_length=1)


def parse_index_file(path: str, text: str) -> tuple[IndexFile, list[IndexEntry]]:
    """Validate the file; a fault raises DataFileError naming the file, line, entry and field."""
    root = yamlfile.compose(text, path).root
    raw = yamlfile.construct(root, path)
    hint = "an index file has `version: 1`, `indexes` (mot, eosai) and a `models` list"
    data = yamlfile.validated(IndexFile, raw, path, hint=hint)
    entries = []
    for i, item in enumerate(data.models):
        entry = yamlfile.validated(
            IndexEntry,
            item,
            path,
            root,
            at=("models", i),
            entry=str(item.get("name", f"#{i + 1}")),
            hint="every entry names index, name, path and rating, and id or not_in_catalog",
        )
        if entry.index not in data.indexes:
            raise DataFileError(
                f"index {entry.index!r} is not described under `indexes`",
                path=path,
                entry=entry.name,
                field="index",
            )
        entries.append(entry)
    return data, entries


def load_index_file(path: Path | None = None) -> tuple[IndexFile, list[IndexEntry]]:
    if path is not None:
        return parse_index_file(str(path), yamlfile.read_text(path))
    res = resources.files("openscout.catalog") / "data" / "indexes" / "openness_indexes.yaml"
    return parse_index_file(PACKAGE_PATH, res.read_text(encoding="utf-8"))


def eosai_label(rating: dict[str, object]) -> str:
    """The openscout label that the index's availability and licence ratings imply: open
    source needs weights, training data (base and end model), training code and licences
    rated open; open weights needs weights and licences rated open."""
    weights = rating.get("weights_endmodel") or rating.get("weights_basemodel")
    licences_open = weights == "open" and rating.get("licenses") == "open"
    data_open = rating.get("datasources_basemodel") == "open" and rating.get(
        "datasources_endmodel"
    ) in ("open", None)
    if licences_open and data_open and rating.get("trainingcode") == "open":
        return "open source"
    return "open weights" if licences_open else "restricted weights"


def index_verdict(entry: IndexEntry) -> str:
    """What the index says, in openscout's vocabulary (MOT: a class; EOSAI: a label)."""
    if entry.index == "mot":
        return str(entry.rating.get("class", "none"))
    return eosai_label(entry.rating)


def _eosai_summary(rating: dict[str, object]) -> str:
    keys = ("weights_endmodel", "datasources_basemodel", "trainingcode", "licenses")
    short = {"weights_endmodel": "weights", "datasources_basemodel": "data",
             "trainingcode": "code", "licenses": "licences"}  # fmt: skip
    return ", ".join(f"{short[k]} {rating.get(k, '-')}" for k in keys)


@dataclass(frozen=True)
class Comparison:
    """One catalog model beside one index's rating of it."""

    model_id: str
    index: IndexName
    entry: IndexEntry
    label: str  # openscout
    mof_class: str  # openscout
    verdict: str  # the index, in openscout's terms

    @property
    def differs(self) -> bool:
        ours = self.mof_class if self.index == "mot" else self.label
        return ours != self.verdict

    @property
    def index_cell(self) -> str:
        if self.index == "mot":
            return f"class {self.verdict}"
        return f"{self.verdict} ({_eosai_summary(self.entry.rating)})"


def compare(catalog: Catalog, entries: Iterable[IndexEntry]) -> list[Comparison]:
    """Every (catalog model, index) pair; the first entry wins where an index rates a model
    twice (the MOT lists a few models under two file names)."""
    out: dict[tuple[str, str], Comparison] = {}
    memo: dict = {}
    for entry in entries:
        model = catalog.get(entry.id) if entry.id else None
        if model is None or (model.id, entry.index) in out:
            continue
        a = assess_openness(model, catalog, memo)
        out[(model.id, entry.index)] = Comparison(
            model.id, entry.index, entry, a.label, a.mof_class, index_verdict(entry)
        )
    return sorted(out.values(), key=lambda c: (c.model_id.lower(), c.index))


def problems(catalog: Catalog, entries: Iterable[IndexEntry]) -> list[str]:
    """Entries naming a model that is neither in the catalog nor marked `not_in_catalog`, and
    differences that carry no reason."""
    entries = list(entries)
    out = [
        f"{e.index} {e.name} ({e.path}): {e.id or 'no id'} is not in the catalog and has no"
        " `not_in_catalog` reason"
        for e in entries
        if (e.id is None or catalog.get(e.id) is None) and not e.not_in_catalog
    ]
    out += [
        f"{c.index} {c.entry.name} ({c.entry.path}): openscout says {c.label} / class"
        f" {c.mof_class}, the index {c.verdict}, and the entry gives no `reason`"
        for c in compare(catalog, entries)
        if c.differs and not c.entry.reason
    ]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: list[Comparison]) -> str:
    """The markdown table: one line per catalog model rated by at least one index."""
    by_model: dict[str, dict[str, Comparison]] = {}
    for c in rows:
        by_model.setdefault(c.model_id, {})[c.index] = c
    differ = sum(1 for c in rows if c.differs)
    lines = [
        f"{len(by_model)} catalog models are rated by at least one index ({len(rows)} ratings;"
        f" {differ} differ from openscout).",
        "",
        "| model | openscout label / class | MOT class | EOSAI rating | difference and reason |",
        "| --- | --- | --- | --- | --- |",
    ]
    for model_id, pair in by_model.items():
        first = next(iter(pair.values()))
        reasons = [f"vs {INDEX_TITLES[i]}: {c.entry.reason}" for i, c in pair.items() if c.differs]
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    f"`{model_id}`",
                    f"{first.label} / {first.mof_class}",
                    pair["mot"].index_cell if "mot" in pair else "-",
                    pair["eosai"].index_cell if "eosai" in pair else "-",
                    "; ".join(reasons) if reasons else "agree",
                )
            )
            + " |"
        )
    return "\n".join(lines)


def docs_section(catalog: Catalog | None = None, entries: list[IndexEntry] | None = None) -> str:
    catalog = catalog or load_catalog()
    if entries is None:
        entries = load_index_file()[1]
    return f"{DOCS_START}\n{render_table(compare(catalog, entries))}\n{DOCS_END}"


def replace_section(doc: str, section: str) -> str:
    """`doc` with the text between the markers replaced; a clear error if they are missing."""
    start, end = doc.find(DOCS_START), doc.find(DOCS_END)
    if start < 0 or end < start:
        raise DataFileError(
            "the generated-table markers are missing or out of order",
            hint=f"the document needs the lines {DOCS_START!r} and {DOCS_END!r}",
        )
    return doc[:start] + section + doc[end + len(DOCS_END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openscout.catalog.index_agreement")
    parser.add_argument("--write-docs", metavar="PATH", nargs="?", const="docs/catalog.md")
    parser.add_argument("--index-file", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        entries = load_index_file(args.index_file)[1]
        catalog = load_catalog()
        faults = problems(catalog, entries)
        if args.write_docs:
            path = Path(args.write_docs)
            path.write_text(
                replace_section(path.read_text(encoding="utf-8"), docs_section(catalog, entries)),
                encoding="utf-8",
            )
        else:
            print(render_table(compare(catalog, entries)))
    except DataFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for fault in faults:
        print(f"problem: {fault}", file=sys.stderr)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
