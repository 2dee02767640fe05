"""Load and validate the curated catalog; the `Catalog` object everything else queries.

A malformed file fails loudly with a DataFileError that names the file, the line, the entry
and the field, so a typo in package data (or a user's extra data dir) is found at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from openscout import yamlfile
from openscout.catalog.licenses import LICENSES
from openscout.catalog.schema import DataFile, ModelEntry
from openscout.errors import DataFileError


class Catalog:
    """An immutable set of model entries keyed by Hugging Face id (case-insensitive lookup)."""

    def __init__(self, entries: Iterable[ModelEntry]) -> None:
        self._entries: dict[str, ModelEntry] = {}
        self._lower: dict[str, str] = {}
        for e in entries:
            self._entries[e.id] = e
            self._lower[e.id.lower()] = e.id
        self._children: dict[str, list[str]] | None = None
        self._links: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self._entries.values())

    def __contains__(self, hf_id: object) -> bool:
        return isinstance(hf_id, str) and hf_id.lower() in self._lower

    def get(self, hf_id: str) -> ModelEntry | None:
        key = self._lower.get(hf_id.lower())
        return self._entries[key] if key else None

    @property
    def ids(self) -> list[str]:
        return list(self._entries)

    def with_entries(self, extra: Iterable[ModelEntry]) -> Catalog:
        """A new catalog with `extra` added; curated entries win over hub-derived ones."""
        merged = dict(self._entries)
        for e in extra:
            if e.id not in merged or merged[e.id].origin != "curated":
                merged[e.id] = e
        return Catalog(merged.values())

    def parent_links(self) -> dict[str, Any]:
        from openscout.catalog.lineage import parent_links

        if self._links is None:
            self._links = parent_links(self)
        return self._links

    def children(self, hf_id: str) -> list[str]:
        """Direct derivatives (declared or inferred) of a model."""
        if self._children is None:
            kids: dict[str, list[str]] = {}
            for child, link in self.parent_links().items():
                kids.setdefault(link.base, []).append(child)
            self._children = kids
        key = self._lower.get(hf_id.lower(), hf_id)
        return list(self._children.get(key, []))


def _entry_line(root: Any, i: int, loc: tuple[Any, ...]) -> int | None:
    """The line of entry i's field at `loc` (or of the entry). Entries inherit from `defaults`,
    so a field the entry does not state names the entry's own line."""
    return yamlfile.node_line(root, ("models", i, *loc[:1]))


def _merge(defaults: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Entry over defaults. `openness` and `sources` merge one level deep (an entry may override
    one criterion or one source); everything else, a criterion included, is replaced whole."""
    out = dict(defaults)
    for k, v in entry.items():
        if k in ("openness", "sources") and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _field_of(loc: tuple[Any, ...]) -> str | None:
    return ".".join(str(x) for x in loc) or None


def load_file(path: Path | str, text: str | None = None) -> list[ModelEntry]:
    """Parse and validate one data file. Raises DataFileError naming file, line, entry, field."""
    path_s = str(path)
    if text is None:
        text = yamlfile.read_text(Path(path))
    root = yamlfile.compose(text, path_s).root
    raw = yamlfile.construct(root, path_s)
    try:
        data = DataFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        raise DataFileError(
            yamlfile.problem(err),
            path=path_s,
            field=_field_of(err["loc"]),
            hint="a data file has `version: 2` (or 1), optional `defaults` and a `models` list",
        ) from e
    if data.version >= 2 and {"checks", "unverified"} & set(data.defaults):
        raise DataFileError(
            "`checks` and `unverified` belong to each entry, not to `defaults`",
            path=path_s,
            field="defaults",
            hint="a fact is checked against each model's own source",
        )
    entries: list[ModelEntry] = []
    context = {"strict_provenance": data.version >= 2}
    for i, item in enumerate(data.models):
        name = str(item.get("id", f"#{i + 1}"))
        try:
            entry = ModelEntry.model_validate(_merge(dict(data.defaults), item), context=context)
        except ValidationError as e:
            err = e.errors()[0]
            raise DataFileError(
                yamlfile.problem(err),
                path=path_s,
                line=_entry_line(root, i, tuple(err["loc"])),
                entry=name,
                field=_field_of(err["loc"]),
                hint="see the schema in openscout/catalog/schema.py",
            ) from e
        if entry.license not in LICENSES:
            raise DataFileError(
                f"unknown licence {entry.license!r}",
                path=path_s,
                line=_entry_line(root, i, ()),
                entry=name,
                field="license",
                hint=f"known: {', '.join(sorted(LICENSES))}",
            )
        entries.append(entry)
    return entries


def load_entries(paths: Iterable[tuple[str, str]]) -> Catalog:
    """Build a catalog from (path, text) pairs, refusing duplicate ids across files."""
    seen: dict[str, str] = {}
    entries: list[ModelEntry] = []
    for path, text in paths:
        for entry in load_file(path, text):
            key = entry.id.lower()
            if key in seen:
                raise DataFileError(
                    f"duplicate id, first defined in {seen[key]}",
                    path=path,
                    entry=entry.id,
                    field="id",
                )
            seen[key] = path
            entries.append(entry)
    return Catalog(entries)


def _package_files() -> list[tuple[str, str]]:
    data = resources.files("openscout.catalog") / "data"
    files = sorted((p for p in data.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    return [(f"openscout/catalog/data/{p.name}", p.read_text(encoding="utf-8")) for p in files]


def _load(extra_dir: str | None) -> Catalog:
    files = _package_files()
    if extra_dir:
        files += [(str(p), yamlfile.read_text(p)) for p in sorted(Path(extra_dir).glob("*.yaml"))]
    return load_entries(files)


def check_joined(extra_dir: Path, path: Path, text: str) -> None:
    """Raise the DataFileError the catalog would give with `text` as `path` in `extra_dir`:
    a file valid alone may still repeat an id another file holds, and then no user file
    loads (a fine-tune named like a user's own entry: 31st probe)."""
    others = [p for p in sorted(extra_dir.glob("*.yaml")) if p.name != path.name]
    files = _package_files() + [(str(p), yamlfile.read_text(p)) for p in others]
    load_entries([*files, (str(path), text)])


def _dir_state(extra_dir: str | None) -> tuple[tuple[str, int, int], ...]:
    """What the user's catalog files are now (name, mtime, size): a change reloads them."""
    if not extra_dir:
        return ()
    state = []
    for p in sorted(Path(extra_dir).glob("*.yaml")):
        try:
            st = p.stat()
        except OSError:
            continue
        state.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(state)


# Catalogs (or the error a bad user file gave) by (folder, state of its files). A failure is
# kept too: a bad 2.7 MB file was parsed again on every page view, 20 s each (seventeenth
# probe). One load at a time, and a few folders kept (a test run reads hundreds).
MAX_KEPT = 4
_kept: dict[tuple[object, ...], Catalog | DataFileError] = {}
_kept_lock = threading.Lock()


def load_catalog(extra_dir: Path | str | None = None) -> Catalog:
    """The curated catalog (validated once per process), plus YAML files from `extra_dir`,
    read again when those files change."""
    folder = str(extra_dir) if extra_dir else None
    key = (folder, _dir_state(folder))
    with _kept_lock:
        got = _kept.get(key)
        if got is None:
            try:
                got = _load(folder)
            except DataFileError as e:
                got = e
            for old in [k for k in _kept if k[0] == folder]:
                del _kept[old]  # the folder's earlier state
            while len(_kept) >= MAX_KEPT:  # other folders, oldest first (dicts keep order)
                del _kept[next(iter(_kept))]
            _kept[key] = got
    if isinstance(got, DataFileError):
        raise got.with_traceback(None)
    return got


def forget_catalogs() -> None:
    """Drop every kept catalog (tests; a process that rewrote the package data)."""
    with _kept_lock:
        _kept.clear()


def load_user_catalog(home: Path | str) -> Catalog:
    """The curated catalog plus the user's own entries in <data dir>/catalog/*.yaml (the
    fine-tunes `openscout tune` makes, among others)."""
    extra = Path(home) / "catalog"
    return load_catalog(extra if extra.is_dir() else None)
