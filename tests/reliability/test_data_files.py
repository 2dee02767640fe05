"""Hostile JSON, JSON lines and CSV data files (tune examples, lm-eval documents, leaderboard
exports) give a clear error naming the file and the line, exit 2, never "unexpected error":
nesting 100,000 deep (RecursionError), a 200,000-character CSV field (csv.Error), a lone
surrogate "\\ud800" (a UnicodeEncodeError far from the file). All three readers go through
openscout/datafile.py; its bounds are unit-tested below."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from openscout import datafile
from openscout.errors import DataFileError
from tests.reliability.helpers import cli

PAIR = json.dumps({"prompt": "Say hi.", "completion": "hi"})
DOC = json.dumps({"query": "q", "choices": ["a", "b"], "gold": 0})
DEEP = "[" * 200_000 + "]" * 200_000


def _refused(env: dict[str, str], path: Path, line: int, words: str, *args: str) -> str:
    p = cli(env, *args, check=False, timeout=300)
    assert p.returncode == 2, p.stderr
    assert f"{path.name}:{line}:" in p.stderr and words in p.stderr, p.stderr
    assert "unexpected error" not in p.stderr and "Traceback" not in p.stderr
    return p.stderr


# ---- through the CLI ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "words"),
    [
        (DEEP, "nests deeper than 200 levels"),
        ('{"prompt": "\\ud800", "completion": "b"}', "\\ud800"),
    ],
    ids=["deep", "surrogate"],
)
def test_tune_data(tmp_path: Path, cli_env: dict[str, str], second: str, words: str) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(f"{PAIR}\n{second}\n{PAIR}\n", encoding="utf-8")
    args = ("tune", "smollm2-135m-instruct", "--data", str(data), "--name", "x", "--steps", "1")
    _refused(cli_env, data, 2, words, *args)
    assert not (tmp_path / "openscout-home" / "tune" / "x").exists()  # nothing started


def test_import_results_deep_json(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "deep.json"
    data.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _refused(cli_env, data, 1, "nests deeper", "catalog", "import-results", str(data))


def test_import_results_deep_jsonl(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "deep.jsonl"
    data.write_text('{"fullname": "a/b", "IFEval": 1}\n\n' + DEEP + "\n", encoding="utf-8")
    _refused(cli_env, data, 3, "nests deeper", "catalog", "import-results", str(data))


def test_import_results_huge_csv_field(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "big.csv"
    data.write_text("fullname,IFEval\na/b,1\nc/d," + "x" * 200_000 + "\n", encoding="utf-8")
    _refused(cli_env, data, 3, "longer than 131072", "catalog", "import-results", str(data))


@pytest.mark.parametrize(
    ("second", "words"),
    [(DEEP, "nests deeper than 200 levels"), (DOC.replace('"q"', '"\\ud800"'), "\\ud800")],
    ids=["deep", "surrogate"],
)
def test_eval_jsonl_suite(tmp_path: Path, cli_env: dict[str, str], second: str, words: str) -> None:
    suite = tmp_path / "s.jsonl"
    suite.write_text(f"{DOC}\n{second}\n", encoding="utf-8")
    args = ("eval", "--suite", str(suite), "-m", "smollm2-135m-instruct")
    _refused(cli_env, suite, 2, words, *args)


# ---- the shared reader -------------------------------------------------------------------------


def _error(fn: object) -> DataFileError:
    with pytest.raises(DataFileError) as e:
        fn()  # type: ignore[operator]
    return e.value


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"{}\n" * 100)
    err = _error(lambda: datafile.read_bytes(p, max_bytes=299))
    assert err.path == str(p) and "300 bytes" in err.message
    assert datafile.read_bytes(p, max_bytes=300) == b"{}\n" * 100
    assert "cannot read" in _error(lambda: datafile.read_bytes(tmp_path / "none")).message


def test_not_utf8_is_named_by_line() -> None:
    assert _error(lambda: datafile.decode(b"a\nb\n\xff\n", "f")).line == 3
    err = _error(lambda: list(datafile.jsonl_values(b"{}\n\n\xff{}\n", "f")))
    assert err.line == 3 and "not UTF-8" in err.message
    assert datafile.decode("\ufeff{}".encode(), "f") == "{}"  # a BOM is dropped


def test_depth_bound() -> None:
    limit = datafile.MAX_DEPTH
    ok = "[" * limit + "]" * limit
    assert datafile.parse_json(ok, "f") is not None
    err = _error(lambda: datafile.parse_json("[" * (limit + 1) + "]" * (limit + 1), "f"))
    assert "nests deeper" in err.message and err.line == 1
    # the line of the too-deep part, in a JSON document over several lines
    err = _error(lambda: datafile.parse_json('{"a": 1,\n"b":\n' + DEEP + "}", "f"))
    assert err.line == 3
    # brackets inside strings (escaped quotes too) do not nest
    text = json.dumps({"s": '\\"' + "[" * 5000, "t": ["{" * 5000]})
    assert datafile.parse_json(text, "f")["t"] == ["{" * 5000]


def test_very_deep_is_refused_quickly() -> None:
    start = time.monotonic()
    err = _error(lambda: list(datafile.jsonl_values("{}\n" + "{" * 500_000 + "\n", "f")))
    assert err.line == 2 and time.monotonic() - start < 5


def test_a_recursion_error_is_the_same_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    # were the bound above the recursion limit, json's own RecursionError is caught the same
    monkeypatch.setattr(datafile, "MAX_DEPTH", 10**6)
    err = _error(lambda: datafile.parse_json("[" * 100_000 + "]" * 100_000, "f", line=7))
    assert "nests deeper" in err.message and err.line == 7


@pytest.mark.parametrize(
    "text",
    [
        r'"\ud800"',  # a lone high half
        r'"\udc00"',  # a lone low half
        r'"\ud800x\udc00"',  # halves apart
        r'"\ud800\n"',  # a high half before another escape
        r'{"\ud83d\ude00": "\uDBFF"}',  # a good pair as a key, a lone half as a value
    ],
)
def test_lone_surrogates_are_refused(text: str) -> None:
    err = _error(lambda: datafile.parse_json(text, "f", line=4))
    assert "lone surrogate" in err.message and err.line == 4


def test_surrogate_pairs_and_escaped_backslashes_are_text() -> None:
    assert datafile.parse_json(r'"\ud83d\ude00"', "f") == "\U0001f600"
    assert datafile.parse_json(r'"\\ud800"', "f") == "\\ud800"  # a backslash, then text
    assert datafile.parse_json(r'"\\\ud83d\ude00"', "f") == "\\\U0001f600"
    err = _error(lambda: datafile.parse_json('[\n"ok",\n"\\\\\\ud800"\n]', "f"))
    assert err.line == 3 and "\\ud800" in err.message


def test_the_surrogate_scan_agrees_with_the_json_reader() -> None:
    """The scan runs in C passes now (walking each escape in Python took 14 s for 15 M of
    them; tenth probe); whether it finds a lone half must match what json.loads decodes."""
    import random

    pieces = [
        "\\\\",
        "\\n",
        '\\"',
        "a",
        "ud800",
        "ude00",
        "\\ud83d",
        "\\ude00",
        "\\uD800",
        "\\udbff\\udc00",
    ]
    rng = random.Random(17)
    for _ in range(20_000):
        text = '"' + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 7))) + '"'
        decoded = json.loads(text)
        lone = any(0xD800 <= ord(c) <= 0xDFFF for c in decoded)
        assert (datafile._lone_surrogate(text) is not None) == lone, text


def test_jsonl_lines() -> None:
    text = '{"a": 1}\r\n\n  \n{"b": "x\u2028y"}\n'  # CRLF, blank lines, U+2028 in a string
    assert list(datafile.jsonl_values(text, "f")) == [(1, {"a": 1}), (4, {"b": "x\u2028y"})]
    err = _error(lambda: list(datafile.jsonl_values('{}\n{"a": }\n', "f", hint="h")))
    assert err.line == 2 and "not JSON" in err.message and err.hint == "h"


def test_csv_rows_and_field_bound() -> None:
    rows = datafile.csv_rows('a,b\r\n1,"two\nlines"\r\n3,4\r\n', "f")
    assert rows == [{"a": "1", "b": "two\nlines"}, {"a": "3", "b": "4"}]
    err = _error(lambda: datafile.csv_rows("a,b\n1,2\n3,4\n5," + "x" * 200_000 + "\n", "f"))
    assert err.line == 4 and "longer than" in err.message


# ---- value, cell and column budgets; numbers int() refuses (probe P8-6, P8-7, P8-8) ----------
# Through the CLI with files just over the real budgets (a few MB, refused before parsing or
# early in it); the budgets themselves are unit-tested scaled down.


def test_import_results_csv_of_too_many_columns(tmp_path: Path, cli_env: dict[str, str]) -> None:
    # 10,000 columns over 100,000 one-cell rows once took 14 s and ran out of memory
    data = tmp_path / "wide.csv"
    data.write_text(",".join(f"c{i}" for i in range(1001)) + "\n" + "a\n" * 1000)
    _refused(cli_env, data, 1, "1,001 columns", "catalog", "import-results", str(data))


def test_import_results_csv_of_too_many_cells(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "cells.csv"  # 1,000 columns: the 2,000th row is the 2,000,001st cell
    data.write_text(",".join(f"c{i}" for i in range(1000)) + "\n" + ("," * 999 + "\n") * 2000)
    _refused(
        cli_env, data, 2001, "more than 2,000,000 cells", "catalog", "import-results", str(data)
    )


def test_import_results_csv_row_of_too_many_cells(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "row.csv"  # refused while csv is given the row, before it makes it
    data.write_text("fullname,IFEval\n" + "," * 2_000_001 + "\n")
    _refused(cli_env, data, 2, "more than 2,000,000 cells", "catalog", "import-results", str(data))


def test_import_results_json_of_too_many_values(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "vals.json"
    data.write_text("[" + "0," * 2_000_000 + "0]")
    p = cli(cli_env, "catalog", "import-results", str(data), check=False, timeout=300)
    assert p.returncode == 2 and f"{data.name}: the JSON holds more than 2,000,000" in p.stderr
    assert "unexpected error" not in p.stderr and "Traceback" not in p.stderr


def test_import_results_jsonl_of_too_many_values(tmp_path: Path, cli_env: dict[str, str]) -> None:
    # each line counts 1 + 1 ({) + 2 (,) + 1 ([) + 996 (,): 1,001; the 1,999th passes 2,000,000
    row = '{"fullname": "a/b", "IFEval": 1, "x": [' + "0," * 996 + "0]}\n"
    data = tmp_path / "vals.jsonl"
    data.write_text(row * 1999)
    _refused(
        cli_env, data, 1999, "holds more than 2,000,000", "catalog", "import-results", str(data)
    )


def test_import_results_number_of_5000_digits(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "big.json"
    data.write_text('[\n{"fullname": "a/b",\n"IFEval": ' + "9" * 5000 + "}\n]")
    _refused(
        cli_env,
        data,
        3,
        "a number of more than 4300 digits",
        "catalog",
        "import-results",
        str(data),
    )


def test_tune_number_of_5000_digits(tmp_path: Path, cli_env: dict[str, str]) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(f'{PAIR}\n{{"prompt": "a", "completion": {"1" * 5000}}}\n')
    args = ("tune", "smollm2-135m-instruct", "--data", str(data), "--name", "x", "--steps", "1")
    _refused(cli_env, data, 2, "a number of more than 4300 digits", *args)


def test_value_budget_of_a_json_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafile, "MAX_VALUES", 10)
    # a list of 9 numbers is 10 values (1 + 1 + 8 commas counted)
    assert datafile.parse_json(json.dumps(list(range(9))), "f") == list(range(9))
    assert datafile.parse_json('{"a": [], "b": {}, "c": 1}', "f") is not None  # 6 counted
    err = _error(lambda: datafile.parse_json(json.dumps(list(range(10))), "f"))
    assert "more than 10 values" in err.message and err.path == "f"
    err = _error(lambda: datafile.parse_json("[" + "{}," * 5 + "{}]", "f"))
    assert "more than 10 values" in err.message
    # commas in strings count only when the raw count is over: text full of commas fits
    assert datafile.parse_json(json.dumps(["a, b, c, d, e, f, g, h, i, j, k"]), "f")


def test_value_budget_of_a_jsonl_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafile, "MAX_VALUES", 10)
    # each line counts itself and its objects, lists and commas: 1 + 1 + 1 = 3
    three = '{"a": 1, "b": 2}'
    assert len(list(datafile.jsonl_values(f"{three}\n" * 3, "f"))) == 3  # 9
    err = _error(lambda: list(datafile.jsonl_values(f"{three}\n" * 4, "f", hint="h")))
    assert err.line == 4 and "more than 10 values" in err.message
    # blank lines count too (each is a turn of the loop), bytes the same as text
    err = _error(lambda: list(datafile.jsonl_values(b"{}\n" + b"\n" * 20, "f")))
    assert err.line == 10
    # prose with commas: not values
    prose = json.dumps({"prompt": "a, b, c, d, e, f", "completion": "g, h, i, j"})
    assert len(list(datafile.jsonl_values(f"{prose}\n" * 3, "f"))) == 3


def test_cell_and_column_budgets_of_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafile, "MAX_COLUMNS", 3)
    monkeypatch.setattr(datafile, "MAX_VALUES", 12)
    assert len(datafile.csv_rows("a,b,c\n1,2,3\n4,5,6\n7,8,9\n", "f")) == 3  # 12 cells
    err = _error(lambda: datafile.csv_rows("a,b,c\n1,2,3\n4,5,6\n7,8,9\n1,2,3\n", "f"))
    assert err.line == 5 and "more than 12 cells" in err.message
    err = _error(lambda: datafile.csv_rows("a,b,c,d\n1,2,3,4\n", "f"))
    assert err.line == 1 and "4 columns" in err.message
    err = _error(lambda: datafile.csv_rows("a,b\n1,2,3,4\n", "f"))
    assert err.line == 2 and "a row of 4 cells" in err.message
    # a long row is refused while csv reads it (the commas it is given counted)
    err = _error(lambda: datafile.csv_rows("a,b\n" + "," * 40 + "\n", "f"))
    assert err.line == 2 and "more than 12 cells" in err.message
    # quoted commas count only in what one row is given: the file's cells are csv's own count
    rows = datafile.csv_rows('a,b\n"x,y,z,w,v",1\n"x,y,\nz,w",2\n', "f")
    assert rows == [{"a": "x,y,z,w,v", "b": "1"}, {"a": "x,y,\nz,w", "b": "2"}]


@pytest.mark.parametrize(
    "text",
    ["a,b\n1\n", "a,b\n1,2,3\n\n4,5\n", "a,b\r\n1,2\r\n", "a,b\r1,2\r3,4", "", "a,b\n"],
)
def test_csv_rows_are_as_dictreader_makes_them(text: str) -> None:
    import csv
    import io

    assert datafile.csv_rows(text, "f") == list(csv.DictReader(io.StringIO(text, newline="")))


def test_what_dictreader_takes_silently_is_refused() -> None:
    """A column named twice kept one of its two cells; a quote left open at the end took the
    rest of the file as one value (nineteenth probe)."""
    err = _error(lambda: datafile.csv_rows("model,score,model\nx,1,y\n", "f"))
    assert err.line == 1 and "'model' appears twice" in err.message
    err = _error(lambda: datafile.csv_rows('a,b\n1,"2\n3,4\n', "f"))
    assert err.line == 3 and "malformed CSV" in err.message
    assert datafile.csv_rows(",\n1,2\n", "f") == [{"": "2"}]  # blank names: as DictReader


@pytest.mark.parametrize("where", ["json", "jsonl"])
def test_a_number_int_refuses(where: str) -> None:
    big = "7" * 5000
    if where == "json":
        err = _error(lambda: datafile.parse_json('{"a": 1,\n"b":\n' + big + "}", "f"))
        assert err.line == 3
    else:
        err = _error(lambda: list(datafile.jsonl_values(f"{{}}\n[{big}]\n", "f")))
        assert err.line == 2
    assert "a number of more than 4300 digits" in err.message


def test_a_score_of_400_digits_is_out_of_range_not_an_overflow() -> None:
    """`{"IFEval": <400 digits>}` was "unexpected error: OverflowError" (ninth probe)."""
    from openscout.catalog.leaderboard_import import _number

    with pytest.raises(DataFileError, match="not a number"):
        _number(10**400, "scores.json", 2, "IFEval")


def test_many_long_runs_of_digits_are_scanned_once() -> None:
    # 200 runs of 4300 digits before the one too long: a backtracking regex took 38 s
    from openscout.datafile import parse_json

    text = "[" + ",".join(["1" * 4300] * 200) + "," + "7" * 4301 + "]"
    with pytest.raises(DataFileError, match="more than 4300 digits"):
        parse_json(text, "x.json")


def _not_files(tmp_path: Path) -> list[Path]:
    """A symlink to /dev/zero, a FIFO behind a symlink and a folder: what a cloned suite
    folder can carry. /dev/zero read 2.4 GB and a FIFO hung `eval` and `tune`."""
    zero, fifo, folder = tmp_path / "zero.yaml", tmp_path / "pipe", tmp_path / "folder.yaml"
    zero.symlink_to("/dev/zero")
    os.mkfifo(fifo)
    (tmp_path / "pipe.yaml").symlink_to(fifo)
    folder.mkdir()
    return [zero, tmp_path / "pipe.yaml", folder]


@pytest.mark.timeout(60)  # a hang guard: a FIFO blocked the read for ever
def test_a_pipe_or_a_folder_is_refused_unread(tmp_path: Path) -> None:
    from openscout import yamlfile
    from openscout.tune.data import read_jsonl

    _, pipe, folder = _not_files(tmp_path)  # /dev/zero in-process read all memory: see below
    for path in (pipe, folder):
        for read in (datafile.read_bytes, yamlfile.read_text, read_jsonl, datafile.check_size):
            with pytest.raises(DataFileError, match="not a regular file"):
                read(path)


@pytest.mark.timeout(120)
def test_eval_and_tune_refuse_a_device_or_a_pipe_in_a_clear_error(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    zero, pipe, _ = _not_files(tmp_path)
    for args in (
        ("eval", "-s", str(zero), "-m", "smollm2-135m-instruct"),
        ("eval", "-s", str(pipe), "-m", "smollm2-135m-instruct"),
        ("tune", "smollm2-135m-instruct", "--data", str(zero), "--name", "t1"),
    ):
        p = cli(cli_env, *args, check=False, timeout=60, max_memory_bytes=4 * 2**30)
        assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr
        assert "unexpected error" not in p.stderr
