"""The one way openscout reads YAML: bounded, safe, and able to name lines.

Every YAML file we read (eval suites, `models.yaml`, catalog files, lm-eval task files) comes
through here, so the bounds hold for all of them:

- the file's size is checked before it is read (`MAX_BYTES`, or the caller's bound);
- aliases may add at most `MAX_ALIAS_UNITS` to the document (a unit is one node or 64
  characters of scalar text), so a "billion laughs" file is refused while it is composed,
  before anything walks the expanded tree; an alias inside its own anchor is refused too;
- a document of more than `MAX_NODES` nodes is refused as soon as it gets there;
- `limits` lets a caller stop building a list after N entries (a suite's tests under
  `--limit`): the rest is parsed and skipped, never built.

Plain scalars are resolved by YAML 1.2's core schema (yamlcore.py): `NO`, `1:30`, `010` and
`2024-01-31` are text, not False, 90, 8 and a date.
Only PyYAML's safe constructors run: tags such as `!!python/object` are refused. A key
written twice in one mapping is refused too (YAML forbids it; PyYAML would silently keep the
last one, so an entry with two `checks:` blocks would lose the first).
Errors are DataFileErrors naming the file and the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from openscout import datafile
from openscout.errors import DataFileError
from openscout.yamlcore import CoreResolver, construct_float, construct_int

MAX_BYTES = 16 * 2**20
MAX_ALIAS_UNITS = 20_000
MAX_NODES = 1_000_000
# nesting: composing and constructing recurse per level, and Python stops at about 1000
MAX_DEPTH = 200
_UNIT_CHARS = 64

Loc = tuple[Any, ...]

if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser as _Parser  # events come from libyaml: fast

    def _init_parser(self: Any, text: str) -> None:
        _Parser.__init__(self, text)
else:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        pass

    def _init_parser(self: Any, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        _PyParser.__init__(self)


class YAMLBoundError(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark, self.context_mark = problem, mark, None


class _BoundedLoader(Composer, _Parser, SafeConstructor, CoreResolver):  # type: ignore[misc]
    """PyYAML's composer on libyaml's events, counting what aliases add as it goes."""

    def __init__(self, text: str, limits: dict[Loc, int]) -> None:
        _init_parser(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        CoreResolver.__init__(self)
        self.limits = limits
        self.units = 0  # nodes built plus what aliases add
        self.alias_units = 0
        self.weights: dict[str, int] = {}  # anchor -> units of its node, aliases expanded
        self.open: set[str] = set()  # anchors whose node is still being composed
        self.stack: list[Loc] = [()]  # paths of the nodes being composed
        self.skipped: dict[Loc, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            if event.anchor in self.open:
                raise YAMLBoundError(
                    "an alias refers to the node that contains it", event.start_mark
                )
            weight = self.weights.get(event.anchor, 1)
            self.alias_units += weight
            self._count(weight, event.start_mark)
            if self.alias_units > MAX_ALIAS_UNITS:
                raise YAMLBoundError(
                    f"aliases expand the document beyond {MAX_ALIAS_UNITS} nodes "
                    "(an alias bomb?); write the values out instead",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        before = self.units
        self._count(1, event.start_mark)
        # the path of this node: its parent's (top of the stack) plus its index or key
        if isinstance(index, int):
            path: Loc = (*self.stack[-1], index)
        elif isinstance(index, ScalarNode):
            path = (*self.stack[-1], index.value)
        else:
            path = () if parent is None else ("<key>",)
        if anchor:
            self.open.add(anchor)
        if len(self.stack) > MAX_DEPTH:
            raise YAMLBoundError(
                f"the document nests deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self.stack.append(path)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.stack.pop()
        if isinstance(node, ScalarNode):
            self._count(len(node.value) // _UNIT_CHARS, event.start_mark)
        if anchor:
            self.open.discard(anchor)
            self.weights[anchor] = self.units - before
        return node

    def _count(self, n: int, mark: Any) -> None:
        self.units += n
        if self.units > MAX_NODES:
            raise YAMLBoundError(f"the document has more than {MAX_NODES} nodes", mark)

    def compose_sequence_node(self, anchor: str | None) -> Node:
        # PyYAML's own, plus the path of the node and the cut after `limits[path]` entries
        path = self.stack[-1]
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(SequenceNode, None, start.implicit)
        node = SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        keep = self.limits.get(path)
        index = 0
        while not self.check_event(SequenceEndEvent):
            if keep is not None and index >= keep:
                self._skip_node()
                self.skipped[path] = self.skipped.get(path, 0) + 1
            else:
                node.value.append(self.compose_node(node, index))
            index += 1
        node.end_mark = self.get_event().end_mark
        return node

    def _skip_node(self) -> None:
        """Consume one node's events without building it (anchors inside are still built,
        since a later alias may need them)."""
        depth = 0
        while True:
            event = self.peek_event()
            if getattr(event, "anchor", None) and not isinstance(event, AliasEvent):
                self.compose_node(None, None)
            else:
                self.get_event()
                if isinstance(event, CollectionStartEvent):
                    depth += 1
                elif isinstance(event, SequenceEndEvent | MappingEndEvent):
                    depth -= 1
            if depth == 0:
                return


def error_line(e: Exception, text: str) -> int | None:
    """The 1-based line a YAML error should name. For a construct left open (a quote, a
    bracket) PyYAML notices only at the end of the file: name the line where it was opened.
    Reader errors (a NUL, a control character) carry a character position instead of a mark."""
    problem = getattr(e, "problem_mark", None)
    context = getattr(e, "context_mark", None)
    at_end = problem is not None and problem.index >= len(text.rstrip())
    mark = context if at_end and context is not None else problem
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(e, "position", None)
    return text[:position].count("\n") + 1 if isinstance(position, int) else None


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """A user's YAML file as text: a regular file, its size checked before it is read, bytes
    that are not UTF-8 named by line."""
    data = datafile.read_bytes(path, max_bytes, "YAML files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataFileError(f"not UTF-8 text ({e.reason})", path=str(path), line=line) from e
    return joined_surrogates(text) if path.suffix == ".json" else text


_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def joined_surrogates(text: str) -> str:
    """JSON as YAML reads it: JSON writes a character beyond the BMP (an emoji) as a pair of
    surrogate escapes, which YAML refuses, so a suite written by Python's json.dump was
    refused (42nd probe). Each pair becomes the character's own escape, on the same line."""
    return _PAIR.sub(
        lambda m: "\\U%08x" % (0x10000 + ((int(m[1], 16) - 0xD800) << 10) + int(m[2], 16) - 0xDC00),
        text,
    )


class Composed:
    """A composed document: its root node (or None), and how many entries each cut list
    left unbuilt."""

    def __init__(self, root: Node | None, skipped: dict[Loc, int]) -> None:
        self.root, self.skipped = root, skipped


def compose(
    text: str, path: str, *, limits: dict[Loc, int] | None = None, hint: str | None = None
) -> Composed:
    """The node tree of one YAML document, within the bounds above."""
    if len(text) > MAX_BYTES * 4:
        raise DataFileError(f"the text is over {MAX_BYTES * 4} characters", path=path)
    loader = _BoundedLoader(text, limits or {})
    try:
        root = loader.get_single_node()
        return Composed(root, loader.skipped)
    except yaml.YAMLError as e:
        raise DataFileError(
            f"malformed YAML: {getattr(e, 'problem', None) or e}",
            path=path,
            line=error_line(e, text),
            hint=hint,
        ) from e
    finally:
        loader.dispose()


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key written twice in one mapping (merge keys `<<` aside:
    an explicit key overriding a merged one is what merging is for)."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, ScalarNode
                ):
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in first:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first written on line {first[key]})",
                        key_node.start_mark,
                    )
                first[key] = line
        return super().construct_mapping(node, deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, AttributeError, IndexError, KeyError, TypeError) as e:
            # 5000 digits, 2020-13-45, `!!timestamp "x"`, `!!int ""`: no such value; name the line
            raise yaml.constructor.ConstructorError(
                None, None, f"no such value ({str(e)[:200]})", node.start_mark
            ) from e

    def construct_yaml_int(self, node: Node) -> int:
        _refuse_huge_number(node)
        return construct_int(node)

    def construct_yaml_float(self, node: Node) -> float:
        return construct_float(node)


def _refuse_huge_number(node: Node) -> None:
    """An integer of 20,000 hex digits builds, then fails wherever it is printed (ninth
    probe); one of 5,000 digits is past Python's conversion limit."""
    if isinstance(node, ScalarNode) and len(node.value) > _MAX_NUMBER_CHARS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of {len(node.value)} characters", node.start_mark
        )


_MAX_NUMBER_CHARS = 1000
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", _UniqueKeyLoader.construct_yaml_float)


def construct(node: Node | None, path: str, hint: str | None = None) -> Any:
    """Plain Python data from a composed node (safe constructors only)."""
    if node is None:
        return None
    loader = _UniqueKeyLoader("")
    try:
        return loader.construct_document(node)
    except (ValueError, OverflowError) as e:  # 5000 digits, 2020-13-45: no such value
        raise DataFileError(f"unsupported YAML value: {str(e)[:200]}", path=path, hint=hint) from e
    except yaml.YAMLError as e:  # a !!python/object tag, a duplicate key: refused
        mark = getattr(e, "problem_mark", None)
        problem = str(getattr(e, "problem", None) or e)
        raise DataFileError(
            problem
            if problem.startswith("duplicate key")
            else f"unsupported YAML value: {problem}",
            path=path,
            line=int(mark.line) + 1 if mark is not None else None,
            hint=hint,
        ) from e
    finally:
        loader.dispose()


def load(text: str, path: str, hint: str | None = None) -> Any:
    """compose + construct: what `yaml.safe_load` gives, within the bounds."""
    return construct(compose(text, path, hint=hint).root, path, hint)


def load_file(path: Path, max_bytes: int = MAX_BYTES) -> Any:
    return load(read_text(path, max_bytes), str(path))


def top_keys(text: str, path: str) -> set[str]:
    """The keys of a top-level mapping, from parser events alone (nothing is built, nothing
    expanded: cheap even for a file that would be too big to compose)."""
    loader = _BoundedLoader(text, {})
    keys: set[str] = set()
    depth, children, root_is_mapping = 0, 0, False
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, CollectionStartEvent):
                if depth == 0:
                    root_is_mapping = isinstance(event, MappingStartEvent)
                depth += 1
            elif isinstance(event, SequenceEndEvent | MappingEndEvent):
                depth -= 1
                children += depth == 1
            elif depth == 1 and isinstance(event, ScalarEvent | AliasEvent):
                if root_is_mapping and children % 2 == 0 and isinstance(event, ScalarEvent):
                    keys.add(event.value)
                children += 1
    except yaml.YAMLError as e:
        raise DataFileError(f"malformed YAML: {e}", path=path, line=error_line(e, text)) from e
    finally:
        loader.dispose()
    return keys


def node_line(root: Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node on a validation error's path."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is None:
                break
            line = pair[0].start_mark.line + 1  # the key's line, not its value's
            node = pair[1]
        elif isinstance(node, SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


M = TypeVar("M", bound=BaseModel)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "nothing" if value is None else type(value).__name__


def problem(err: ErrorDetails) -> str:
    """pydantic's message for one problem, in the file's terms: "a valid dictionary or
    instance of _RegistryFile" names our classes, not what the file should hold."""
    if err["type"] in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (key: value lines), found {_kind(err.get('input'))}"
    return err["msg"]


def validated(
    model: type[M],
    raw: Any,
    path: str,
    root: Node | None = None,
    *,
    at: Loc | None = None,
    entry: str | None = None,
    hint: str | None = None,
) -> M:
    """`raw` as `model`; pydantic's first problem as a DataFileError naming the file, the field
    and, given `at` (the path of `raw` in the document), the line and entry."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        raise DataFileError(
            problem(err),
            path=path,
            line=node_line(root, (*at, *loc[:1])) if at is not None else None,
            entry=entry,
            field=".".join(map(str, loc)) or None,
            hint=hint,
        ) from e
