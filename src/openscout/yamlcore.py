"""YAML 1.2's core schema for plain scalars, which every YAML file openscout reads uses.

PyYAML resolves YAML 1.1's implicit types: `NO`, `yes`, `on` and `off` are booleans, `1:30`
is 90 (base 60), `010` is 8 (octal), `1_000` is 1000 and `2024-01-31` is a date. A suite's
`vars: {code: NO}` asked a model about the country "False" (fortieth probe). Here only these
plain scalars are anything but text:

- null: `null`, `Null`, `NULL`, `~` and nothing at all;
- true/false: `true`, `True`, `TRUE`, `false`, `False`, `FALSE`;
- integers: `12`, `-3`, `+7`, `0x1F`, `0o17`;
- floats: `1.5`, `-0.25`, `.5`, `1e3`, `2.5E-3`, `.inf`, `-.inf`, `.nan`.

One step stricter than YAML 1.2: a decimal number written with a leading zero (`010`,
`007.5`) is text, as JSON has no such number and 1.2 would drop the zero (a code, a postcode).
Quoted scalars are always text, and an explicit tag (`!!int "5"`) still asks for its type.

`Dumper` writes what this reads back: PyYAML's own dumper leaves `1e3` or `0o17` unquoted
(strings under 1.1, numbers here), so a registry holding them would not read back as written.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode
from yaml.resolver import BaseResolver

STR_TAG = "tag:yaml.org,2002:str"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$")
FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_DIGITS = list("-+0123456789")


class CoreResolver(BaseResolver):
    """Plain scalars by the core schema above; merge keys (`<<`) as PyYAML reads them."""


for _tag, _pattern, _first in (
    ("null", NULL, ["~", "n", "N", ""]),
    ("bool", BOOL, list("tTfF")),
    ("int", INT, _DIGITS),  # before float: a float's pattern matches `12` too
    ("float", FLOAT, [*_DIGITS, "."]),
    ("merge", re.compile(r"^(?:<<)$"), ["<"]),
):
    CoreResolver.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", _pattern, _first)


def construct_int(node: Node) -> int:
    """An integer in a core form (`!!int` of anything else is no such value)."""
    text = str(node.value)
    if not INT.match(text):
        raise ValueError(f"{text[:40]!r} is not an integer")
    if text.startswith(("0x", "0o")):
        return int(text[2:], 16 if text[1] == "x" else 8)
    return int(text)


def construct_float(node: Node) -> float:
    text = str(node.value)
    if INT.match(text) and not text.startswith(("0x", "0o")):
        return float(text)  # `!!float 1`
    if not FLOAT.match(text):
        raise ValueError(f"{text[:40]!r} is not a number")
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float("nan") if lowered == ".nan" else float(text)


_CORE = CoreResolver()


class Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting a string that either YAML 1.1 or the core schema would
    read as true/false, null or a number, so it reads back as text under both. A date is
    left plain (`released: 2024-01-31`): text here, and a date is what it means elsewhere."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        tag = super().resolve(kind, value, implicit)
        if kind is ScalarNode and tag in (STR_TAG, TIMESTAMP_TAG) and implicit[0]:
            return str(_CORE.resolve(kind, value, implicit))
        return str(tag)


def _date_as_text(dumper: Dumper, value: datetime.date) -> Any:
    return dumper.represent_str(value.isoformat())  # read back as text anyway


Dumper.add_representer(datetime.date, _date_as_text)
Dumper.add_representer(datetime.datetime, _date_as_text)


def dump(data: Any, **options: Any) -> str:
    """`yaml.safe_dump`, readable back by the core schema."""
    return str(yaml.dump(data, Dumper=Dumper, **options))
