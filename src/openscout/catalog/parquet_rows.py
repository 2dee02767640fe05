"""Rows of a Parquet export, read within bounds a hostile file cannot talk its way past.

A Parquet file is compressed and dictionary-encoded, so its size on disk says little about
what reading it costs: 151 KB held 20 M rows (ninth probe), 29 KB held three strings of
300 MiB, and one list of 20 M elements came from a few KB (tenth probe). So, before a row is
read, the file's own metadata is checked (columns, cells, leaf values, uncompressed bytes);
then rows are decoded in batches small enough that even one value repeated through a
dictionary cannot outgrow the budget, and the decoded bytes are counted as they come.

The metadata can lie, though: 95 KB whose footer called 3 GB of strings "100 bytes" took
the import to 5 GB before the count refused it (eleventh probe). So the file is read in a
limited child process (worker.py): the checks above give honest files their clear messages,
the child's memory, CPU and time limits stop the lying ones, and what comes back is JSON
of at most `worker.MAX_REPLY` bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from openscout import datafile
from openscout.errors import DataFileError, WorkerError, WorkerLimitError
from openscout.worker import MAX_REPLY, Limits, Worker

# What the decoded rows may take in Arrow's memory, all batches together
MAX_DECODED_BYTES = 2 * datafile.MAX_BYTES
# 1 GiB of address space: pyarrow, numpy and pandas (for nanosecond times) load in 256 MiB
# once their thread pools are held to one thread (below); the rest is room for an honest
# file's 128 MiB decoded, its Python rows and their JSON.
PARQUET_LIMITS = Limits(memory_bytes=1024 * 2**20, cpu_seconds=20, timeout=30.0)
# The rows' JSON, kept under the worker's reply bound with room for the envelope
MAX_ROWS_JSON = MAX_REPLY - 2**16


def _refuse(what: str, path: str) -> DataFileError:
    return DataFileError(what, path=path, hint="split it into smaller files")


def _too_large(path: str, why: str) -> DataFileError:
    lim = PARQUET_LIMITS
    return _refuse(
        f"too large to read within openscout's limits ({lim.memory_bytes // 2**20} MiB of"
        f" memory, {lim.cpu_seconds} s of CPU): {why}",
        path,
    )


def read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    """The rows, read in a limited worker process; every fault is a DataFileError."""
    name = str(path)
    datafile.check_size(path, datafile.MAX_BYTES)  # pyarrow reads the file itself
    job = Worker(f"{__name__}:rows_here", PARQUET_LIMITS)
    try:
        # the budgets travel with the call, read here at call time (so tests can shrink them)
        return job.call(  # type: ignore[no-any-return]
            path=str(path.resolve()),  # the child runs in /
            name=name,
            max_decoded=MAX_DECODED_BYTES,
            max_values=datafile.MAX_VALUES,
            max_columns=datafile.MAX_COLUMNS,
            max_json=MAX_ROWS_JSON,
        )
    except WorkerError as e:
        if e.parts:  # the child's DataFileError, rebuilt with its place
            parts = dict(e.parts)
            raise DataFileError(str(parts.pop("detail")), hint=e.hint, **parts) from e
        raise DataFileError(
            f"not a readable Parquet file ({e.kind}: {e.message})", path=name
        ) from e
    except WorkerLimitError as e:
        raise _too_large(name, str(e)) from e
    finally:
        job.close()


# -- in the worker -----------------------------------------------------------------------------


def rows_here(
    path: str, name: str, max_decoded: int, max_values: int, max_columns: int, max_json: int
) -> list[dict[str, Any]]:
    """In the worker: the file's rows as JSON-able values, within the budgets given."""
    # Arrow and OpenBLAS start a thread per core, each reserving address space; and the
    # worker's RLIMIT_NPROC of 0 forbids threads at all for a user other than root.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "ARROW_IO_THREADS"):
        os.environ[var] = "1"
    try:
        import pyarrow.parquet as pq  # only for Parquet files

        # pre_buffer reads ahead on an I/O thread; it fails where threads cannot start
        source = pq.ParquetFile(path, pre_buffer=False)
        meta = source.metadata
        _check_metadata(meta, name, max_decoded, max_values, max_columns)
        rows: list[dict[str, Any]] = []
        decoded = size = 0
        batches = source.iter_batches(batch_size=_batch_rows(meta, max_decoded), use_threads=False)
        for batch in batches:
            decoded += batch.nbytes
            if decoded > max_decoded:
                raise _refuse(
                    f"more than {max_decoded // 2**20} MiB once decoded (values repeated"
                    " through its dictionary)",
                    name,
                )
            names = batch.schema.names
            columns = [_column(batch.column(i)) for i in range(batch.num_columns)]
            values = list(zip(*columns, strict=True)) if columns else [()] * batch.num_rows
            for start in range(0, len(values), 256):  # counted often, so it stops soon after
                chunk = [dict(zip(names, v, strict=True)) for v in values[start : start + 256]]
                size += len(json.dumps(chunk))  # as the worker will send it
                if size > max_json:
                    raise _refuse(
                        f"its rows take more than {max_json / 2**20:.0f} MiB as JSON, more than"
                        " openscout passes on from one Parquet file",
                        name,
                    )
                rows.extend(chunk)
        return rows
    except DataFileError:
        raise
    except MemoryError as e:  # Arrow's own ArrowMemoryError is one too
        raise _too_large(name, "out of memory") from e
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=name) from e
    except Exception as e:  # pyarrow raises its own types for a file that is not Parquet
        raise DataFileError(f"not a readable Parquet file ({e})", path=name) from e


def _check_metadata(
    meta: Any, path: str, max_decoded: int, max_values: int, max_columns: int
) -> None:
    cells = meta.num_rows * meta.num_columns
    if meta.num_columns > max_columns or cells > max_values:
        raise _refuse(
            f"{meta.num_rows:,} rows of {meta.num_columns:,} columns; openscout reads"
            f" at most {max_values:,} cells and {max_columns:,} columns",
            path,
        )
    values = stored = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            values += chunk.num_values  # leaf values: a list's elements each count
            stored += chunk.total_uncompressed_size
    if values > max_values:
        raise _refuse(
            f"{values:,} values (lists counted element by element); openscout reads at most"
            f" {max_values:,}",
            path,
        )
    if stored > max_decoded:
        raise _refuse(
            f"{stored / 2**20:,.0f} MiB once uncompressed; openscout reads at most"
            f" {max_decoded // 2**20} MiB",
            path,
        )


def _batch_rows(meta: Any, max_decoded: int) -> int:
    """Rows per batch such that a batch stays within the budget even if every value in it is
    the largest the file can hold (no value is larger than its column's uncompressed chunk)."""
    widest = 1
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        row_bytes = sum(group.column(c).total_uncompressed_size for c in range(group.num_columns))
        widest = max(widest, row_bytes)
    return max(1, min(65_536, max_decoded // widest))


def _column(array: Any) -> list[Any]:
    """A column's values as JSON can carry them; strings and numbers need no second look."""
    import pyarrow as pa

    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    values = array.to_pylist()
    simple = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer)
    simple += (pa.types.is_floating, pa.types.is_boolean, pa.types.is_null)
    if any(test(kind) for test in simple):
        return values  # type: ignore[no-any-return]
    return [_plain(v) for v in values]


def _plain(value: Any) -> Any:
    """A value from `to_pylist` as JSON can carry it. Floats stay floats, NaN and infinities
    included (the worker's JSON carries them as tokens), so the caller judges them as before."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):  # tuples: a map's pairs, an interval
        return [_plain(v) for v in value]
    if isinstance(value, dict):  # a struct
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date | dt.time):  # datetimes (pandas' too) are dates
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)  # exact, and what str() of the Decimal showed before
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
