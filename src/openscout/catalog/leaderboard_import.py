"""`openscout catalog import-results FILE_OR_HUB_ID`: published leaderboard results, stored
in the data dir so that they show offline afterwards (published.py reads them back).

Input is the Open LLM Leaderboard's published results dataset (`open-llm-leaderboard/contents`
on the Hub: one row per evaluated model, columns `fullname`, `IFEval`, `BBH`, `MATH Lvl 5`,
`GPQA`, `MUSR`, `MMLU-PRO`, each with a `... Raw` twin, and `Submission Date`) or an export of
it: CSV, JSON (a list of rows, or the datasets-server `{"rows": [{"row": ...}]}` shape), JSON
lines or Parquet. A malformed file fails with the file and the row named; nothing is written
unless the whole file reads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from openscout import datafile
from openscout.catalog.parquet_rows import read_parquet_rows
from openscout.catalog.published import (
    IMPORT_FORMAT_VERSION,
    MAX_IMPORTED_BYTES,
    MAX_IMPORTED_MODELS,
    PublishedScore,
    curated_scores,
    imported_path,
    read_imported,
)
from openscout.catalog.schema import HF_ID
from openscout.errors import DataFileError, HubError
from openscout.filelock import one_writer

PUBLISHER = "Open LLM Leaderboard v2"
HARNESS = "lm-evaluation-harness, Open LLM Leaderboard v2 tasks"
DEFAULT_HUB_ID = "open-llm-leaderboard/contents"
# benchmark -> (accepted column names, shots, metric), as the leaderboard documents them
BENCHMARKS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "IFEval": (("IFEval", "ifeval_norm"), 0, "strict accuracy"),
    "BBH": (("BBH", "bbh_norm"), 3, "acc_norm"),
    "MATH Lvl 5": (("MATH Lvl 5", "math_norm"), 4, "exact_match"),
    "GPQA": (("GPQA", "gpqa_norm"), 0, "acc_norm"),
    "MuSR": (("MUSR", "MuSR", "musr_norm"), 0, "acc_norm"),
    "MMLU-PRO": (("MMLU-PRO", "mmlu_pro_norm"), 5, "accuracy"),
}
MODEL_COLUMNS = ("fullname", "model_name", "model")
DATE_COLUMNS = ("Submission Date", "submission_date", "Upload To Hub Date", "upload_date")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
MAX_BYTES = datafile.MAX_BYTES
MAX_MODELS = MAX_IMPORTED_MODELS
# one row per model and precision: the real export has about 4,600 rows; each row costs six
# validated scores, so rows bound the import's time as models bound what it keeps
MAX_ROWS = 2 * MAX_MODELS


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    scores: int = 0
    models: int = 0
    kept_curated: int = 0  # imported scores a curated one already covers (curated wins)
    path: str = ""
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


# ---- reading rows ----------------------------------------------------------------------------


def _rows_from_json(doc: Any, path: str) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        doc = doc.get("rows", doc.get("data", doc.get("results")))
    if not isinstance(doc, list):
        raise DataFileError(
            "expected a list of rows (or {'rows': [...]})",
            path=path,
            hint="export the dataset as CSV, JSON rows or Parquet",
        )
    out = []
    for i, item in enumerate(doc, start=1):
        row = item.get("row", item) if isinstance(item, dict) else None
        if not isinstance(row, dict):
            raise DataFileError("a row is not an object", path=path, line=i)
        out.append(row)
    return out


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of one export file; errors about a row name it "row N", counting data rows
    from 1 (faults in the text itself, found by datafile.py, name the file's line)."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_parquet_rows(path)
    text = datafile.read_text(path, MAX_BYTES)
    if suffix == ".csv":
        return datafile.csv_rows(text, name)
    if suffix == ".jsonl":
        rows = []
        for line, row in datafile.jsonl_values(text, name):
            if not isinstance(row, dict):
                raise DataFileError("a row is not an object", path=name, line=line)
            rows.append(row)
        return rows
    return _rows_from_json(datafile.parse_json(text, name), name)


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    for n in names:
        if n in row and row[n] not in (None, ""):
            return n, row[n]
    return None


def _number(value: Any, path: str, row_no: int, column: str) -> float:
    # a data row is named by its number, not a line: a CSV's header, blank lines and quoted
    # line breaks made "k.csv:4" point at the wrong line (30th probe); JSON rows have none
    try:
        num = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int of 400 digits
        raise DataFileError(
            f"{column!r} is not a number: {str(value)[:40]!r}",
            path=path,
            entry=f"row {row_no}",
            field=column,
        ) from None
    if num != num or not -1000.0 <= num <= 1000.0:
        raise DataFileError(f"{column!r} is out of range: {num}", path=path, entry=f"row {row_no}")
    return num


def scores_from_rows(
    rows: list[dict[str, Any]], *, path: str, source: str, today: str
) -> Iterator[PublishedScore]:
    """PublishedScores from leaderboard rows; `path` names the file in errors."""
    if rows and not any(_pick(rows[0], cols) for cols, _, _ in BENCHMARKS.values()):
        wanted = ", ".join(cols[0] for cols, _, _ in BENCHMARKS.values())
        raise DataFileError(
            "no benchmark column found",
            path=path,
            hint=f"expected the leaderboard's columns: fullname, {wanted}",
        )
    for row_no, row in enumerate(rows, start=1):
        got = _pick(row, MODEL_COLUMNS)
        model = str(got[1]).strip() if got else ""
        if not HF_ID.match(model):
            raise DataFileError(
                f"no model id of the form org/name (got {model[:80]!r})",
                path=path,
                entry=f"row {row_no}",
                field="fullname",
            )
        when = _pick(row, DATE_COLUMNS)
        m = _DATE.search(str(when[1])) if when else None
        date = m.group(1) if m else today
        for bench, (cols, shots, metric) in BENCHMARKS.items():
            cell = _pick(row, cols)
            if cell is None:
                continue
            column, raw = cell
            value = _number(raw, path, row_no, column)
            try:
                yield PublishedScore(
                    model=model,
                    benchmark=bench,
                    value=round(value, 2),
                    setting=f"{shots}-shot; {metric}; leaderboard-normalised",
                    shots=shots,
                    metric=metric,
                    harness=HARNESS,
                    publisher=PUBLISHER,
                    date=date,
                    source=source,
                    quote=f"row {row_no}: {column}={raw}",
                    note=None if m else f"the row states no date; {today} is the import date",
                    origin="imported",
                )
            except ValidationError as e:
                raise DataFileError(
                    e.errors()[0]["msg"], path=path, entry=f"row {row_no}", field=column
                ) from e


# ---- where the rows come from ----------------------------------------------------------------


def _hub_files(hub_id: str, cache_dir: Path, offline: bool) -> list[Path]:
    """The dataset's data files, downloaded within bounds (catalog/hub_datasets.py)."""
    if offline or os.environ.get("HF_HUB_OFFLINE") == "1":
        raise HubError(
            f"offline: the dataset {hub_id!r} cannot be downloaded",
            hint="run the import once online, or pass a CSV/JSON/Parquet export of it",
        )
    from openscout.catalog.hub_datasets import dataset_files

    return dataset_files(hub_id, cache_dir)


def _model_key(row: dict[str, Any]) -> str:
    got = _pick(row, MODEL_COLUMNS)
    return str(got[1]).strip().lower() if got else ""


def _check_bounds(rows: list[dict[str, Any]], path: str, n_rows: int, models: set[str]) -> None:
    """Refuse an import over MAX_ROWS rows or MAX_MODELS models (counted over all its files)
    before any score is built: the refusal costs the rows, not six objects per row."""
    hint = (
        "the Open LLM Leaderboard v2 export has about 4,600 models; import that export, or only "
        "the models you compare"
    )
    models.update(_model_key(r) for r in rows)
    if len(models) > MAX_MODELS:
        raise DataFileError(
            f"more than {MAX_MODELS} distinct models; openscout imports {MAX_MODELS} at most",
            path=path,
            hint=hint,
        )
    if n_rows > MAX_ROWS:
        raise DataFileError(
            f"{n_rows} rows; openscout imports {MAX_ROWS} at most", path=path, hint=hint
        )


def _write_atomic(path: Path, scores: list[PublishedScore]) -> None:
    doc = {
        "version": IMPORT_FORMAT_VERSION,
        "results": [s.model_dump(mode="json") for s in scores],
    }
    data = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
    if len(data) > MAX_IMPORTED_BYTES:  # never write a cache read_imported refuses
        raise DataFileError(
            f"the imported results would take {len(data)} bytes; the cache holds "
            f"{MAX_IMPORTED_BYTES} at most",
            path=str(path),
            hint="import from a file with a shorter path, or delete the file and import again",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a kill leaves the old cache or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)


def _read_scores(
    files: list[Path], cite: str, today: str, report: ImportReport
) -> dict[tuple[str, str, str], PublishedScore]:
    new: dict[tuple[str, str, str], PublishedScore] = {}
    models: set[str] = set()
    for f in files:
        rows = read_rows(f)
        report.rows += len(rows)
        _check_bounds(rows, str(f), report.rows, models)
        for s in scores_from_rows(rows, path=str(f), source=cite, today=today):
            new[s.key] = s
    return new


def import_results(
    source: str,
    *,
    home: Path,
    cache_dir: Path,
    offline: bool = False,
    today: str | None = None,
    replace: bool = False,
) -> ImportReport:
    """Read a leaderboard export (file) or dataset (Hub id) and store its scores in the data
    dir, replacing earlier imports of the same (model, benchmark, publisher), or all earlier
    imports with `replace`."""
    today = today or dt.date.today().isoformat()
    path = Path(source).expanduser()
    report = ImportReport(source=source)
    if path.is_file():
        new = _read_scores([path], path.resolve().as_uri(), today, report)
    elif HF_ID.match(source) and not path.exists():
        # one Hub import at a time, from download to read: it keeps its own files only, and
        # none when it fails (they piled up, 2 GiB a failed run and every new commit: 34th
        # probe)
        with one_writer(home / "hub-import.lock"):  # beside imported.lock
            files = _hub_files(source, cache_dir, offline)
            try:
                new = _read_scores(
                    files, f"https://huggingface.co/datasets/{source}", today, report
                )
            except BaseException:
                for f in files:
                    f.unlink(missing_ok=True)
                raise
    else:
        raise DataFileError(
            "no such file, and not a Hub dataset id (org/name)",
            path=source,
            hint=f"pass a CSV/JSON/Parquet export, or a dataset id such as {DEFAULT_HUB_ID}",
        )
    curated = {s.key for s in curated_scores()}
    report.kept_curated = sum(1 for k in new if k in curated)
    target = imported_path(home)
    # read, merge and write by one import at a time: two at once each said "imported" and
    # the last writer dropped the other's scores (twenty-fourth probe)
    with one_writer(home / "imported.lock"):  # beside the data dir's other locks
        kept = [] if replace else [s for s in read_imported(home) if s.key not in new]
        stored = kept + list(new.values())
        total = len({s.model.lower() for s in stored})
        if total > MAX_MODELS:  # earlier imports add up: the cache stays within what it reads
            raise DataFileError(
                f"with earlier imports the cache would hold {total} models; it holds "
                f"{MAX_MODELS} at most",
                path=str(target),
                hint="import again with --replace to drop the earlier imports",
            )
        _write_atomic(target, stored)
    report.scores = len(new)
    report.models = len({s.model.lower() for s in new.values()})
    report.path = str(target)
    return report
