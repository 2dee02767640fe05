"""YAML with line numbers: plain Python data plus the line of every mapping key and list entry.

PyYAML's composer keeps a mark on every node; we walk the node tree once, so errors found
later (by pydantic, or by variable substitution) can still say "file:line".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openscout.errors import DataFileError, read_utf8, yaml_error_line

Loc = tuple[str | int, ...]


def load_with_lines(path: Path) -> tuple[Any, dict[Loc, int]]:
    try:
        text = read_utf8(path)  # bytes that are not UTF-8 name their line
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e}", path=str(path)) from e
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise DataFileError(
            f"malformed YAML: {getattr(e, 'problem', None) or e}",
            path=str(path),
            line=yaml_error_line(e, text),
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
    except yaml.YAMLError as e:  # e.g. a !!python/object tag: the safe loader refuses it
        raise DataFileError(
            f"unsupported YAML value: {getattr(e, 'problem', None) or e}",
            path=str(path),
            line=node.start_mark.line + 1,
        ) from e
    finally:
        loader.dispose()


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of the deepest part of `loc` that exists in the file."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None
