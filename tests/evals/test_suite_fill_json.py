"""A variable that is not text is filled in as JSON, in prompts and assertion values: a
mapping was filled in as Python's repr, `{'active': True, 'manager': None}`, which no JSON
reader takes (fortieth probe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openscout.errors import DataFileError
from openscout.evals.loading import load_suite
from openscout.evals.scoring import score_generation


def test_a_mapping_or_list_is_filled_in_as_json(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "prompts: ['Return this JSON unchanged: {{payload}} {{tags}} {{n}} {{ok}} {{none}}']\n"
        "tests:\n"
        "  - vars:\n"
        "      payload: {name: Zoë, active: true, manager: null, score: 2.5}\n"
        "      tags: [a, 1]\n"
        "      n: 3\n"
        "      ok: false\n"
        "      none: null\n"
        "    assert:\n"
        "      - {type: equals, value: '{{payload}}'}\n"
        "      - {type: is-json}\n"
    )
    (item,) = load_suite(path).items
    payload = '{"name": "Zoë", "active": true, "manager": null, "score": 2.5}'
    assert item.prompt == f'Return this JSON unchanged: {payload} ["a", 1] 3 false null'
    assert item.check_data["assertions"][0]["value"] == payload
    assert json.loads(payload) == item.check_data["vars"]["payload"]
    # a model that returns it unchanged passes both
    assert score_generation(item, payload).value == 1.0


def test_dotted_names_reach_into_mappings_and_lists(tmp_path: Path) -> None:
    """promptfoo's templates read `{{user.name}}` and `{{tags.0}}`; they were sent to the
    model as written, braces and all (40th probe, low)."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "prompts: ['Greet {{ user.name }} of {{user.team.city}}, tagged {{tags.1}}: {{user}}']\n"
        "tests:\n"
        "  - vars:\n"
        "      user: {name: Zoë, team: {city: Lyon}}\n"
        "      tags: [a, {k: 1}]\n"
        "    assert:\n"
        "      - {type: icontains, value: '{{user.name}}'}\n"
    )
    (item,) = load_suite(path).items
    whole = '{"name": "Zoë", "team": {"city": "Lyon"}}'
    assert item.prompt == f'Greet Zoë of Lyon, tagged {{"k": 1}}: {whole}'
    assert item.check_data["assertions"][0]["value"] == "Zoë"


@pytest.mark.parametrize(
    ("prompt", "said", "line"),
    [
        ("'{{ name | upper }}'", "applies a filter ({{ name | upper }})", 1),
        ("'{{user.age}}'", "uses {{user.age}}, but user has no 'age'", 1),
        ("'{{tags.5}}'", "uses {{tags.5}}, but tags has no '5'", 1),
        ("'{{tags.name}}'", "uses {{tags.name}}, but tags has no 'name'", 1),
        ("'{{user.name.x}}'", "but user.name has no 'x'", 1),
        ("'{{nobody.name}}'", "uses the variable {{nobody}}, which this test does not set", 1),
        ("'{{tags." + "1" * 5000 + "}}'", "but tags has no '111", 1),  # no int of 5,000 digits
        # promptfoo's brackets and names openscout does not read were sent as written (47th)
        ("'{{tags[0]}}'", "uses {{tags[0]}}, which is not a variable openscout fills", 1),
        ("'{{user[\"name\"]}}'", 'uses {{user["name"]}}, which is not a variable', 1),
        ("'{{first-name}}'", "uses {{first-name}}, which is not a variable", 1),
        ("'{{tags.-1}}'", "uses {{tags.-1}}, which is not a variable", 1),
        ("'{{a..b}}'", "uses {{a..b}}, which is not a variable", 1),
        ("'{{café}}'", "uses {{café}}, which is not a variable", 1),
        ("\"{{ user['first name'] }}\"", "uses {{ user['first name'] }}, which is not", 1),
        ("'{{ tags[ 0 ] }}'", "uses {{ tags[ 0 ] }}, which is not a variable", 1),
        # letters with combining marks, a name in NFD, a space before a bracket (49th probe)
        ("'{{नाम}}'", "uses {{नाम}}, which is not a variable", 1),
        ("'{{cafe\u0301}}'", "uses {{cafe\u0301}}, which is not a variable", 1),
        ("'{{ tags [0] }}'", "uses {{ tags [0] }}, which is not a variable", 1),
        ("'{{نام\u200cکاربر}}'", "uses {{نام\u200cکاربر}}, which is not a variable", 1),
        # Nunjucks' whitespace control and expressions on a variable (51st probe)
        ("'{{- name }}'", "uses {{- name }}, which is not a variable", 1),
        ("'{{ name -}}'", "uses {{ name -}}, which is not a variable", 1),
        ("'{{ name or \"x\" }}'", 'uses {{ name or "x" }}, which is not a variable', 1),
        ("'{{ tags + 1 }}'", "uses {{ tags + 1 }}, which is not a variable", 1),
        # ... naming it anywhere outside quotes, not only first (54th probe)
        ("'{{ not name }}'", "uses {{ not name }}, which is not a variable", 1),
        ("'{{ (name) }}'", "uses {{ (name) }}, which is not a variable", 1),
        ('\'{{ "x" if name else "y" }}\'', 'uses {{ "x" if name else "y" }}, which', 1),
        ("'{{ \"a\" ~ name }}'", 'uses {{ "a" ~ name }}, which is not a variable', 1),
        ("'{{ [name][0] }}'", "uses {{ [name][0] }}, which is not a variable", 1),
        ("'{{ {\"a\": name}.a }}'", 'uses {{ {"a": name}.a }}, which is not a variable', 1),
        ("'{% if name %}hi{% endif %}'", "uses {% if name %}, which is not a variable", 1),
        ("'{# name #}'", "uses {# name #}, which is not a variable", 1),
        # a tag or comment holding a brace or its closer in quotes (53rd probe)
        ("'{% if name == \"{\" %}y{% endif %}'", 'uses {% if name == "{" %}, which is', 1),
        ("'{# name } #}'", "uses {# name } #}, which is not a variable", 1),
        ("'{% if \"%}\" == name %}'", 'uses {% if "%}" == name %}, which is not', 1),
    ],
)
def test_a_filter_or_a_missing_key_is_refused_naming_the_line(
    tmp_path: Path, prompt: str, said: str, line: int
) -> None:
    """Sent to the model as written, the prompt asked it about a template, and the item
    scored as if it had been asked the question."""
    path = tmp_path / "s.yaml"
    path.write_text(
        f"prompts: [{prompt}]\ntests:\n  - vars: {{name: Ann, user: {{name: Zoë}}, tags: [a]}}\n"
        "    assert: [{type: contains, value: a}]\n"
    )
    with pytest.raises(DataFileError) as e:
        load_suite(path)
    assert said in e.value.message and e.value.line == line


def test_code_and_other_templates_are_sent_as_written(tmp_path: Path) -> None:
    """Refusing every `{{...}}` left no way to ask about JSX, format strings or Handlebars
    (48th probe): only what reads as a variable is checked."""
    path = tmp_path / "s.yaml"
    texts = [
        "Fix: <div style={{color: 'red'}}>hi</div>",
        'What does println!("{{}}") print?',
        "Explain {{#each items}}x{{/each}}",
        "In Handlebars, {{#if name}}hi{{/if}}",  # `{#` inside `{{#`: no Nunjucks comment
        # openers never closed are no tags (the variable after them is filled)
        "In bash, what does ${#text} print, {{name}}?",
        "## Intro {#sec-intro}\nSummarise for {{name}}",
        'What does printf("{%d}", n) print, {{name}}?',
    ]
    prompts = ", ".join(json.dumps(t) for t in texts)
    path.write_text(
        f"prompts: [{prompts}]\ntests:\n  - vars: {{name: Ann}}\n"
        "    assert: [{type: contains, value: a}]\n"
    )
    assert [item.prompt for item in load_suite(path).items] == [
        t.replace("{{name}}", "Ann") for t in texts
    ]


def test_an_assertion_with_a_template_openscout_does_not_fill_is_refused(tmp_path: Path) -> None:
    """`icontains: "{{l[0]}}"` looked for those characters, and the right answer failed."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "prompts: [Where?]\ntests:\n  - vars: {l: [Paris]}\n"
        "    assert: [{type: icontains, value: '{{l[0]}}'}]\n"
    )
    with pytest.raises(DataFileError) as e:
        load_suite(path)
    assert "uses {{l[0]}}, which is not a variable" in e.value.message and e.value.line == 4
    # and a filter in a suite-level assertion's value is refused as in a prompt
    path.write_text(
        "prompts: [Where?]\nassert: [{type: icontains, value: '{{ c | upper }}'}]\n"
        "tests:\n  - vars: {c: Paris}\n"
    )
    with pytest.raises(DataFileError, match="applies a filter"):
        load_suite(path)


def test_many_names_for_one_large_value_are_bounded(tmp_path: Path) -> None:
    """`{{a.0}}`, `{{a.00}}`, `{{a.000}}`... are one value: each spelling wrote the 10 MB
    list out again before the size was checked, 2.8 GB for 400 of them (44th probe)."""
    import subprocess
    import sys

    big = json.dumps(["y" * 90 + str(i) for i in range(20_000)])  # about 2 MB
    prompt = "".join("{{a." + "0" * j + "}}" for j in range(1, 301))
    path = tmp_path / "s.yaml"
    path.write_text(
        f"prompts: [{json.dumps(prompt)}]\ntests:\n  - vars:\n      a: [{big}]\n"
        "    assert: [{type: contains, value: x}]\n"
    )
    script = (
        "import resource, sys\n"
        "from openscout.errors import DataFileError\n"
        "from openscout.evals.loading import load_suite\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    load_suite({str(path)!r})\n"
        "except DataFileError as e:\n"
        "    print(e.message)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    said, grew_mb = done.stdout.strip().rsplit("\n", 1)
    assert "would be more than 4,194,304 characters" in said
    assert int(grew_mb) < 150, f"the peak grew {grew_mb} MB"


def test_a_variable_in_a_key_of_an_assertion_value_is_filled(tmp_path: Path) -> None:
    """A schema's `properties: {"{{k}}": ...}` stayed as written while its `required` was
    filled, so the type check the author wrote never applied (50th probe, low)."""
    path = tmp_path / "s.yaml"
    schema = '{type: object, required: ["{{k}}"], properties: {"{{k}}": {type: string}}}'
    path.write_text(
        f"prompts: ['Give JSON with the field {{{{k}}}}']\nassert: [{{type: json-schema, value: "
        f"{schema}}}]\ntests:\n  - vars: {{k: city}}\n"
        f"    assert: [{{type: json-schema, value: {schema}}}]\n"
    )
    (item,) = load_suite(path).items
    for check in item.check_data["assertions"]:
        assert check["value"]["properties"] == {"city": {"type": "string"}}
    # two keys that become one are refused, not one silently dropped
    path.write_text(
        "prompts: [Hi]\ntests:\n  - vars: {a: x, b: x}\n"
        "    assert: [{type: json-schema, value: {properties: {'{{a}}': {}, '{{b}}': {}}}}]\n"
    )
    with pytest.raises(DataFileError, match="two keys of an assertion's value become 'x'"):
        load_suite(path)


@pytest.mark.parametrize("stop", ["'{{k}}'", "'{{ items[0] }}'", "'{{- k }}'"])
def test_a_variable_in_a_stop_string_is_refused(tmp_path: Path, stop: str) -> None:
    """One set of stop strings serves every test, and `{{k}}` there was sent to the model
    as written (50th probe, low)."""
    path = tmp_path / "s.yaml"
    path.write_text(
        f"prompts: ['Q {{{{k}}}}']\ndefaults:\n  stop: ['###', {stop}]\n"
        "tests:\n  - vars: {k: a}\n"
    )
    with pytest.raises(DataFileError, match="holds a variable; stop strings are not filled") as e:
        load_suite(path)
    assert e.value.line == 3


@pytest.mark.parametrize(
    ("check", "variables"),
    [
        ("{type: icontains, value: '{{e}}'}", "{e: ''}"),
        ("{type: contains, value: ''}", "{}"),
        ("{type: regex, value: ''}", "{}"),
        ("{type: not-contains, value: ''}", "{}"),
        ("{type: icontains, value: ' '}", "{}"),  # and the 52nd probe's
        ("{type: regex, value: '^'}", "{}"),
        ("{type: regex, value: '(?i){{e}}'}", "{e: ''}"),
        ("{type: regex, value: '{{e}}|paris'}", "{e: ''}"),
        # patterns every answer that says anything matches (53rd probe)
        ("{type: regex, value: '{{e}}.'}", "{e: ''}"),
        ("{type: regex, value: '{{e}}.+'}", "{e: ''}"),
        ("{type: regex, value: '{{e}}\\S'}", "{e: ''}"),
        ("{type: regex, value: '{{e}}\\w'}", "{e: ''}"),
        ("{type: regex, value: '{{e}}[^\\n]'}", "{e: ''}"),
        ("{type: regex, value: '[\\s\\S]{{e}}'}", "{e: ''}"),
        # ... and any pattern holding a variable the test leaves blank (54th probe)
        ("{type: regex, value: '{{e}}..'}", "{e: ''}"),
        ("{type: regex, value: '{{e}}\\D'}", "{e: ''}"),
        ("{type: not-regex, value: '{{e}}[A-Za-z]'}", "{e: ' '}"),
    ],
)
def test_an_empty_value_every_answer_holds_is_refused(
    tmp_path: Path, check: str, variables: str
) -> None:
    """`icontains: "{{e}}"` with `e: ""` (a missing value in a data set) passed every
    answer, junk included, silently (51st probe, low)."""
    path = tmp_path / "s.yaml"
    path.write_text(f"prompts: [Q]\ntests:\n  - vars: {variables}\n    assert: [{check}]\n")
    with pytest.raises(DataFileError, match=r"the value is empty|matches any answer|leaves") as e:
        load_suite(path)
    assert e.value.line == 4


@pytest.mark.parametrize(
    "pattern",
    [
        "^.{1,100}$",
        "(?s)^.{1,10000}$",
        "\\d",
        "[a-z]",
        "^(Paris|Lyon)\\.?$",
        "(?i)paris",
        # checks most answers pass: no CJK, ASCII only, no leading space, no markdown, no
        # HTML, no blank line (refused by the first witnesses of the 53rd probe's fix)
        "^[^\\u4e00-\\u9fff]+$",
        "^[\\x00-\\x7F]+$",
        "^\\S",
        "^[^*#`]+$",
        "^[^<>]+$",
        "^[^\\n]+(\\n[^\\n]+)*$",
    ],
)
def test_a_pattern_some_answers_miss_is_kept(tmp_path: Path, pattern: str) -> None:
    """Length limits, plain checks and checks most answers pass are no "any answer" pattern:
    the witnesses are a digit, a few letters, other scripts and markup after spaces, and a
    long answer of many lines, never a blank one."""
    path = tmp_path / "s.json"
    suite = {"prompts": ["Q"], "tests": [{"assert": [{"type": "regex", "value": pattern}]}]}
    path.write_text(json.dumps(suite))
    (item,) = load_suite(path).items
    assert item.check_data["assertions"][0]["value"] == pattern


def test_an_expression_on_a_name_with_a_joiner_is_refused(tmp_path: Path) -> None:
    """`{{ نام‌کاربر or "x" }}` (a test's variable, a zero-width non-joiner inside) was sent
    as written: the name was read up to the joiner (52nd probe, low)."""
    name = "نام\u200cکاربر"
    path = tmp_path / "s.json"
    check = {"type": "icontains", "value": "a"}
    suite = {
        "prompts": [f'Q {{{{ {name} or "x" }}}}'],
        "tests": [{"vars": {name: "A"}, "assert": [check]}],
    }
    path.write_text(json.dumps(suite))
    with pytest.raises(DataFileError, match="which is not a variable"):
        load_suite(path)


def test_is_json_with_a_schema_checks_it(tmp_path: Path) -> None:
    """`is-json` with a value is a schema check, as in promptfoo: its value was not read,
    and a ported suite's schemas passed any JSON, `{}` from a junk server too (54th probe)."""
    from openscout.evals.scoring import score_generation

    path = tmp_path / "s.json"
    check = {"type": "is-json", "value": {"type": "object", "required": ["name"]}}
    path.write_text(json.dumps({"prompts": ["Q"], "tests": [{"assert": [check]}]}))
    (item,) = load_suite(path).items
    assert score_generation(item, '{"a": 1}').value == 0.0
    assert score_generation(item, '{"name": "Ann"}').value == 1.0
    check["value"] = {"type": "nope"}  # a schema that cannot be: refused as json-schema's
    path.write_text(json.dumps({"prompts": ["Q"], "tests": [{"assert": [check]}]}))
    with pytest.raises(DataFileError, match="is-json assertion"):
        load_suite(path)
