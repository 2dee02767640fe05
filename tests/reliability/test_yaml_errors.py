"""Malformed YAML in the three kinds of files a user writes (eval suites, models.yaml, catalog
files) is refused with a DataFileError that names the file and the line; and a fuzz of damaged
files (hypothesis, fixed example count) finds no other exception in any of the three loaders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openscout.catalog.loader import load_catalog, load_file
from openscout.config import Settings
from openscout.errors import DataFileError, OpenscoutError
from openscout.evals.loading import load_suite
from openscout.models import list_models
from tests.catalog.test_schema import GOOD

SUITE = """name: words
prompts:
  - 'Say {{word}}'
defaults: {max_tokens: 8}
tests:
  - vars: {word: one}
    assert: [{type: icontains, value: one}]
  - vars: {word: two}
    assert: [{type: max-length, value: 40}]
"""
MODELS = """version: 1
models:
  - id: first
    engine: mock
  - id: second
    engine: mock
    n_ctx: 4096
"""
CATALOG = GOOD.format(value=1.0).lstrip("\n")  # two entries of a valid catalog file


def _suite(path: Path, settings: Settings) -> None:
    load_suite(str(path))


def _models(path: Path, settings: Settings) -> None:
    settings.ensure()
    settings.models_file.write_bytes(path.read_bytes())
    list_models(settings)


def _catalog(path: Path, settings: Settings) -> None:
    load_file(path)


LOADERS: dict[str, tuple[str, Callable[[Path, Settings], None]]] = {
    "suite": (SUITE, _suite),
    "models": (MODELS, _models),
    "catalog": (CATALOG, _catalog),
}


def _break(text: str, line: int, new: str) -> bytes:
    """`text` with line `line` (1-based) replaced by `new`."""
    lines = text.splitlines()
    lines[line - 1] = new
    return ("\n".join(lines) + "\n").encode()


# (what, line to replace, the new line) -> the error must name that line
DAMAGE = [
    ("unclosed bracket", 4, "  - id: [unclosed"),
    ("tab indent", 4, "\t- id: tabbed"),
    ("stray colon", 4, "  - id: a: b: c"),
    ("bad quote", 4, "  - id: 'open"),
]


@pytest.mark.parametrize(
    "kind",
    ["models", "catalog", "suite"],
)
@pytest.mark.parametrize(("what", "line", "new"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_malformed_yaml_names_the_line(
    kind: str,
    what: str,
    line: int,
    new: str,
    settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    base, load = LOADERS[kind]
    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(_break(base, line, new))
    with pytest.raises(DataFileError) as e:
        load(path, settings)
    # the reported line is the damaged one or the next (where the parser noticed)
    assert e.value.line in (line, line + 1), (kind, what, str(e.value))
    assert f":{e.value.line}" in str(e.value)


@pytest.mark.parametrize(
    "kind",
    [
        "models",
        "catalog",
        "suite",
    ],
)
def test_bytes_that_are_not_utf8_name_the_line(
    kind: str, settings: Settings, tmp_path: Path
) -> None:
    base, load = LOADERS[kind]
    lines = base.encode().splitlines(keepends=True)
    data = b"".join(lines[:2]) + b"# \xff\xfe broken\n" + b"".join(lines[2:])  # line 3
    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(data)
    with pytest.raises(DataFileError) as e:
        load(path, settings)
    assert e.value.line == 3, str(e.value)


def test_models_yaml_schema_errors_name_the_line(settings: Settings) -> None:
    settings.ensure()
    text = MODELS.replace("    n_ctx: 4096", "    n_ctx: lots")
    settings.models_file.write_text(text)
    with pytest.raises(DataFileError) as e:
        list_models(settings)
    assert e.value.line == 7 and e.value.entry == "second" and e.value.field == "n_ctx"
    assert "models.yaml:7" in str(e.value)
    # an entry that is not a mapping at all: still a DataFileError naming its line
    settings.models_file.write_text("version: 1\nmodels:\n  - first\n  - just a string\n")
    with pytest.raises(DataFileError) as e:
        list_models(settings)
    assert e.value.line == 3


@pytest.mark.parametrize(
    ("kind", "text", "found"),
    [
        ("models", "- 1\n", "a list"),
        ("models", "version: 1\nmodels:\n  - 7\n", "a number"),
        ("catalog", "- 1\n", "a list"),
        ("suite", "prompts: ['{{x}}']\ntests:\n  - [1, 2]\n", "a list"),
    ],
    ids=["models top level", "models entry", "catalog top level", "suite test"],
)
def test_a_list_where_a_mapping_belongs_says_so_in_the_files_terms(
    kind: str, text: str, found: str, settings: Settings, tmp_path: Path
) -> None:
    """`- 1` as models.yaml said "Input should be a valid dictionary or instance of
    _RegistryFile": a class name the user never wrote (29th probe, low)."""
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text)
    with pytest.raises(DataFileError) as e:
        LOADERS[kind][1](path, settings)
    assert f"expected a mapping (key: value lines), found {found}" in str(e.value), str(e.value)
    assert "instance of" not in str(e.value)


def test_a_bad_user_catalog_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(CATALOG.replace("params_b: 1.0", "params_b: [1.0"))
    with pytest.raises(DataFileError) as e:
        load_catalog(tmp_path)
    assert e.value.path == str(tmp_path / "mine.yaml") and e.value.line in (10, 11)


# -- fuzz: damaged files give a DataFileError or load, nothing else ------------------------------


def _edits(tags: bool) -> st.SearchStrategy[list[tuple[int, int, str]]]:
    return st.lists(
        st.tuples(
            st.integers(0, 400),  # where
            st.integers(0, 6),  # how many characters to delete there
            st.sampled_from(
                [
                    "",
                    ":",
                    "- ",
                    "[",
                    "]",
                    "{",
                    "}",
                    "'",
                    '"',
                    "\t",
                    "\n",
                    "  ",
                    "&a ",
                    "*a",
                    *(["!!python/object:os.system ", "!!binary ", "!!set "] if tags else []),
                    "? ",
                    "|",
                    ">",
                    "%YAML 1.1\n",
                    "---\n",
                    "\x00",
                    "\udcff",  # encodes to the raw byte 0xff: not UTF-8
                    "\u2028",
                    "null",
                    "1e999",
                    "-1",
                ]
            ),  # what to insert
        ),
        min_size=1,
        max_size=4,
    )


def _mutate(text: str, ops: list[tuple[int, int, str]]) -> bytes:
    for where, drop, insert in ops:
        i = where % (len(text) + 1)
        text = text[:i] + insert + text[i + drop :]
    return text.encode("utf-8", errors="surrogateescape")


@pytest.mark.parametrize("kind", list(LOADERS))
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=_edits(tags=True), plain=_edits(tags=False))
def test_damaged_files_fail_only_with_data_file_errors(
    kind: str,
    ops: list[tuple[int, int, str]],
    plain: list[tuple[int, int, str]],
    settings: Settings,
    tmp_path: Path,
) -> None:
    base, load = LOADERS[kind]
    path = tmp_path / f"{kind}-fuzz.yaml"
    path.write_bytes(_mutate(base, ops))
    try:
        load(path, settings)
    except OpenscoutError as e:
        assert str(e) and "Traceback" not in str(e)


def test_a_yaml_tag_in_a_suite_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "tagged.yaml"
    path.write_text("prompts: [!!python/object:os.system x]\ntests: []\n")
    with pytest.raises(DataFileError):
        load_suite(str(path))


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_key_written_twice_is_refused_naming_both_lines(
    kind: str, settings: Settings, tmp_path: Path
) -> None:
    # PyYAML alone keeps the last value silently: an entry's first `checks:` block, or a
    # suite's first `tests:` list, would vanish without a word.
    base, load = LOADERS[kind]
    first = base.splitlines()[0]
    lines = base.count("\n")
    path = tmp_path / f"{kind}.yaml"
    path.write_text(base + first + "\n")
    with pytest.raises(DataFileError) as e:
        load(path, settings)
    assert e.value.line == lines + 1, str(e.value)
    assert "duplicate key" in str(e.value) and "first written on line 1" in str(e.value)


@pytest.mark.parametrize("kind", list(LOADERS))
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1" * 5000, "a number of 5000 characters"),  # past Python's 4300-digit int conversion
        ("!!timestamp 2020-13-45", "no such value"),  # a timestamp that is no date
        # YAML 1.1 built 1:1:...:1 as base 60, 77 s for 200,000 parts; plain, it is text now
        ("!!int 1:30", "no such value"),
        ('!!timestamp "x"', "no such value"),  # ninth probe: AttributeError inside PyYAML
        ('!!int ""', "no such value"),  # IndexError
        ('!!bool "maybe"', "no such value"),  # KeyError
        ("0x" + "f" * 20_000, "a number of 20002 characters"),  # fails later, where printed
    ],
    ids=[
        "5000 digits",
        "no such date",
        "base-60 bomb",
        "tag timestamp",
        "tag int",
        "tag bool",
        "hex",
    ],
)
def test_a_value_yaml_cannot_build_names_its_line(
    kind: str, value: str, expected: str, settings: Settings, tmp_path: Path
) -> None:
    """These were 'unexpected error: ValueError' in the CLI and a 500 on every route when in
    models.yaml (eighth probe)."""
    base, load = LOADERS[kind]
    path = tmp_path / f"{kind}.yaml"
    path.write_text(base + f"extra_value: {value}\n")
    with pytest.raises(DataFileError) as e:
        load(path, settings)
    assert expected in str(e.value) and e.value.line == base.count("\n") + 1, str(e.value)[:300]
