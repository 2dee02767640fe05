"""Hostile Parquet files for `catalog import-results`: refused with the file named, within
bounds, never "unexpected error". The file is read in a limited worker process; the budgets
(cells, values, decoded bytes, JSON bytes) are module constants read by the parent at each
call and passed to the child, so a test that shrinks them in this process reaches the child."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from openscout import datafile
from openscout.catalog import parquet_rows
from openscout.catalog.leaderboard_import import read_rows, scores_from_rows
from openscout.errors import DataFileError
from openscout.worker import Limits

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
SOURCE = "https://example.org/results.parquet"


def _small_parquet_budget(monkeypatch: pytest.MonkeyPatch, mib: int = 1) -> None:
    monkeypatch.setattr(parquet_rows, "MAX_DECODED_BYTES", mib * 2**20)


# ---- a footer that lies ----------------------------------------------------------------------


def _varint(n: int, length: int = 0) -> bytes:
    """Thrift's compact i64: zigzag, then 7 bits a byte; padded with empty continuation
    bytes to `length`, so that a smaller number fits where a larger one stood."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        out.append(z & 0x7F)
        z >>= 7
        if not z:
            break
        out[-1] |= 0x80
    while len(out) < length:
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


def _say_sizes_are(path: Path, small: int) -> None:
    """Overwrite the footer's uncompressed sizes (column chunk and row group) with `small`."""
    data = path.read_bytes()
    group = pq.ParquetFile(path).metadata.row_group(0)
    end = len(data) - 8
    start = end - int.from_bytes(data[end : end + 4], "little")
    footer = data[start:end]
    for size in {group.total_byte_size, group.column(0).total_uncompressed_size}:
        real = _varint(size)
        footer = footer.replace(real, _varint(small, len(real)))
    path.write_bytes(data[:start] + footer + data[end:])


def _peak_rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM")).split()[1])


def test_a_footer_that_understates_the_sizes_is_stopped_by_the_child_s_memory_limit(
    tmp_path: Path,
) -> None:
    """A file whose footer called 3 GB of strings 100 bytes took the import to 5 GB before
    the decoded-bytes count refused it (eleventh probe). Now the child's address-space limit
    stops it, and this process does not grow."""
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to measure the peak")
    n = 2000  # 2000 rows of one 1 MiB string: 2 GiB once decoded, twice the child's limit
    column = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["A" * 2**20]))
    path = tmp_path / "forged.parquet"
    table = pa.table({"fullname": column, "IFEval": [1.0] * n})
    # no stored Arrow schema: the string comes back as plain strings, one copy per row
    pq.write_table(
        table, path, compression="zstd", dictionary_pagesize_limit=4 * 2**20, store_schema=False
    )
    _say_sizes_are(path, 100)
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).total_uncompressed_size == 100
    assert path.stat().st_size < 10_000

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from here
    before = _peak_rss_kib()
    with pytest.raises(DataFileError) as refused:
        read_rows(path)
    grown_mib = (_peak_rss_kib() - before) / 1024
    message = str(refused.value)
    assert message.startswith(f"{path}: too large to read within openscout's limits (1024 MiB")
    assert "out of memory" in message and "split it" in message  # the child's limit, not a count
    assert grown_mib < 200, f"this process grew by {grown_mib:.0f} MiB"


def test_a_stop_for_time_is_the_same_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"fullname": ["a/b"]}), path)
    monkeypatch.setattr(parquet_rows, "PARQUET_LIMITS", Limits(timeout=0.001))
    with pytest.raises(DataFileError, match=r"too large to read .*: no answer within 0\.001 s"):
        read_rows(path)


# ---- what comes back -------------------------------------------------------------------------


def test_an_honest_file_reads_the_same_rows_through_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "results.parquet"
    table = pa.table(
        {
            "fullname": ["org/a", "org/b", "org/c"],
            "IFEval": [71.25, None, 3.0],
            "BBH": [1, 2, -3],
            "Submission Date": [dt.date(2024, 6, 1), dt.date(2024, 7, 2), None],
        }
    )
    pq.write_table(table, path)
    rows = read_rows(path)
    assert rows == [
        {"fullname": "org/a", "IFEval": 71.25, "BBH": 1, "Submission Date": "2024-06-01"},
        {"fullname": "org/b", "IFEval": None, "BBH": 2, "Submission Date": "2024-07-02"},
        {"fullname": "org/c", "IFEval": 3.0, "BBH": -3, "Submission Date": None},
    ]
    assert [type(r["BBH"]) for r in rows] == [int] * 3
    scores = list(scores_from_rows(rows, path=str(path), source=SOURCE, today="2025-01-01"))
    assert [(s.model, s.benchmark, s.value, s.date) for s in scores[:2]] == [
        ("org/a", "IFEval", 71.25, "2024-06-01"),
        ("org/a", "BBH", 1.0, "2024-06-01"),
    ]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_score_that_is_not_a_number_is_still_refused(tmp_path: Path, bad: float) -> None:
    """NaN and infinities cross the worker's JSON as floats, so the import judges them as it
    did when the file was read in this process (not as the strings 'nan' or 'None')."""
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"fullname": ["org/a"], "IFEval": [bad]}), path)
    rows = read_rows(path)
    assert isinstance(rows[0]["IFEval"], float) and str(rows[0]["IFEval"]) == str(bad)
    with pytest.raises(DataFileError, match=f"entry 'row 1': 'IFEval' is out of range: {bad}"):
        list(scores_from_rows(rows, path=str(path), source=SOURCE, today="2025-01-01"))


def test_values_json_cannot_carry_come_back_as_strings_or_numbers(tmp_path: Path) -> None:
    path = tmp_path / "types.parquet"
    table = pa.table(
        {
            "ns": pa.array([1_000_000_123], pa.timestamp("ns", tz="UTC")),
            "us": pa.array([dt.datetime(2024, 5, 1, 12, 30)], pa.timestamp("us")),
            "time": pa.array([dt.time(1, 2, 3)], pa.time64("us")),
            "took": pa.array([1500], pa.duration("ms")),
            "score": pa.array([Decimal("12.50")], pa.decimal128(5, 2)),
            "raw": pa.array([b"org/\xffm"]),
            "map": pa.array([[(1, "a")]], pa.map_(pa.int32(), pa.string())),
            "struct": pa.array([{"day": dt.date(2020, 1, 2)}]),
            "list": pa.array([[1.5, None]]),
            "dict": pa.array(["x"]).dictionary_encode(),
        }
    )
    pq.write_table(table, path)
    assert read_rows(path) == [
        {
            "ns": "1970-01-01T00:00:01.000000123+00:00",
            "us": "2024-05-01T12:30:00",
            "time": "01:02:03",
            "took": 1.5,
            "score": "12.50",
            "raw": "org/\ufffdm",
            "map": [[1, "a"]],
            "struct": {"day": "2020-01-02"},
            "list": [1.5, None],
            "dict": "x",
        }
    ]


def test_rows_over_the_reply_bound_are_refused_by_the_child(tmp_path: Path) -> None:
    """40 MiB of strings is within the decoded budget but not the worker's 32 MiB reply:
    a clear refusal, not a garbled or cut answer."""
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({"fullname": ["x" * 2**20] * 40}), path, compression="zstd")
    with pytest.raises(DataFileError, match="its rows take more than 32 MiB as JSON") as refused:
        read_rows(path)
    assert refused.value.path == str(path) and refused.value.hint == "split it into smaller files"


def test_the_child_s_reader_as_a_unit(tmp_path: Path) -> None:
    """rows_here is what runs in the worker; here in this process, with budgets of its own."""
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"fullname": [f"org/m{i}" for i in range(1000)]}), path)
    budgets = {"max_decoded": 2**20, "max_values": 10_000, "max_columns": 10}
    rows = parquet_rows.rows_here(str(path), "rows.parquet", max_json=10**6, **budgets)
    assert rows[999] == {"fullname": "org/m999"}
    with pytest.raises(DataFileError, match=r"rows.parquet: its rows take more than"):
        parquet_rows.rows_here(str(path), "rows.parquet", max_json=5000, **budgets)


@pytest.mark.skipif(
    not hasattr(os, "getuid") or os.getuid() != 0 or not shutil.which("setpriv"),
    reason="needs root and setpriv to run as another user",
)
def test_the_worker_reads_parquet_where_threads_cannot_start(tmp_path: Path) -> None:
    """The worker's RLIMIT_NPROC of 0 forbids threads for any user but root: pyarrow's
    read-ahead thread then failed every file. Run as `nobody` (allowed to read our files)."""
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"fullname": ["org/a"], "IFEval": [1.0]}), path)
    code = (
        "import sys; from pathlib import Path;"
        " from openscout.catalog.parquet_rows import read_parquet_rows;"
        " print(read_parquet_rows(Path(sys.argv[1])))"
    )
    cap = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cap]
    p = subprocess.run(
        [*user, sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    if "setpriv:" in p.stderr:
        pytest.skip(f"setpriv cannot switch user here: {p.stderr.strip()[:200]}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[{'fullname': 'org/a', 'IFEval': 1.0}]"


# ---- what the metadata tells (moved from test_data_files.py) -----------------------------------


def test_a_parquet_file_of_more_cells_than_read_is_refused_from_its_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """151 KB of compressed Parquet held 20 M rows: 1.5 GB before the refusal (ninth probe).
    The counts in the file's metadata are checked before a row is read."""
    monkeypatch.setattr(datafile, "MAX_VALUES", 1000)
    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"fullname": ["a/b"] * 600, "IFEval": [1.0] * 600}), path)
    with pytest.raises(DataFileError, match="600 rows of 2 columns"):
        read_rows(path)
    small = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"fullname": ["a/b"] * 10, "IFEval": [1.0] * 10}), small)
    assert len(read_rows(small)) == 10


def test_a_parquet_file_of_huge_compressed_strings_is_refused_from_its_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """29 KB of Parquet held three strings of 300 MiB: 2 GB read (tenth probe). The
    uncompressed sizes in its metadata are checked before a row is read."""
    _small_parquet_budget(monkeypatch)
    path = tmp_path / "strings.parquet"
    pq.write_table(pa.table({"fullname": ["x" * 3 * 2**20]}), path, compression="zstd")
    assert path.stat().st_size < 10_000
    with pytest.raises(DataFileError, match="3 MiB once uncompressed; openscout reads at most 1"):
        read_rows(path)


def test_a_parquet_list_counts_element_by_element(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One cell holding a list of 20 M elements passed the rows x columns check (tenth probe)."""
    monkeypatch.setattr(datafile, "MAX_VALUES", 1000)
    path = tmp_path / "list.parquet"
    pq.write_table(pa.table({"fullname": ["a/b"], "tags": [[0] * 5000]}), path)
    with pytest.raises(DataFileError, match="5,001 values"):
        read_rows(path)


def test_a_value_repeated_through_the_dictionary_is_counted_as_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One stored string, referenced by every row, is as many strings once read: the
    metadata cannot show it, so the decoded batches are counted."""
    _small_parquet_budget(monkeypatch)
    one = pa.array(["y" * 300_000])
    column = pa.DictionaryArray.from_arrays(pa.array([0] * 50, pa.int32()), one)
    path = tmp_path / "dict.parquet"
    pq.write_table(pa.table({"fullname": column}), path, use_dictionary=True)
    with pytest.raises(DataFileError, match="more than 1 MiB once decoded"):
        read_rows(path)
    fine = tmp_path / "fine.parquet"
    column = pa.DictionaryArray.from_arrays(pa.array([0] * 3, pa.int32()), one)
    pq.write_table(pa.table({"fullname": column}), fine, use_dictionary=True)
    assert [len(r["fullname"]) for r in read_rows(fine)] == [300_000] * 3
