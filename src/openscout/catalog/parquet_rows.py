"""Rows of a Parquet export, read within bounds a hostile file cannot talk its way past.

A Parquet file is compressed and dictionary-encoded, so its size on disk says little about
what reading it costs: 151 KB held 20 M rows (ninth probe), 29 KB held three strings of
300 MiB, and one list of 20 M elements came from a few KB (tenth probe). So, before a row is
read, the file's own metadata is checked (columns, cells, leaf values, uncompressed bytes);
then rows are decoded in batches small enough that even one value repeated through a
dictionary cannot outgrow the budget, and the decoded bytes are counted as they come.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openscout import datafile
from openscout.errors import DataFileError

# What the decoded rows may take in Arrow's memory, all batches together
MAX_DECODED_BYTES = 2 * datafile.MAX_BYTES


def _refuse(what: str, path: str) -> DataFileError:
    return DataFileError(what, path=path, hint="split it into smaller files")


def _check_metadata(meta: Any, path: str) -> None:
    cells = meta.num_rows * meta.num_columns
    if meta.num_columns > datafile.MAX_COLUMNS or cells > datafile.MAX_VALUES:
        raise _refuse(
            f"{meta.num_rows:,} rows of {meta.num_columns:,} columns; openscout reads"
            f" at most {datafile.MAX_VALUES:,} cells and {datafile.MAX_COLUMNS:,} columns",
            path,
        )
    values = stored = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            values += chunk.num_values  # leaf values: a list's elements each count
            stored += chunk.total_uncompressed_size
    if values > datafile.MAX_VALUES:
        raise _refuse(
            f"{values:,} values (lists counted element by element); openscout reads at most"
            f" {datafile.MAX_VALUES:,}",
            path,
        )
    if stored > MAX_DECODED_BYTES:
        raise _refuse(
            f"{stored / 2**20:,.0f} MiB once uncompressed; openscout reads at most"
            f" {MAX_DECODED_BYTES // 2**20} MiB",
            path,
        )


def _batch_rows(meta: Any) -> int:
    """Rows per batch such that a batch stays within the budget even if every value in it is
    the largest the file can hold (no value is larger than its column's uncompressed chunk)."""
    widest = 1
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        row_bytes = sum(group.column(c).total_uncompressed_size for c in range(group.num_columns))
        widest = max(widest, row_bytes)
    return max(1, min(65_536, MAX_DECODED_BYTES // widest))


def read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    name = str(path)
    datafile.check_size(path, datafile.MAX_BYTES)  # pyarrow reads the file itself
    try:
        import pyarrow.parquet as pq  # only for Parquet files

        source = pq.ParquetFile(path)
        _check_metadata(source.metadata, name)
        rows: list[dict[str, Any]] = []
        decoded = 0
        for batch in source.iter_batches(batch_size=_batch_rows(source.metadata)):
            decoded += batch.nbytes
            if decoded > MAX_DECODED_BYTES:
                raise _refuse(
                    f"more than {MAX_DECODED_BYTES // 2**20} MiB once decoded (values repeated"
                    " through its dictionary)",
                    name,
                )
            rows.extend(batch.to_pylist())
        return rows
    except DataFileError:
        raise
    except MemoryError as e:
        raise _refuse("too large to read in this machine's memory", name) from e
    except OSError as e:
        raise DataFileError(f"cannot read the file: {e.strerror or e}", path=name) from e
    except Exception as e:  # pyarrow raises its own types for a file that is not Parquet
        raise DataFileError(f"not a readable Parquet file ({e})", path=name) from e
