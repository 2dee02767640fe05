"""Where a suite's text holds Nunjucks syntax openscout does not fill: each `{{ ... }}`
and each tag or comment, read to its real end (quotes, braces inside) in one pass, so the
suite loader can refuse those that name a test's variable (evals/suite.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

# any `{{ ... }}` naming a variable the test sets outside its quotes is a template: `{{ a or
# "x" }}`, `{{ a + 1 }}` (51st probe), `{{ not a }}`, `{{ "x" if a else "y" }}` (54th) were
# sent as written. Each runs to its `}}` outside quotes; possessive, no backtracking
_EXPR_OPEN = re.compile(r"\{\{")
_EXPR_BODY = re.compile(
    r"""(?:[^"'}]++|"(?:[^"\\]|\\.)*+"?|'(?:[^'\\]|\\.)*+'?|\}(?!\}))*+""", re.S
)
_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*+"?|'(?:[^'\\]|\\.)*+'?""", re.S)

# Nunjucks' tags and comments naming a test's variable are refused (52nd probe): each runs
# to its closer outside quotes; possessive, no backtracking
_TAG_OPEN = re.compile(r"(?<!\{)\{[%#]")  # `{{#each x}}` is Handlebars, no comment
_TAG_BODY = {
    "%": re.compile(r"""(?:[^"'%]++|"(?:[^"\\]|\\.)*+"?|'(?:[^'\\]|\\.)*+'?|%(?!\}))*+""", re.S),
    "#": re.compile(r"(?:[^#]++|#(?!\}))*+", re.S),
}


def tags(text: str) -> Iterator[str]:
    """Each `{% ... %}` and `{# ... #}` in text. One holding a brace (`{% if k == "{" %}`)
    was not seen as a tag and was sent as written (53rd probe). An opener never closed is
    no tag (`${#text}`, a Pandoc `{#id}`, printf's `{%d}`), and Nunjucks reads all after it
    as inside it: the scan ends there."""
    at = 0
    while m := _TAG_OPEN.search(text, at):
        kind = m[0][1]
        body = _TAG_BODY[kind].match(text, m.end())
        end = body.end() if body else m.end()
        if not text.startswith(kind + "}", end):
            return
        at = end + 2
        yield text[m.start() : at]


def expressions(text: str) -> Iterator[tuple[str, str]]:
    """Each `{{ ... }}` in text, whole and inside, its end the first `}}` outside quotes. One
    never closed ends the scan: Nunjucks reads all after it as inside it."""
    at = 0
    while m := _EXPR_OPEN.search(text, at):
        body = _EXPR_BODY.match(text, m.end())
        end = body.end() if body else m.end()
        if not text.startswith("}}", end):
            return
        at = end + 2
        yield text[m.start() : at], text[m.end() : end]


def unquoted(inside: str) -> str:
    """An expression's text without its quoted strings: names in them are text, not names."""
    return _QUOTED.sub("", inside)
