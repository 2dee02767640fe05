"""Assertions of user suites: each gives a score in [0, 1]; an item's score is their weighted
mean, and the item passes when that reaches its threshold.

Types: equals, contains, icontains, regex, is-json, json-schema, python, max-length,
similar (cosine of all-MiniLM-L6-v2 embeddings against `value`, pass at `threshold`,
which the suite must give), llm-rubric (a judge model answers PASS or FAIL). `not-<type>`
inverts the simple ones.

About `python`: the expression sees `output` (str), `vars` (the test's variables), `json`
(the output parsed as JSON, or None) and a few builtins. Python cannot be sandboxed in
process (an expression can reach any module through a generator's frame), so a suite with
`python` assertions is refused unless the user trusts it (`--trust-python`, or
`trust_python=True` in the API), and even then each expression runs in a child process with
memory, CPU and time limits (openscout.worker), never in ours. The restrictions below
(one expression, no double-underscore names) only catch accidents.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import re
import time
from typing import Any

from openscout.engines.http_bounds import nested_deeper_than
from openscout.errors import (
    DataFileError,
    PatternError,
    PatternTimeoutError,
    PythonAssertionError,
    WorkerError,
    WorkerLimitError,
    recorded,
)
from openscout.evals import embed, patterns
from openscout.evals.items import MAX_JSON_DEPTH, Item, answer_json
from openscout.evals.judging import judge_answer
from openscout.evals.scoring import Score, ScoreContext
from openscout.worker import Limits, Worker

SAFE_BUILTINS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sorted": sorted,
    "any": any,
    "all": all,
    "set": set,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "range": range,
    "enumerate": enumerate,
    "zip": zip,
    "isinstance": isinstance,
    "True": True,
    "False": False,
    "None": None,
}
SAFE_FUNCS: dict[str, Any] = {
    "search": lambda pattern, text, flags=0: re.search(pattern, text, flags) is not None,
    "findall": lambda pattern, text, flags=0: re.findall(pattern, text, flags),
    "IGNORECASE": re.IGNORECASE,
    "words": lambda text: re.findall(r"[A-Za-z0-9']+", text),
}


def compile_python(expr: str) -> Any:
    """Compile a restricted expression; raise ValueError naming what is refused."""
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        name = (
            node.id
            if isinstance(node, ast.Name)
            else node.attr
            if isinstance(node, ast.Attribute)
            else ""
        )
        if "__" in name:
            raise ValueError(f"the name {name!r} is not allowed")
        if isinstance(node, ast.NamedExpr | ast.Await | ast.Yield | ast.YieldFrom):
            raise ValueError(f"{node.__class__.__name__} is not allowed")
    return compile(tree, "<assertion>", "eval")


PYTHON_LIMITS = Limits(memory_bytes=512 * 2**20, cpu_seconds=5, timeout=10.0)
_python_worker: Worker | None = None


def eval_python(expr: str, output: str, variables: dict[str, Any]) -> tuple[Any, bool]:
    """(value shown in results, truth) of one trusted expression, run in the worker."""
    global _python_worker
    if _python_worker is None:
        _python_worker = Worker(f"{__name__}:eval_python_here", PYTHON_LIMITS)
    try:
        value, truth = _python_worker.call(expr=expr, output=output, variables=variables)
    except WorkerError as e:
        raise PythonAssertionError(f"{e.kind}: {e.message}") from e
    except WorkerLimitError as e:
        raise PythonAssertionError(f"stopped: {e}") from e
    return value, truth


def eval_python_here(expr: str, output: str, variables: dict[str, Any]) -> tuple[Any, bool]:
    """In the worker: evaluate, and return something JSON can carry."""
    got = _eval(expr, output, variables)
    try:
        value = got if isinstance(got, bool | int | float) else repr(got)[:2000]
    except ValueError:  # a container holding an int past Python's digit limit (48th probe)
        value = f"a {type(got).__name__} too long to show"
    if isinstance(got, int) and got.bit_length() > 64:
        # said in words: JSON writes an int of over 4,300 digits only by raising, which
        # ended the worker and failed a true assertion as "out of memory" (47th probe);
        # its score as a number's, clipped to [0, 1]: 1 above zero, 0 below
        digits = f"{int(got.bit_length() * 0.30103) + 1:,}"
        return f"a{' negative' if got < 0 else 'n'} integer of about {digits} digits", got > 0
    if isinstance(got, int | float) and not isinstance(got, bool):
        return value, got != 0  # float(10**400) overflows
    return value, bool(got)


def _eval(expr: str, output: str, variables: dict[str, Any]) -> Any:
    try:
        parsed = answer_json(output)
    except ValueError:
        parsed = None
    env = {
        "__builtins__": SAFE_BUILTINS,
        **SAFE_FUNCS,
        "output": output,
        "vars": variables,
        "json": parsed,
    }
    return eval(compile_python(expr), env, {})


TRUST_HINT = (
    "python assertions run the suite author's code as you; if you trust this file, "
    "pass --trust-python (trust_python=True in the API)"
)


# answers that say nothing, one in other scripts and markup after leading spaces, and a
# long one of many lines: a pattern matching all of them matches any answer. None is blank:
# a blank answer is a miss before any check, and with "" here `{{e}}.+` (e empty) passed
# every answer unrefused (53rd probe). The others keep checks most answers pass from
# reading as "any answer": no CJK, ASCII only, no markdown or HTML, no leading space, no
# blank line, a length limit (`(?s)^.{1,10000}$`).
ANY_ANSWERS = (
    "x x x",
    "0",
    "  **答案**: <b>42</b>\n\n# `x` é",
    "The answer is 42.\nMore words, 7 numbers; a list:\n- one\n- two\n" * 200,
)


def check_spec(
    a: dict[str, Any],
    path: str,
    line: int | None,
    trust_python: bool = False,
    schemas: SchemaChecks | None = None,
) -> None:
    """Refuse an assertion that cannot work (or may not run), at load time, naming its line."""
    kind, value = a["type"].removeprefix("not-"), a["value"]

    def bad(msg: str, hint: str | None = None) -> DataFileError:
        return DataFileError(f"{a['type']} assertion: {msg}", path=path, line=line, hint=hint)

    if kind in (
        "contains",
        "icontains",
        "regex",
        "similar",
        "llm-rubric",
        "python",
    ) and not isinstance(value, str):
        raise bad("`value` must be a string")
    if kind in ("contains", "icontains") and not value.strip():
        # every answer holds "" (and no answer lacks it): a data set's missing value made
        # its items free points for any answer (51st probe); " " is as free (52nd)
        raise bad(
            "the value is empty or blank (once filled), and any answer holds it",
            "give the text the answer must hold; check the test's vars for a missing value",
        )
    if kind == "regex":
        try:
            patterns.check(value)
            # "^", "(?i){{e}}" or "{{e}}|paris" with e empty: any answer matched (52nd)
            anything = all(patterns.search(value, junk) for junk in ANY_ANSWERS)
        except PatternError as e:
            raise bad(e.message, e.hint) from e
        if anything:
            raise bad(
                "the pattern matches any answer ('0' and 'x x x' alike)",
                "give what the answer must hold; check the test's vars for a missing value",
            )
    if kind == "python":
        if not trust_python:
            raise bad("refused: this suite is not trusted to run Python", TRUST_HINT)
        try:
            compile_python(value)
        except (SyntaxError, ValueError) as e:
            raise bad(f"bad expression: {e}") from e
    if kind == "max-length" and (
        not isinstance(value, int) or isinstance(value, bool) or value < 0
    ):
        raise bad("`value` must be a whole number of characters")
    if kind == "json-schema" or (kind == "is-json" and value is not None):
        # is-json with a value checks it as a schema, as promptfoo's does: read as no
        # value, a ported suite's schemas passed any JSON (54th probe)
        if not isinstance(value, dict):
            raise bad("`value` must be a JSON schema (a mapping)")
        if not isinstance(value.get("$schema", ""), str):  # jsonschema looks it up as a key
            raise bad("`$schema` must be the text of a draft's address")
        if importlib.util.find_spec("jsonschema") is None:
            raise bad("needs the jsonschema package", "pip install jsonschema")
        if nested_deeper_than(value, MAX_JSON_DEPTH):  # checking it would recurse past the stack
            raise bad(f"the schema nests deeper than {MAX_JSON_DEPTH} levels")
        problem = (schemas or SchemaChecks()).problem(value)
        if problem:  # jsonschema quotes the faulty part whole: a 50 KB `type` list
            raise bad(recorded(problem, 500) or "")
    if kind == "llm-rubric" and not a.get("judge"):
        raise bad("no judge model", "set `judge: <model id>` on the assertion or the suite")
    if kind == "similar" and (missing := embed.unavailable()) is not None:
        raise bad(f"{missing.message.removeprefix('the `similar` assertion ')}", missing.hint)
    if kind == "similar" and a.get("threshold") is None:
        # a cosine measures topic, not correctness: at the old default of 0.75 a model that
        # repeated each question, or answered "Berlin" for Paris, passed (37th probe)
        raise bad(
            "needs a `threshold` (the least cosine that passes)",
            "choose it from your own right and wrong answers: restating the question or a"
            " wrong answer on the same topic often scores above 0.75",
        )


def json_equal(a: Any, b: Any) -> bool:
    """Equal as JSON values: Python's == has `true == 1` and `false == 0`, and an answer of
    `{"valid": 1}` passed `equals: {valid: true}` (37th probe). Numbers compare by value
    (`1.0` is `1`, as in JSON Schema)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def run_assertion(
    a: dict[str, Any], output: str, variables: dict[str, Any], ctx: ScoreContext | None
) -> tuple[float, dict[str, Any]]:
    """(score in [0, 1], detail) for one assertion."""
    kind, value = a["type"], a["value"]
    negate = kind.startswith("not-")
    kind = kind.removeprefix("not-")
    detail: dict[str, Any] = {}
    if kind == "equals":
        if isinstance(value, str):
            ok = output.strip() == value.strip()
        else:
            try:
                ok = json_equal(answer_json(output), value)
            except ValueError:
                ok = False
        s = float(ok)
    elif kind == "contains":
        s = float(value in output)
    elif kind == "icontains":
        s = float(value.lower() in output.lower())
    elif kind == "regex":
        try:
            s = float(patterns.search(value, output))
        except PatternTimeoutError as e:  # this answer ran it past its limit: a miss
            s, detail["unscorable"] = 0.0, e.message
    elif kind == "is-json" and value is None:
        try:
            answer_json(output)
            s = 1.0
        except ValueError:
            s = 0.0
    elif kind in ("json-schema", "is-json"):  # is-json with a schema: the same check
        try:
            reason = check_json_schema(value, answer_json(output))
        except ValueError:
            reason = "not JSON"
        s = 0.0 if reason else 1.0
        if reason:
            detail["reason"] = reason
    elif kind == "max-length":
        s = float(len(output) <= value)
    elif kind == "python":
        if not a.get("trusted"):  # loaded without trust (or a stored item edited by hand)
            raise PythonAssertionError(TRUST_HINT)
        try:
            got, truth = eval_python(value, output, variables)
        except PythonAssertionError as e:  # the user's expression failed: report, go on
            got, truth, detail["reason"] = 0.0, False, str(e)
        detail["value"] = got
        # clipped before it is a float: 10**400 is past a float's range (40th probe, low)
        s = float(min(1, max(0, got))) if isinstance(got, int | float) else float(truth)
        if a.get("threshold") is not None:
            s = float(s >= a["threshold"])
        s = min(1.0, max(0.0, s))
    elif kind == "similar":
        if ctx is None:
            raise RuntimeError("similarity needs a scoring context")
        cos = ctx.similarity(output, value)
        threshold = a["threshold"]  # required at load
        detail.update(cosine=cos, threshold=threshold)
        s = float(cos >= threshold)
    elif kind == "llm-rubric":
        s = judge_answer(a, value, output, ctx, detail)
    else:
        raise ValueError(f"unknown assertion type {kind!r}")
    if negate and "unscorable" not in detail:  # a miss either way
        s = 1.0 - s
    return s, detail


def weighed(check_data: dict[str, Any], scores: list[float]) -> tuple[float, bool]:
    """An item's checks' scores, in order, weighed: the weighted score, and whether it
    reaches the item's threshold."""
    checks = check_data["assertions"]
    total = sum(a["weight"] for a in checks) or 1.0
    weighted = sum(a["weight"] * s for a, s in zip(checks, scores, strict=True)) / total
    return weighted, weighted >= float(check_data.get("threshold", 1.0)) - 1e-9


def score_assertions(item: Item, output: str, ctx: ScoreContext | None) -> Score:
    variables = item.check_data.get("vars", {})
    scores, results = [], []
    for a in item.check_data["assertions"]:
        s, detail = run_assertion(a, output, variables, ctx)
        # its words (a schema error quotes the whole schema: 15 MB; twelfth probe) are kept
        # with every item and printed by `runs show`
        detail = {k: recorded(v, 500) if isinstance(v, str) else v for k, v in detail.items()}
        scores.append(s)
        results.append(
            {"type": a["type"], "score": s, "weight": a["weight"], "line": a.get("line"), **detail}
        )
    weighted, passed = weighed(item.check_data, scores)
    threshold = float(item.check_data.get("threshold", 1.0))
    return Score(
        float(passed), {"weighted": weighted}, {"assertions": results, "threshold": threshold}
    )


# A suite's JSON schema is its author's data, and jsonschema runs its `pattern`s with `re` (no
# time limit) and would fetch an http or file `$ref` (independent probe). It is checked in a
# limited child, with no way to resolve references outside the schema itself.
SCHEMA_LIMITS = Limits(memory_bytes=512 * 2**20, cpu_seconds=2, timeout=5.0)
_schema_worker: Worker | None = None


def _in_schema_worker(**args: Any) -> str | None:
    global _schema_worker
    if _schema_worker is None:
        _schema_worker = Worker(f"{__name__}:json_schema_here", SCHEMA_LIMITS)
    return _schema_worker.call(**args)  # type: ignore[no-any-return]


def check_json_schema(schema: Any, instance: Any) -> str | None:
    """None when `instance` satisfies `schema`, else why not (or why it was stopped)."""
    try:
        return _in_schema_worker(schema=schema, instance=instance)
    except WorkerError as e:
        return f"the schema could not be checked: {e.kind}: {e.message}"
    except WorkerLimitError as e:
        return f"the schema check was stopped: {e}"


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why a suite's schema is not a valid one, else None. Checked in the worker as well:
    draft-04's `uniqueItems` on an `enum` of 12,000 objects is quadratic (minutes, fifteenth
    probe)."""
    try:
        return _in_schema_worker(schema=schema, instance=None, only_schema=True)
    except WorkerError as e:
        return f"the schema could not be checked: {e.kind}: {e.message}"
    except WorkerLimitError as e:
        return f"the schema's own check was stopped ({e}); make it smaller"


SCHEMAS_CHECK_BUDGET_S = 20.0  # a suite's schemas, all together: each may take up to 2 s


class SchemaChecks:
    """A suite's schemas, each checked once and all within one time budget: a test's schema
    filled from its variables is checked for every test."""

    def __init__(self) -> None:
        self._seen: dict[bytes, str | None] = {}
        self.spent_s = 0.0

    def problem(self, schema: dict[str, Any]) -> str | None:
        key = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).digest()
        if key not in self._seen:
            if self.spent_s > SCHEMAS_CHECK_BUDGET_S:
                return (
                    f"the suite's JSON schemas took more than {SCHEMAS_CHECK_BUDGET_S:.0f} s"
                    " to check; use fewer or smaller ones"
                )
            start = time.monotonic()
            self._seen[key] = schema_problem(schema)
            self.spent_s += time.monotonic() - start
        return self._seen[key]


def json_schema_here(schema: Any, instance: Any, only_schema: bool = False) -> str | None:
    """In the worker: the schema's own check (`only_schema`), or validation with a registry
    that resolves nothing outside the schema."""
    import jsonschema
    from referencing import Registry

    cls = jsonschema.validators.validator_for(schema)
    if only_schema:
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as e:
            return f"invalid schema: {e.message}"
        return None
    # `format` checked too (date, email, ipv4, uuid, ... as far as jsonschema knows them): a
    # schema asking for a date passed "not a date" (39th probe)
    validator = cls(schema, registry=Registry(), format_checker=cls.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    return None if error is None else error.message
