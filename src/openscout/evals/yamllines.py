"""YAML with line numbers: plain Python data plus the line of every mapping key and list entry.

PyYAML's composer keeps a mark on every node; we walk the node tree once, so errors found
later (by pydantic, or by variable substitution) can still say "file:line".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openscout.errors import DataFileError

Loc = tuple[str | int, ...]


def load_with_lines(path: Path) -> tuple[Any, dict[Loc, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(f"cannot read the file: {e}", path=str(path)) from e
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DataFileError(
            f"malformed YAML: {getattr(e, 'problem', None) or e}",
            path=str(path),
            line=mark.line + 1 if mark else None,
        ) from e
    lines: dict[Loc, int] = {}
    if node is None:
        return None, lines
    return _walk(node, (), lines, path), lines


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: Path) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k, v in node.value:
            key = _scalar(k, path)
            out[key] = _walk(v, (*loc, key), lines, path)
            lines[(*loc, key)] = k.start_mark.line + 1  # the key's line, not its value's
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(v, (*loc, i), lines, path) for i, v in enumerate(node.value)]
    return _scalar(node, path)


def _scalar(node: yaml.Node, path: Path) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise DataFileError(
            "a mapping key must be a plain value", path=str(path), line=node.start_mark.line + 1
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of the deepest part of `loc` that exists in the file."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None
