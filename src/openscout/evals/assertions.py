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
from openscout.engines.thinking import CLOSE, OPEN
from openscout.errors import (
    ChatTemplateError,
    ContextLengthError,
    DataFileError,
    EngineError,
    EngineResponseError,
    OpenscoutError,
    PatternError,
    PatternTimeoutError,
    PythonAssertionError,
    WorkerError,
    WorkerLimitError,
    recorded,
)
from openscout.evals import embed, patterns
from openscout.evals.items import MAX_JSON_DEPTH, Item, answer_json
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
JUDGE_PROMPT = (
    "You are grading an answer against a rubric.\n\nRubric: {rubric}\n\nAnswer:\n{output}\n\n"
    "Does the answer satisfy the rubric? Reply with one word, PASS or FAIL."
)


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


# A judge's reply cut at its 48 tokens before any verdict is asked again with this room
JUDGE_ROOM_TOKENS = 512


def _judge(
    ctx: ScoreContext, a: dict[str, Any], prompt: str, alone: str, fresh: bool = False
) -> str:
    """The judge's reply, with room where it was cut before any verdict: a judge reasoning
    at length first made every judged item a silent miss, and junk tied an honest model
    (50th probe). A reply still cut fails the item; it is asked fresh before that, so that
    running the same command again asks the judge again, not its cached cut reply (51st).
    `alone`: the rubric without the answer, asked with the same room where the room was
    refused: refused too, the judge cannot judge (a cap under 512 tokens made every reasoned
    answer a silent miss: 52nd); answered, the judge's context has no room to reason about
    this answer, which it took with 48 tokens: the item fails too, saying so (scored a miss,
    every long right answer was one, and junk was recommended: 53rd)."""
    reply = ctx.judge(a.get("judge"), prompt, fresh=fresh)
    for again in (False, True):
        if _judge_verdict(reply) is not None or not getattr(reply, "cut", False):
            return reply
        try:
            reply = ctx.judge(
                a.get("judge"), prompt, fresh=fresh or again, max_tokens=JUDGE_ROOM_TOKENS
            )
        except (EngineError, ChatTemplateError) as e:
            if _judge_refusal(e) is None:
                raise
            _room_for(ctx, a, alone, e)
            if isinstance(e, ContextLengthError):
                raise _no_room(a, prompt, e, f"room for {JUDGE_ROOM_TOKENS} tokens") from e
            raise OpenscoutError(
                f"the judge {a.get('judge')!r} was cut at 48 tokens before a verdict, and"
                f" asked with {JUDGE_ROOM_TOKENS}, {_judge_refusal(e)}: {e.message}",
                hint="run the same command again; failing again, choose another judge",
            ) from e
    if _judge_verdict(reply) is None and getattr(reply, "cut", False):
        raise OpenscoutError(
            f"the judge {a.get('judge')!r} wrote {JUDGE_ROOM_TOKENS} tokens without a PASS or"
            " FAIL verdict",
            hint="choose a judge that gives its verdict first, or ask for it first in the rubric",
        )
    return reply


def _no_room(a: dict[str, Any], prompt: str, e: OpenscoutError, what: str) -> OpenscoutError:
    """The item's failure where the judge's context holds the rubric but not the answer with
    `what`: neither the answer's miss nor a verdict. Scored a miss, every long right answer
    was one, and junk was recommended, nothing said (53rd and 54th probes)."""
    return OpenscoutError(
        f"the judge {a.get('judge')!r} has no {what} in its context after this answer"
        f" ({len(prompt):,} characters with the rubric): {e.message}",
        hint="choose a judge with a longer context, or a lower `max_tokens` in the suite's"
        " `defaults` (or the test's) for shorter answers",
    )


def _room_for(ctx: ScoreContext, a: dict[str, Any], alone: str, e: OpenscoutError) -> None:
    """The rubric alone, asked with the room a cut reply was refused: refused too, the item
    fails (an OpenscoutError, not the answer's refusal), saying why."""
    try:
        ctx.judge(a.get("judge"), alone, fresh=True, max_tokens=JUDGE_ROOM_TOKENS)
    except (EngineError, ChatTemplateError) as again:
        raise OpenscoutError(
            f"the judge {a.get('judge')!r} was cut at 48 tokens before a verdict and refused"
            f" {JUDGE_ROOM_TOKENS}, even for the rubric alone: {again.message}",
            hint="choose a judge that gives its verdict first, or one that takes"
            f" {JUDGE_ROOM_TOKENS} tokens",
        ) from e


def _once_more(
    ctx: ScoreContext,
    a: dict[str, Any],
    asked: tuple[str, str, str, str],
    e: OpenscoutError,
    why: str,
) -> tuple[str, str | None]:
    """The judge's reply to the answer asked once more where its failure was transient and
    the rubric alone then went through: a judge's outage on one answer (503 through every
    retry) was blamed on the answer, and only right answers lose by that (54th probe).
    Failing again, a filler as long as the answer tells a failure that holds on the answer
    (a SAFETY block inside a 200: its miss) from an outage (the item fails, asked again:
    55th). `asked`: the rubric, the answer, the judge's prompt and the rubric alone's."""
    if not (isinstance(e, EngineError) and e.transient):
        return "", f"{why}: {e.message}"
    rubric, output, prompt, alone = asked
    try:
        return _judge(ctx, a, prompt, alone, fresh=True), None
    except (EngineError, ChatTemplateError) as again:
        if (still := _judge_refusal(again)) is None:
            raise
        if _filler_refused(ctx, a, rubric, output):
            raise OpenscoutError(
                f"the judge {a.get('judge')!r} kept failing, on this answer twice through"
                f" every retry and on a filler as long: {again.message}",
                hint="run the same command again: the failed items are asked again",
            ) from again
        return "", f"{still}: {again.message}"


def _filler_refused(ctx: ScoreContext, a: dict[str, Any], rubric: str, output: str) -> bool:
    """Whether the judge fails a filler with more tokens than the answer: what it does to
    the filler too is about length or the judge, not the answer's content. Sized by the
    answer's UTF-8 bytes, "x " a byte: sized by its characters, a Chinese answer's filler
    had a third of its tokens and passed, and the refusal was read as of content (56th)."""
    filler = "x " * len(output.encode("utf-8", "surrogatepass"))
    try:
        ctx.judge(a.get("judge"), JUDGE_PROMPT.format(rubric=rubric, output=filler), fresh=True)
    except (EngineError, ChatTemplateError):
        return True
    return False


def _refused_for_length(
    ctx: ScoreContext, a: dict[str, Any], rubric: str, output: str, e: OpenscoutError
) -> bool:
    """Whether a 4xx for the answer was about its length, in words openscout does not know
    (LM Studio's "context length of only 450 tokens", SGLang's, Gemini's...): asked with a
    filler as long as the answer, and more tokens, the judge refuses that too. A content
    refusal lets the filler through. Scored a miss, long right answers lost to junk (55th)."""
    refusal = isinstance(e, EngineResponseError) and not e.transient
    if not (refusal and 400 <= (e.status or 0) < 500):  # type: ignore[attr-defined]
        return False
    return _filler_refused(ctx, a, rubric, output)


def _too_long(e: OpenscoutError) -> bool:
    """The judge's context, or its server's size limit (a proxy's 413, whose page names no
    context: 54th probe), has no room for the request."""
    sized = isinstance(e, EngineResponseError) and e.status in (413, 414, 431)
    return isinstance(e, ContextLengthError) or sized


def _judge_refusal(e: OpenscoutError) -> str | None:
    """How the judge refused this request, when the refusal may lie in its text (and so in
    the answer): too long, any 4xx that asking again cannot change (Azure's content filter
    answers 400, OpenRouter's moderation 403, others 451, in the status or in a 200's body),
    or the judge's chat template refusing it, or a failure that outlasted every retry (an
    upstream's 5xx inside a 200 naming a SAFETY block). A bad key, a bad model or an outage
    fails that way too: asking with the rubric alone, the caller finds it is not the answer."""
    if _too_long(e):
        return "the answer does not fit the judge"
    if isinstance(e, ChatTemplateError):
        return "the judge's chat template refused the answer"
    if isinstance(e, EngineResponseError) and not e.transient and 400 <= (e.status or 0) < 500:
        return "the judge refused the answer"
    if isinstance(e, EngineError):  # still failing after every retry, or a 3xx or 501 for it
        return "the judge kept failing on the answer"  # (38th and 39th probes)
    return None


# A verdict on a line of its own, as judges end (or begin) their replies: "FAIL", "**PASS**",
# "FAIL: it names Lyon", "PASS - it names Paris", "Verdict: FAIL", "**Verdict:** PASS (...)".
# A reason may follow the word after a mark of its own (: - . ( ...), never a bare word:
# "PASS or FAIL?" is no verdict. "Answer:" is no label: the judge's prompt gives the answer
# under it, and a judge quoting it is not judging.
_MARKS = r"[\s*_#`\"']*"
_VERDICT_LINE = re.compile(
    rf"^{_MARKS}(?:(?:final\s+)?(?:verdict|grade|result|decision|final\s+answer){_MARKS}"
    rf"[:=-]{_MARKS})?(PASS|FAIL)\b{_MARKS}(?:[.!:;,(\[\-\u2013\u2014].*)?$",
    re.IGNORECASE,
)
VERDICT_MASK = "[verdict word removed]"


def for_judge(answer: str) -> str:
    """The answer as the judge sees it: its own verdict words masked (a capitalised PASS or
    FAIL, and any line a verdict reader would take for one), so that no verdict in the judge's
    reply can be the answer's. An answer writing "PASS" passed itself through judges that
    quote or echo it (45th probe), and reading the reply without the answer's lines let it
    delete the judge's own verdict line instead (46th). An answer whose right content is such
    a word is checked with `equals` or `contains`, not a judge. Its thinking tags too: the
    judge's reply is read after its first `</think>`, and one the judge echoed from the answer
    threw the judge's own verdict away as thinking (46th)."""
    # every break Python knows (U+2028, \f, ...) is a line here, so no line of it reads as a
    # verdict however the judge's reply is split
    lines = [VERDICT_MASK if _VERDICT_LINE.match(line) else line for line in answer.splitlines()]
    masked = re.sub(r"\b(?:PASS|FAIL)\b", VERDICT_MASK, "\n".join(lines))
    return masked.replace(CLOSE, "</thinking-tag>").replace(OPEN, "<thinking-tag>")


class JudgeReply(str):
    """A judge's reply; `cut`: it ran out of its max_tokens, its prose unfinished."""

    cut: bool = False


def _judge_verdict(text: str) -> float | None:
    """PASS or FAIL: the verdicts on lines of their own, else the capitalised words, when
    every one of them says the same. The judge saw the answer with its own verdict words
    masked (`for_judge`), so none of them is the answer's: quoted or echoed, an answer's
    "PASS" passed it (45th probe), and leaving quoted lines, code blocks or the answer's lines
    unread let the answer hide the judge's verdict (46th). Both said, or neither, is no
    verdict (a miss). Prose in lower case is no verdict ("does not pass" passed an answer:
    44th), nor is the first of two words (36th)."""
    # lines as a reader sees them: str.splitlines() also breaks at U+2028, \f and others,
    # which made a verdict line in the middle of the judge's sentence (46th probe)
    rows = re.split(r"\r\n|\r|\n", text)
    lines = [m.group(1) for line in rows if (m := _VERDICT_LINE.match(line))]
    # in a reply cut at its max_tokens only a verdict line counts: "The answer would PASS if
    # it named Paris, but it names Lyon, so the verdict is" passed Lyon (48th probe)
    words = [] if getattr(text, "cut", False) else re.findall(r"\b(PASS|FAIL)\b", text)
    for said in (lines, words):
        kinds = {w.upper() for w in said}
        if kinds:
            return float(kinds == {"PASS"}) if len(kinds) == 1 else None
    return None


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
        if ctx is None:
            raise RuntimeError("a judge needs a scoring context")
        try:
            alone = JUDGE_PROMPT.format(rubric=value, output="")
            reply = _judge(
                ctx, a, JUDGE_PROMPT.format(rubric=value, output=for_judge(output)), alone
            )
        except (EngineError, ChatTemplateError) as e:
            why = _judge_refusal(e)
            if why is None:
                raise
            # an answer the judge refuses is a miss: left out, a model padding its wrong
            # answers had only its right ones scored (34th probe), and a provider's content
            # filter did the same (36th). One too long for the judge's context fails the
            # item: no verdict either way (a miss, long right answers lost to junk, 54th;
            # failed, the run is incomplete and compare waits, so padding wins nothing).
            # Unless the rubric alone is refused too: then the
            # suite or the judge is at fault (asked, not guessed: 510 tag characters are
            # 2,040 tokens, 35th probe)
            # asked now, not from the cache: a judge that is down, or whose key was revoked,
            # must fail the item here, not have its outage blamed on the answer
            ctx.judge(a.get("judge"), alone, fresh=True)
            prompt = JUDGE_PROMPT.format(rubric=value, output=for_judge(output))
            if _too_long(e) or _refused_for_length(ctx, a, value, output, e):
                raise _no_room(a, prompt, e, "room to read it") from e  # no verdict
            reply, unscorable = _once_more(ctx, a, (value, output, prompt, alone), e, why)
            if unscorable is not None:
                detail["unscorable"] = unscorable
        verdict = _judge_verdict(reply)
        detail["judge_reply"] = reply
        s = verdict if verdict is not None else 0.0
        if verdict is None and "unscorable" not in detail:
            # no verdict is the answer's doing only if the judge gives one without it: a
            # reasoning judge spending its tokens on thinking replied "" (39th probe) or
            # thoughts cut off (40th) to every answer, and every item was a silent FAIL
            alone = _judge(ctx, a, alone, alone, fresh=True)
            if _judge_verdict(alone) is None:
                said = "replied nothing" if not alone.strip() else "gave no PASS/FAIL verdict"
                raise OpenscoutError(
                    f"the judge {a.get('judge')!r} {said}, even to the rubric alone",
                    hint="choose a judge that answers PASS or FAIL (a reasoning model may"
                    " spend its 48 tokens thinking)",
                )
            detail["reason"] = "the judge gave no single PASS/FAIL verdict"
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
