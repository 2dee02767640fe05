"""User suites: a YAML file of prompts with variables, an optional system prompt, and tests.

    name: support-replies            # default: the file name
    version: "1"                     # bump when you change the suite
    description: replies to customers
    system: You are a helpful support agent.
    prompts:
      - "Reply to this customer: {{message}}"
    defaults: {max_tokens: 128, temperature: 0, stop: []}
    threshold: 1.0                   # an item passes when its weighted score reaches this
    judge: smollm2-135m-instruct     # default judge for llm-rubric assertions
    assert: []                       # assertions applied to every test
    tests:
      - vars: {message: "Where is my parcel?"}
        threshold: 0.5
        assert:
          - {type: icontains, value: parcel, weight: 2}
          - {type: llm-rubric, value: "is polite and offers help"}

Each (prompt, test) pair is one item. `{{name}}` is replaced by the test's variable in the
prompts, the system prompt and assertion values. Every error names the file and line.
The file is read through openscout.yamlfile (size, alias and node bounds); with a limit,
tests after the ones needed are parsed but never built. `python` assertions are refused
unless the caller trusts the suite (see assertions.py).

Products of a suite's parts are bounded before any item is built (each part alone passed
the file bounds, yet 20,000 stops x 20,000 tests ran eval out of memory; twelfth probe):
- at most MAX_STOPS (16) strings in `defaults.stop`;
- at most MAX_ASSERTIONS (100) assertions a test, the suite-level ones included;
- at most MAX_ITEMS (200,000) items, prompts x tests (with a limit, only the items built);
- at most MAX_CHECKS (1,000,000) assertions over all items;
- stop strings, vars, judges and descriptions, which every item carries, count towards
  MAX_SUITE_FILLED_CHARS once an item.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from openscout import yamlfile
from openscout.errors import DataFileError
from openscout.evals.items import Item
from openscout.evals.loading import LoadedSuite
from openscout.evals.nunjucks_scan import expressions, unquoted
from openscout.evals.nunjucks_scan import tags as nunjucks_tags

Loc = tuple[Any, ...]
SUITE_BYTES = 16 * 2**20  # about 200,000 short tests; a bigger file is refused unread

AssertionType = Literal[
    "equals",
    "contains",
    "icontains",
    "regex",
    "is-json",
    "json-schema",
    "python",
    "max-length",
    "similar",
    "llm-rubric",
    "not-equals",
    "not-contains",
    "not-icontains",
    "not-regex",
    "not-is-json",
]
# `{{name}}`, `{{name.key}}` or `{{name.0}}` (promptfoo's Nunjucks reads dotted names into
# mappings and lists), and a filter after `|`, which is refused: it was sent to the model
# as written (40th probe, low)
_VAR = re.compile(
    r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+))*)\s*(\|[^{}]*)?\}\}"
)
# a `{{ ... }}` that reads as a name, a key or an index but is not a variable above is
# refused, not sent as written (`{{items[0]}}`, `{{first-name}}` reached the model and the
# assertions: 47th probe); code and other templates (`style={{color: 'red'}}`, `{{}}`,
# `{{#each xs}}`) are text (48th). Names in any script, and brackets with spaces, are read
# as names (`{{café}}`, `{{ user['first name'] }}`: 48th), letters with combining marks too
# (`{{नाम}}`, a name in NFD: 49th), and so are brackets after a space (`{{ a [0] }}`) and
# Nunjucks' whitespace control (`{{- a }}`, `{{ a -}}`: 51st). No braces inside: one pass.
_BRACED = re.compile(r"\{\{[-+]?\s*((?:[^\s{}\[\]]|\s*\[[^\[\]{}]*\])+)\s*[-+]?\}\}")
_NAME = re.compile(r"[^\W\d][\w\u200c\u200d]*+")
_BRACKETS = re.compile(r"\s*\[[^\[\]{}]*\]")
_NOT_JSON = {bytes: "binary data (!!binary)", set: "a set (!!set)"}


# the joiners that spell names in Persian, Indic scripts and emoji (Unicode identifiers
# allow them: UAX #31); `{{نام‌کاربر}}` was sent as written (51st probe)
_JOINERS = "\u200c\u200d"


def _reads_as_name(inner: str) -> bool:
    """A letter or `.` first, then letters (with their marks), digits, joiners, `_`, `.`,
    `-`."""
    bare = _BRACKETS.sub("", inner)
    if not bare or not (bare[0] == "." or unicodedata.category(bare[0]).startswith("L")):
        return False
    return all(c in "._-" + _JOINERS or unicodedata.category(c)[0] in "LMN" for c in bare)


def _no_blank_in_pattern(
    a: AssertionEntry, variables: dict[str, Any], path: Path, line: int | None
) -> None:
    """A pattern holding a variable the test leaves blank checks less than it says:
    `{{e}}..`, `{{e}}\\D` with `e: ""` passed any answer of two characters, of a letter
    (54th probe), and no set of sample answers finds them all."""
    if a.type.removeprefix("not-") != "regex" or not isinstance(a.value, str):
        return
    for m in _templates(a.value):
        name = m.group(1).split(".")[0].split("[")[0]
        value = variables.get(name)
        if isinstance(value, str) and not value.strip():
            raise DataFileError(
                f"{a.type} assertion: the pattern holds {{{{{name}}}}}, which this test leaves"
                " blank, so it checks less than it says",
                path=str(path),
                line=line,
                hint="give the variable its value, or write the pattern without it for this test",
            )


def _templates(text: str) -> Iterator[re.Match[str]]:
    """Each `{{ ... }}` in text that reads as a name, a key or an index."""
    return (m for m in _BRACED.finditer(text) if _reads_as_name(m.group(1)))


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, datetime.date):
        return key.isoformat()
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)  # as JSON itself writes a key: true, null, 1
    raise ValueError(f"a mapping key that is {_NOT_JSON.get(type(key), 'not text')}")


def as_json_data(value: Any) -> Any:
    """A YAML value as JSON data: every item is hashed and stored as JSON, and a date (YAML 1.1
    read a plain `2024-01-01` as one; now only `!!timestamp` does) stopped `eval` with
    "unexpected error" (fifteenth probe). A date becomes its ISO text (2024-01-01; a time
    2024-01-01T10:00:00); binary data and sets are refused."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime.date):  # a datetime too
        return value.isoformat()
    if isinstance(value, list):
        return [as_json_data(v) for v in value]
    if isinstance(value, dict):
        return {_json_key(k): as_json_data(v) for k, v in value.items()}
    what = _NOT_JSON.get(type(value), type(value).__name__)
    raise ValueError(f"{what} is not JSON data (text, a number, true/false, null, a list or a map)")


class AssertionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    type: AssertionType
    value: Any = None
    weight: float = Field(default=1.0, ge=0, le=1e6)  # a weight of .inf made scores NaN
    threshold: float | None = None  # similar: least cosine; python/llm-rubric: least score
    judge: str | None = None

    _json_value = field_validator("value")(as_json_data)


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    max_tokens: int = Field(default=256, ge=1, le=32768)
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    stop: list[str] = Field(default_factory=list)


class TestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)
    id: str | None = None
    description: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    assert_: list[AssertionEntry] = Field(default_factory=list, alias="assert")
    threshold: float | None = Field(default=None, ge=0, le=1)

    _json_vars = field_validator("vars")(as_json_data)


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)
    name: str | None = None
    version: str | int = "1"
    description: str = ""
    system: str | None = None
    prompts: list[str] = Field(min_length=1)
    defaults: Defaults = Field(default_factory=Defaults)
    threshold: float = Field(default=1.0, ge=0, le=1)
    judge: str | None = None
    assert_: list[AssertionEntry] = Field(default_factory=list, alias="assert")
    tests: list[TestEntry] = Field(min_length=1)


# characters one filled-in text may reach: `{{a}}` five hundred times with a 256 KiB `a` asked
# for a 128 MiB prompt from a 265 KB file (fourth probe), a billion laughs without aliases
MAX_FILLED_CHARS = 4 * 2**20
MAX_SUITE_FILLED_CHARS = 32 * 2**20
# the OpenAI API takes 4 stops; llama.cpp and vLLM take more, and a suite may list the
# end markers of several chat formats: 16 leaves room for that, not for 20,000 (twelfth probe)
MAX_STOPS = 16
MAX_ASSERTIONS = 100  # a test's, the suite-level ones included: 15,000 x 15,000 tests did not fit
# a 1e5-test suite still loads whole; every item is kept, hashed and stored, so 1,000 prompts
# x 1,000 tests (a 12 KB file) ran out of memory
MAX_ITEMS = 200_000
MAX_CHECKS = 1_000_000  # assertions over all items: each is a dict kept and stored per item


def filled_text(value: Any) -> str:
    """A variable as it is filled into text: text as it stands, anything else as JSON. Python's
    str() filled a mapping in as `{'active': True, 'manager': None}`, no JSON for a model to
    return unchanged (fortieth probe)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _fill(text: str, variables: dict[str, Any], where: str, path: Path, line: int | None) -> str:
    def bad(message: str, hint: str) -> DataFileError:
        return DataFileError(f"{where} {message}", path=str(path), line=line, hint=hint)

    def resolve(m: re.Match[str]) -> Any:
        name, *keys = m.group(1).split(".")
        if m.group(2):
            raise bad(
                f"applies a filter ({m.group(0)}); only variables are filled in",
                "write the value as it should read in the test's vars",
            )
        if name not in variables:
            raise bad(
                f"uses the variable {{{{{name}}}}}, which this test does not set",
                f"add `{name}:` under the test's vars",
            )
        value, walked = variables[name], name
        for key in keys:
            if isinstance(value, dict) and key in value:
                value = value[key]
            # a list's index: no longer than any list can be (Python refuses to read an
            # integer of over 4,300 digits, a ValueError the loader did not expect)
            elif (
                isinstance(value, list)
                and key.isdigit()
                and len(key) <= 9
                and int(key) < len(value)
            ):
                value = value[int(key)]
            else:
                raise bad(
                    f"uses {{{{{m.group(1)}}}}}, but {walked} has no {key!r}",
                    f"check the test's vars: {walked} is {filled_text(value)[:80]}",
                )
            walked += f".{key}"
        return value

    naming_var = (
        whole
        for whole, inside in expressions(text)
        # Handlebars' `{{#each xs}}`, `{{/each}}` are no Nunjucks: code, sent as written
        if not inside.lstrip().startswith(("#", "/"))
        and not variables.keys().isdisjoint(_NAME.findall(unquoted(inside)))
    )
    tags = (t for t in nunjucks_tags(text) if not variables.keys().isdisjoint(_NAME.findall(t)))
    for used in chain((m[0] for m in _templates(text)), naming_var, tags):
        if not _VAR.fullmatch(used):
            raise bad(
                f"uses {used[:60]}, which is not a variable openscout fills",
                "write a name of letters, digits and _, with .key or .0 for what is inside"
                " (`{{items.0}}`, `{{user.name}}`); to send such text as written, put it in a"
                " variable",
            )
    # each value's text made once, however many names reach it (`{{a.0}}`, `{{a.00}}`: a
    # 10 MB list written out 400 times took 2.8 GB, 44th probe), and the size checked as
    # the pieces are made, not after all of them
    made: dict[int, str] = {}
    filled, size = [], len(text)
    for m in _VAR.finditer(text):
        value = resolve(m)
        if id(value) not in made:
            made[id(value)] = filled_text(value)
        filled.append(made[id(value)])
        size += len(filled[-1]) - len(m.group(0))
        if size > MAX_FILLED_CHARS:
            raise bad(
                f"would be more than {MAX_FILLED_CHARS:,} characters once its variables are"
                " filled in",
                "use each long variable once, or shorten it",
            )
    pieces = iter(filled)
    return _VAR.sub(lambda _: next(pieces), text)


class _Filler:
    """Fills a suite's `{{var}}`s within MAX_FILLED_CHARS a text and MAX_SUITE_FILLED_CHARS in
    all: many texts each under the first bound (a schema's list, hundreds of prompts) ran
    eval out of memory too (fifth probe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spent = 0

    def text(self, text: str, variables: dict[str, Any], where: str, line: int | None) -> str:
        out = _fill(text, variables, where, self.path, line)
        self.count(len(out), line)
        return out

    def count(self, chars: int, line: int | None) -> None:
        """Texts each item carries whole (stops, vars): shared in memory, stored per item."""
        self.spent += chars
        if self.spent > MAX_SUITE_FILLED_CHARS:
            raise DataFileError(
                f"the suite's texts come to more than {MAX_SUITE_FILLED_CHARS:,} characters once"
                " their variables are filled in",
                path=str(self.path),
                line=line,
                hint="use each long variable once, or split the suite",
            )

    def value(self, value: Any, variables: dict[str, Any], line: int | None) -> Any:
        if isinstance(value, str):
            return self.text(value, variables, "an assertion", line)
        if isinstance(value, list):
            return [self.value(v, variables, line) for v in value]
        if isinstance(value, dict):
            # keys too: a schema's `properties: {"{{k}}": ...}` stayed as written while its
            # `required: ["{{k}}"]` was filled, and the type check never applied (50th probe)
            out = {}
            for k, v in value.items():
                key = (
                    self.text(k, variables, "an assertion's key", line) if isinstance(k, str) else k
                )
                if key in out:
                    raise DataFileError(
                        f"two keys of an assertion's value become {str(key)[:60]!r} once filled",
                        path=str(self.path),
                        line=line,
                        hint="give each key its own value in vars",
                    )
                out[key] = self.value(v, variables, line)
            return out
        return value


def _validate(raw: Any, path: Path, root: Any) -> SuiteFile:
    if not isinstance(raw, dict):
        raise DataFileError(
            "a suite file must be a mapping with `prompts` and `tests`", path=str(path), line=1
        )
    try:
        return SuiteFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        # pydantic reports aliases as written ("assert"); union branches add type names
        loc = tuple(
            x for x in loc if not (isinstance(x, str) and x.startswith(("function-", "literal[")))
        )
        field = ".".join(str(x) for x in loc) or None
        raise DataFileError(
            yamlfile.problem(err),
            path=str(path),
            line=yamlfile.node_line(root, loc),
            field=field,
            hint="see docs/evals.md for the suite format",
        ) from e


def _has_var(value: Any) -> bool:
    if isinstance(value, str):
        return _VAR.search(value) is not None or next(_templates(value), None) is not None
    if isinstance(value, list):
        return any(_has_var(v) for v in value)
    if isinstance(value, dict):
        return any(_has_var(k) or _has_var(v) for k, v in value.items())
    return False


def _size(value: Any) -> int:
    """Characters `value` takes in an item's stored JSON (about)."""
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, ensure_ascii=False, default=str))


def _check_bounds(
    parsed: SuiteFile, path: Path, line_of: Callable[[Loc], int | None], limit: int | None
) -> int:
    """How many items to build, once the products of the suite's parts are within bounds."""

    def refuse(msg: str, loc: Loc, hint: str) -> DataFileError:
        return DataFileError(msg, path=str(path), line=line_of(loc), hint=hint)

    stops = len(parsed.defaults.stop)
    if stops > MAX_STOPS:
        raise refuse(
            f"`defaults.stop` lists {stops:,} stop strings (at most {MAX_STOPS})",
            ("defaults", "stop"),
            f"keep the {MAX_STOPS} that matter; the OpenAI API itself takes only 4",
        )
    for i, stop in enumerate(parsed.defaults.stop):
        # one set of stops serves every test: a variable there was sent as written (50th)
        if _has_var(stop):
            raise refuse(
                f"the stop string {stop[:60]!r} holds a variable; stop strings are not filled",
                ("defaults", "stop", i),
                "write the stop string as the model should see it",
            )
    per_suite = len(parsed.assert_)
    if per_suite > MAX_ASSERTIONS:
        raise refuse(
            f"the suite-level `assert` lists {per_suite:,} assertions, and every test gets"
            f" them all (at most {MAX_ASSERTIONS} a test)",
            ("assert",),
            "split the suite, or move assertions to the tests that need them",
        )
    prompts = len(parsed.prompts)
    total = len(parsed.tests) * prompts
    wanted = min(total, limit) if limit else total
    if wanted > MAX_ITEMS:
        raise refuse(
            f"{prompts:,} prompts x {len(parsed.tests):,} tests make {total:,} items"
            f" (at most {MAX_ITEMS:,})",
            ("tests",),
            "split the suite, or run part of it with --limit",
        )
    checks, left = 0, wanted
    for ti, test in enumerate(parsed.tests):
        if left <= 0:
            break
        n = per_suite + len(test.assert_)
        if n == 0:
            raise refuse(
                "this test has no assertions",
                ("tests", ti),
                "add an `assert:` list to the test or to the suite",
            )
        if not any(a.weight for a in (*parsed.assert_, *test.assert_)):
            # the weighted score is then 0 whatever the answer: the test always failed
            raise refuse(
                "every assertion of this test has weight 0, so none of them counts",
                ("tests", ti),
                "give at least one assertion a weight above 0 (1 by default)",
            )
        if n > MAX_ASSERTIONS:
            raise refuse(
                f"this test has {n:,} assertions, {per_suite:,} of them from the suite"
                f" (at most {MAX_ASSERTIONS})",
                ("tests", ti),
                "split the test's assertions over several tests",
            )
        checks += n * min(prompts, left)
        left -= prompts
        if checks > MAX_CHECKS:
            raise refuse(
                f"the suite's items come to more than {MAX_CHECKS:,} assertions in all"
                " (each test's assertions, once for every prompt)",
                ("tests", ti),
                "split the suite, or run part of it with --limit",
            )
    return wanted


def load_user_suite(
    path: Path, limit: int | None = None, *, trust_python: bool = False
) -> LoadedSuite:
    """The suite's items (its first `limit` only, when given)."""
    from openscout.evals.assertions import SchemaChecks, check_spec

    text = yamlfile.read_text(path, SUITE_BYTES)
    # items go test by test, so `limit` items never need more than `limit` tests
    composed = yamlfile.compose(text, str(path), limits={("tests",): limit} if limit else None)
    root = composed.root
    raw = yamlfile.construct(root, str(path))
    parsed = _validate(raw, path, root)

    def line_of(loc: Loc) -> int | None:
        return yamlfile.node_line(root, loc)

    wanted = _check_bounds(parsed, path, line_of, limit)
    items: list[Item] = []
    judges: set[str] = set()
    filler = _Filler(path)
    schemas = SchemaChecks()
    stops = tuple(parsed.defaults.stop)  # one tuple for every item, not a copy each
    stop_chars = 2 * sum(len(x) for x in stops)  # stored twice an item: stop, completion_stop

    def build(loc: Loc, a: AssertionEntry, variables: dict[str, Any]) -> dict[str, Any]:
        aline = line_of(loc)
        d = a.model_dump()
        d["value"] = filler.value(a.value, variables, aline)
        d["judge"] = a.judge or parsed.judge
        d["line"] = aline
        _no_blank_in_pattern(a, variables, path, aline)
        check_spec(d, str(path), aline, trust_python, schemas)
        if d["type"] == "python":
            d["trusted"] = True  # check_spec refused it otherwise
        if d["type"] == "llm-rubric" and d["judge"]:
            judges.add(d["judge"])
        return d

    # suite-level assertions without variables are built once and shared by every test
    shared = {
        i: build(("assert", i), a, {})
        for i, a in enumerate(parsed.assert_)
        if not _has_var(a.value)
    }
    shared_chars = sum(_size(d["value"]) for d in shared.values())
    for ti, test in enumerate(parsed.tests):
        if len(items) >= wanted:
            break  # tests past the limit are parsed, never built
        tline = line_of(("tests", ti))
        assertions = [
            shared[i] if i in shared else build(("assert", i), a, test.vars)
            for i, a in enumerate(parsed.assert_)
        ] + [build(("tests", ti, "assert", i), a, test.vars) for i, a in enumerate(test.assert_)]
        # what each item stores whole; the test's own values were counted once when filled
        carried = stop_chars + shared_chars + len(test.description or "") + _size(test.vars)
        carried += sum(len(d["judge"] or "") for d in assertions)
        own = sum(_size(d["value"]) for i, d in enumerate(assertions) if i not in shared)
        threshold = test.threshold if test.threshold is not None else parsed.threshold
        for pi, prompt in enumerate(parsed.prompts):
            if len(items) >= wanted:
                break
            pline = line_of(("prompts", pi))
            filler.count(carried + (own if pi else 0), tline)
            text = filler.text(prompt, test.vars, f"prompt {pi + 1}", pline)
            system = (
                filler.text(parsed.system, test.vars, "the system prompt", line_of(("system",)))
                if parsed.system
                else None
            )
            tid = test.id or f"test{ti + 1:03d}"
            items.append(
                Item(
                    id=f"{tid}/p{pi + 1}" if len(parsed.prompts) > 1 else tid,
                    kind="generate",
                    prompt=text,
                    system=system,
                    check="assertions",
                    completion_prompt=text,
                    completion_stop=stops,
                    stop=stops,
                    max_tokens=parsed.defaults.max_tokens,
                    temperature=parsed.defaults.temperature,
                    check_data={
                        "assertions": assertions,
                        "threshold": threshold,
                        "vars": test.vars,
                    },
                    meta={"task": test.description or tid, "line": tline},
                )
            )
    seen: set[str] = set()
    dup = None
    for item in items:  # a set, not ids.count: a 100,000-item suite took minutes
        if item.id in seen:
            dup = item.id
            break
        seen.add(item.id)
    if dup:
        raise DataFileError(
            f"two tests have the id {dup!r}", path=str(path), hint="give each test its own id"
        )
    return LoadedSuite(
        name=parsed.name or path.stem,
        version=str(parsed.version),
        description=parsed.description,
        source=str(path.resolve()),
        items=items,
        judges=sorted(judges),
        whole=(len(parsed.tests) + composed.skipped.get(("tests",), 0)) * len(parsed.prompts),
    )
