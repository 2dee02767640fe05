"""Family trees: base models, their fine-tunes, quantizations, merges and adapters.

A link is *declared* when the entry (or the Hub's `base_model` metadata) names the base, and
*inferred* when only the model card's prose does ("fine-tuned from X"); inferred links say so
and quote the sentence they came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openscout.catalog.loader import Catalog
    from openscout.catalog.schema import ModelEntry

_TRIGGERS = (
    (r"fine[- ]?tun(?:ed|ing)\s+(?:version\s+)?(?:of|from|on(?:\s+top\s+of)?)", "fine-tune"),
    (r"fine[- ]?tuned\s+from(?:\s+model)?", "fine-tune"),
    (r"finetuned\s+from(?:\s+model)?", "fine-tune"),
    (
        r"(?:further|continued?)\s+pre-?train(?:ed|ing)\s+(?:of|from|on\s+top\s+of)",
        "continued-pretraining",
    ),
    (r"distill(?:ed|ation)\s+(?:from|of)", "distillation"),
    (r"quantiz(?:ed|ation)\s+(?:version\s+)?of", "quantization"),
    (r"(?:lora|adapter)\s+(?:for|on(?:\s+top\s+of)?)", "adapter"),
    (r"merge\s+of", "merge"),
    (r"based\s+on", "fine-tune"),
)
_TRIGGER_RE = re.compile("|".join(f"(?P<t{i}>{p})" for i, (p, _) in enumerate(_TRIGGERS)), re.I)
_HF_ID_RE = re.compile(r"\b([A-Za-z0-9][A-Za-z0-9_.-]{1,95}/[A-Za-z0-9][A-Za-z0-9_.-]{1,95})")
WINDOW = 120  # characters after a trigger phrase in which the base must be named


@dataclass(frozen=True)
class Link:
    child: str
    base: str
    relation: str
    inferred: bool = False
    evidence: str | None = None  # the card sentence an inferred link rests on

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "relation": self.relation,
            "inferred": self.inferred,
            "evidence": self.evidence,
        }


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class NameIndex:
    """Known ids by lower-cased id and by their names written without punctuation."""

    by_norm: dict[str, str]
    lower_ids: dict[str, str]

    @classmethod
    def of(cls, known_ids: list[str]) -> NameIndex:
        by_norm: dict[str, str] = {}
        for kid in known_ids:
            by_norm.setdefault(_norm(kid), kid)
            by_norm.setdefault(_norm(kid.split("/", 1)[1]), kid)
        return cls(by_norm, {k.lower(): k for k in known_ids})


def infer_base(
    card_text: str, known_ids: list[str] | NameIndex, self_id: str | None = None
) -> Link | None:
    """Find the base model named after a phrase like 'fine-tuned from' in model-card text.

    An explicit `org/name` after the phrase wins; otherwise a known catalog id or its repo name
    written out (e.g. 'Mistral-7B-v0.1') counts. Returns None when nothing is named."""
    index = known_ids if isinstance(known_ids, NameIndex) else NameIndex.of(known_ids)
    by_norm, lower_ids = index.by_norm, index.lower_ids
    for m in _TRIGGER_RE.finditer(card_text):
        relation = next(_TRIGGERS[int(k[1:])][1] for k, v in m.groupdict().items() if v)
        after = card_text[m.end() : m.end() + WINDOW]
        sentence = _sentence_around(card_text, m.start(), m.end())
        for hit in _HF_ID_RE.finditer(after):
            cand = hit.group(1).rstrip(".,;:)")
            if "huggingface.co" in cand or cand.lower() == (self_id or "").lower():
                continue
            return Link(self_id or "", lower_ids.get(cand.lower(), cand), relation, True, sentence)
        words = re.findall(r"[A-Za-z0-9][A-Za-z0-9_.-]*", after)[:8]
        # Longest run of words that spells a known id's name, e.g. "Mistral 7B v0.1".
        for n in range(min(4, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                key = _norm("".join(words[i : i + n]))
                if key in by_norm and by_norm[key].lower() != (self_id or "").lower():
                    return Link(self_id or "", by_norm[key], relation, True, sentence)
    return None


_SENT_END = re.compile(r"[.!?](?=\s+[A-Z(\[*-])|\n")


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) holding text[start:end]; a dot inside 'v0.1' does not end a sentence."""
    left = 0
    for m in _SENT_END.finditer(text, 0, start):
        left = m.end()
    m = _SENT_END.search(text, end)
    right = m.end() if m else len(text)
    return " ".join(text[left:right].split())[:300]


def link_of(entry: ModelEntry, known_ids: list[str] | NameIndex) -> Link | None:
    if entry.base_model and entry.relation:
        return Link(entry.id, entry.base_model, entry.relation)
    if entry.card_excerpt:
        link = infer_base(entry.card_excerpt, known_ids, entry.id)
        if link:
            return Link(entry.id, link.base, link.relation, True, link.evidence)
    return None


def parent_links(catalog: Catalog) -> dict[str, Link]:
    index: NameIndex | None = None  # built only if some entry needs inference
    links = {}
    for e in catalog:
        if e.base_model is None and e.card_excerpt and index is None:
            index = NameIndex.of(catalog.ids)
        link = link_of(e, index or [])
        if link:
            links[e.id] = link
    return links


def ancestors(catalog: Catalog, hf_id: str) -> list[Link]:
    """The chain of links from a model up to its root (cycles are cut, not followed)."""
    links = catalog.parent_links()
    chain: list[Link] = []
    seen = {hf_id.lower()}
    entry = catalog.get(hf_id)
    cur = entry.id if entry else hf_id
    while cur in links:
        link = links[cur]
        chain.append(link)
        base_entry = catalog.get(link.base)
        cur = base_entry.id if base_entry else link.base
        if cur.lower() in seen:
            break
        seen.add(cur.lower())
    return chain


def descendants(catalog: Catalog, hf_id: str) -> list[str]:
    """Every model derived from `hf_id`, at any depth, breadth first."""
    out: list[str] = []
    seen = {hf_id.lower()}
    queue = [hf_id]
    while queue:
        for child in catalog.children(queue.pop(0)):
            if child.lower() not in seen:
                seen.add(child.lower())
                out.append(child)
                queue.append(child)
    return out


@dataclass
class TreeNode:
    id: str
    name: str | None
    in_catalog: bool
    relation: str | None = None
    inferred: bool = False
    evidence: str | None = None
    domain: str | None = None
    languages: list[str] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)
    cut: bool = False  # it has derivatives deeper than MAX_TREE_DEPTH, not shown

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "in_catalog": self.in_catalog,
            "relation": self.relation,
            "inferred": self.inferred,
            "evidence": self.evidence,
            "domain": self.domain,
            "languages": self.languages,
            "children": [c.to_dict() for c in self.children],
            "cut": self.cut,
        }


# generations shown below a model: every reader of the tree (to_dict, the terminal's tree,
# the page's template) recurses, and a user catalog's chain of 700 fine-tunes went past
# Python's stack (seventeenth probe)
MAX_TREE_DEPTH = 50


def _node(
    catalog: Catalog, hf_id: str, link: Link | None, seen: set[str], depth: int = 0
) -> TreeNode:
    e = catalog.get(hf_id)
    node = TreeNode(
        id=e.id if e else hf_id,
        name=e.name if e else None,
        in_catalog=e is not None,
        relation=link.relation if link else None,
        inferred=bool(link and link.inferred),
        evidence=link.evidence if link else None,
        domain=e.domain if e else None,
        languages=list(e.languages) if e else [],
    )
    seen.add(node.id.lower())
    links = catalog.parent_links()
    for child in sorted(catalog.children(node.id)):
        if child.lower() in seen:
            continue
        if depth >= MAX_TREE_DEPTH:
            node.cut = True
            break
        node.children.append(_node(catalog, child, links[child], seen, depth + 1))
    return node


def family_tree(catalog: Catalog, hf_id: str) -> dict[str, Any]:
    """A model's ancestors (nearest first) and the tree of everything derived from it."""
    chain = ancestors(catalog, hf_id)
    root = _node(catalog, hf_id, chain[0] if chain else None, set())
    return {
        "id": root.id,
        "ancestors": [{"id": link.base, **link.to_dict(), "child": link.child} for link in chain],
        "tree": root.to_dict(),
        "descendant_count": len(descendants(catalog, hf_id)),
    }
