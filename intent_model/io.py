"""Reading and writing tables: CSV and Parquet by extension, column mapping, atomic writes.

This module moves bytes; it does not judge them. Parsing values and deciding
which rows are bad is :mod:`intent_model.validate`'s job.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from intent_model.config import ColumnMapping
from intent_model.errors import InputError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def table_format(path: str | Path) -> str:
    """Return ``"csv"`` or ``"parquet"`` from a file name, or raise :class:`InputError`."""
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise InputError(
        f"{path}: unknown file type; use a file ending in "
        + ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
    )


def read_table(
    path: str | Path,
    columns: ColumnMapping | None = None,
    string_columns: tuple[str, ...] = (),
    categorical_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a CSV or Parquet file and rename the user's columns to ours.

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.csv.gz``/``.tsv`` or ``.parquet``/``.pq`` file.
    columns : ColumnMapping, optional
        Maps our column names onto the file's; defaults to identical names.
    string_columns : tuple of str
        Our names of columns read as text from CSV, so that ids like ``007``
        keep their leading zeros.
    categorical_columns : tuple of str
        Our names of text columns read as categoricals (dictionary-encoded):
        a 10-million-row event log repeats a few thousand lead ids and a few
        dozen event types, so this saves most of the memory and the time.

    Returns
    -------
    pandas.DataFrame
        The raw table with our column names; values are not parsed or checked.

    Raises
    ------
    InputError
        When the file is missing, empty, of an unknown type or cannot be parsed.
    """
    path = Path(path)
    columns = columns or ColumnMapping()
    kind = table_format(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected a {kind} table")
    ours_to_theirs = {ours: theirs for theirs, ours in columns.renames().items()}
    try:
        if kind == "csv":
            dtypes = {ours_to_theirs.get(name, name): "string" for name in string_columns}
            dtypes |= {ours_to_theirs.get(name, name): "category" for name in categorical_columns}
            frame = pd.read_csv(
                path,
                sep="\t" if str(path).lower().endswith(".tsv") else ",",
                dtype=dtypes,
                low_memory=False,
            )
        else:
            schema = pq.read_schema(path)
            wanted = {ours_to_theirs.get(name, name) for name in categorical_columns}
            dictionary = [
                f.name
                for f in schema
                if f.name in wanted
                and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            ]
            frame = pq.read_table(path, read_dictionary=dictionary).to_pandas()
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file has no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from None
    return apply_column_mapping(frame, columns, str(path))


def apply_column_mapping(frame: pd.DataFrame, columns: ColumnMapping, source: str) -> pd.DataFrame:
    """Rename the user's columns to ours; refuse a mapping that would make two columns one."""
    renames = {theirs: ours for theirs, ours in columns.renames().items() if theirs in frame}
    clashes = [ours for ours in renames.values() if ours in frame.columns]
    if clashes:
        raise InputError(
            f"{source}: column(s) {', '.join(clashes)} exist in the file and are also mapped "
            "from another column; drop the mapping or rename one of them"
        )
    return frame.rename(columns=renames)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table atomically as CSV or Parquet (by extension).

    The table is written to a temporary file in the same directory and moved
    into place with :func:`os.replace`, so a crash leaves the old file or the
    new one, never half of one.
    """
    path = Path(path)
    kind = table_format(path)
    with atomic_path(path) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            # Microseconds: the unit Spark, DuckDB and most warehouses read natively.
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, tmp, coerce_timestamps="us", allow_truncated_timestamps=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A run killed mid-write leaves its temporary file behind; the next write clears it.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    # mkstemp makes a private (0600) file; the output gets ordinary permissions.
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
