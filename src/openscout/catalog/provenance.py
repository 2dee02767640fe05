"""Where each catalog fact was checked: the per-fact provenance record and its rules.

A *fact* is one checkable claim about a model, named by a key:

    released, params_b, active_params_b, license, languages, base_model (with its relation)
    arch.layers, arch.heads, arch.kv_heads, arch.head_dim, arch.hidden, arch.vocab,
    arch.context, arch.sliding_window, arch.experts, arch.active_experts
    openness.training_data, openness.weights, openness.evaluation_code,
    openness.training_code, openness.training_logs

Each fact an entry states is either *checked* (a `Check`: the URL read and a short quote or
value from it) or *unverified* (listed under `unverified`: nobody has read it in a source yet;
shown as such, never presented as checked). Labels that are our own classification (name,
organisation, family, tasks, domain, description) are not facts in this sense.

This module is pure: the shared-value analysis takes YAML text and returns data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from openscout import yamlfile

TOP_FACTS: tuple[str, ...] = (
    "released",
    "params_b",
    "active_params_b",
    "license",
    "languages",
    "base_model",
)
ARCH_FACTS: tuple[str, ...] = (
    "layers",
    "heads",
    "kv_heads",
    "head_dim",
    "hidden",
    "vocab",
    "context",
    "sliding_window",
    "experts",
    "active_experts",
)
OPENNESS_FACTS: tuple[str, ...] = (
    "training_data",
    "weights",
    "evaluation_code",
    "training_code",
    "training_logs",
)
FACT_KEYS: tuple[str, ...] = (
    TOP_FACTS
    + tuple(f"arch.{k}" for k in ARCH_FACTS)
    + tuple(f"openness.{k}" for k in OPENNESS_FACTS)
)


class Citation(BaseModel):
    """Another source for the same fact (one that disagrees, or a second confirmation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: HttpUrl
    quote: str = Field(min_length=1, max_length=400)


class Check(BaseModel):
    """One fact checked against one source: the URL read and what it says there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: HttpUrl
    quote: str = Field(
        min_length=1, max_length=400, description="a short quote or the value as the source has it"
    )
    note: str | None = Field(default=None, description="how the value follows from the quote")
    disagrees: list[Citation] = Field(
        default_factory=list,
        description="sources that say otherwise; `note` says why the catalog uses `source`",
    )


def stated_facts(data: dict[str, Any]) -> list[str]:
    """The fact keys an entry (a plain dict, or a dumped ModelEntry) states a value for.

    Openness criteria always count: the schema fills a missing one with `unknown`, and an
    `unknown` is a claim too ("nothing public was found")."""
    keys = [k for k in TOP_FACTS if data.get(k) not in (None, [], "")]
    arch = data.get("arch") or {}
    keys += [f"arch.{k}" for k in ARCH_FACTS if isinstance(arch, dict) and arch.get(k) is not None]
    keys += [f"openness.{k}" for k in OPENNESS_FACTS]
    return keys


def provenance_problems(
    stated: Iterable[str], checks: Iterable[str], unverified: Iterable[str], *, strict: bool
) -> list[str]:
    """What is wrong with an entry's provenance record (empty when it is sound).

    Always: keys are known facts, a fact is not both checked and unverified, and only stated
    facts are checked. Strict (data files of version 2): every stated fact is accounted for."""
    stated_s, checks_s, unverified_s = set(stated), set(checks), set(unverified)
    problems = []
    unknown = (checks_s | unverified_s) - set(FACT_KEYS)
    if unknown:
        problems.append(f"unknown fact keys {sorted(unknown)}; known: {', '.join(FACT_KEYS)}")
    both = checks_s & unverified_s
    if both:
        problems.append(f"facts both checked and unverified: {sorted(both)}")
    idle = (checks_s | unverified_s) - stated_s - unknown
    if idle:
        problems.append(
            f"checks or unverified marks for facts the entry does not state: {sorted(idle)}"
        )
    if strict:
        missing = stated_s - checks_s - unverified_s
        if missing:
            problems.append(
                f"facts with neither a check nor an unverified mark: {sorted(missing)}"
                " (add a check with source and quote, or list them under `unverified`)"
            )
    return problems


# ---- values shared through YAML anchors or file-level defaults ---------------------------


def _fact_nodes(item: yaml.MappingNode) -> dict[str, yaml.Node]:
    """The YAML node holding each fact of one entry (top-level, arch.* and openness.*)."""
    out: dict[str, yaml.Node] = {}
    for key_node, value in item.value:
        key = str(key_node.value)
        if key in TOP_FACTS:
            out[key] = value
        elif key in ("arch", "openness"):
            out[f"{key}.*"] = value  # the whole mapping, when it is shared by alias
            if isinstance(value, yaml.MappingNode):
                for sub_key, sub_value in value.value:
                    out[f"{key}.{sub_key.value}"] = sub_value
    return out


def shared_facts(text: str) -> dict[str, set[str]]:
    """For each entry id of one data file, the facts whose value it does not state itself:
    taken from the file's `defaults`, or shared with another entry through a YAML anchor."""
    root = yamlfile.compose(text, "<catalog file>").root
    if not isinstance(root, yaml.MappingNode):
        return {}
    top = {str(k.value): v for k, v in root.value}
    defaults = top.get("defaults")
    default_keys: set[str] = set()
    if isinstance(defaults, yaml.MappingNode):
        default_keys = set(_fact_nodes(defaults)) - {"arch.*", "openness.*"}
    models = top.get("models")
    if not isinstance(models, yaml.SequenceNode):
        return {}
    per_entry: list[tuple[str, dict[str, yaml.Node], dict[str, yaml.Node]]] = []
    owners: dict[int, set[str]] = {}
    for i, item in enumerate(models.value):
        if not isinstance(item, yaml.MappingNode):
            continue
        own = {str(k.value): v for k, v in item.value}
        hf_id = str(own["id"].value) if "id" in own else f"#{i + 1}"
        nodes = _fact_nodes(item)
        per_entry.append((hf_id, nodes, own))
        for node in nodes.values():
            owners.setdefault(id(node), set()).add(hf_id)
    result: dict[str, set[str]] = {}
    for hf_id, nodes, own in per_entry:
        shared = {k for k, node in nodes.items() if len(owners[id(node)]) > 1}
        for key in default_keys:
            head = key.partition(".")[0]
            if head not in own:
                shared.add(key)  # inherited whole from the defaults
            elif head == "openness" and key not in nodes:
                shared.add(key)  # one criterion merged in from the defaults
        result[hf_id] = {k for k in shared if k in FACT_KEYS}
    return result
