"""Reading and writing tables: CSV, Excel and Parquet by extension, column mapping, atomic writes.

This module moves bytes; it does not judge them. Parsing values and deciding
which rows are bad is :mod:`intent_model.io.validate`'s job; telling how a text
file is written (delimiter, encoding, decimal mark) is
:mod:`intent_model.io.dialect`'s.

Readers: pandas' C parser for text (fast, and it takes the detected dialect
as is), pyarrow for Parquet, and python-calamine (a Rust reader, through
``pandas.read_excel``) for Excel, about ten times faster than openpyxl on a
CRM report of a hundred thousand rows.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from intent_model.errors import InputError
from intent_model.io.config import ColumnMapping, InputConfig
from intent_model.io.database import (
    is_database_url,
    parse_database_url,
    read_database_table,
    shown_source,
    write_database_table,
)
from intent_model.io.dialect import detect_dialect, fallback_encoding

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def table_format(path: str | Path) -> str:
    """Return ``"csv"``, ``"excel"`` or ``"parquet"`` from a file name, or raise
    :class:`InputError`."""
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(EXCEL_SUFFIXES):
        return "excel"
    raise InputError(
        f"{path}: unknown file type; use a file ending in "
        + ", ".join(CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES)
    )


@dataclass(frozen=True)
class TableRead:
    """A table as read, with our column names, and how it was read.

    Attributes
    ----------
    frame : pandas.DataFrame
    how : str
        One line for the run's summary (delimiter, encoding, decimal mark,
        sheet; each detected or set); empty for Parquet and DataFrames.
    """

    frame: pd.DataFrame
    how: str = ""


def read_table(
    path: str | Path,
    columns: ColumnMapping | None = None,
    string_columns: tuple[str, ...] = (),
    categorical_columns: tuple[str, ...] = (),
    options: InputConfig | None = None,
) -> pd.DataFrame:
    """Read a CSV, Excel or Parquet file and rename the user's columns to ours.

    The table of :func:`read_user_table`, without the line on how it was read.
    """
    return read_user_table(path, columns, string_columns, categorical_columns, options).frame


def read_user_table(
    path: str | Path,
    columns: ColumnMapping | None = None,
    string_columns: tuple[str, ...] = (),
    categorical_columns: tuple[str, ...] = (),
    options: InputConfig | None = None,
) -> TableRead:
    """Read a CSV, Excel or Parquet file and rename the user's columns to ours.

    Parameters
    ----------
    path : str or Path
        A text table (``.csv``, ``.csv.gz``, ``.tsv``, ``.txt``: any of the
        delimiters , ; tab |, UTF-8 with or without BOM, UTF-16, Windows-1252
        or Latin-1, decimal point or comma, Excel's ``sep=`` line), an Excel
        workbook (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``), Parquet
        (``.parquet``, ``.pq``), or a database URL naming a table or a query
        (:mod:`intent_model.io.database`).
    columns : ColumnMapping, optional
        Maps our column names onto the file's; defaults to identical names.
    string_columns : tuple of str
        Our names of columns read as text from CSV, so that ids like ``007``
        keep their leading zeros.
    categorical_columns : tuple of str
        Our names of text columns read as categoricals (dictionary-encoded):
        a 10-million-row event log repeats a few thousand lead ids and a few
        dozen event types, so this saves most of the memory and the time.
    options : InputConfig, optional
        ``delimiter``, ``encoding``, ``decimal`` (text) and ``sheet`` (Excel)
        when the user sets them; each is otherwise told from the file.

    Returns
    -------
    TableRead
        The raw table with our column names (values not parsed or checked),
        and a line saying how it was read.

    Raises
    ------
    InputError
        When the file is missing, empty, of an unknown type or cannot be parsed.
    """
    columns = columns or ColumnMapping()
    options = options or InputConfig()
    if is_database_url(path):
        table = read_database_table(parse_database_url(path))
        frame = _dictionary_encoded(table, columns, categorical_columns).to_pandas()
        return TableRead(apply_column_mapping(frame, columns, shown_source(path)))
    path = Path(path)
    kind = table_format(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected a {kind} table")
    ours_to_theirs = {ours: theirs for theirs, ours in columns.renames().items()}
    how = ""
    try:
        if kind == "csv":
            dtypes = {ours_to_theirs.get(name, name): "string" for name in string_columns}
            dtypes |= {ours_to_theirs.get(name, name): "category" for name in categorical_columns}
            frame, how = _read_text(path, dtypes, options)
        elif kind == "excel":
            frame, how = _read_excel(path, options)
        else:
            schema = pq.read_schema(path)
            dictionary = _text_columns(schema, columns, categorical_columns)
            frame = pq.read_table(path, read_dictionary=dictionary).to_pandas()
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file has no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from None
    return TableRead(apply_column_mapping(frame, columns, str(path)), how)


def _text_columns(
    schema: pa.Schema, columns: ColumnMapping, categorical_columns: tuple[str, ...]
) -> list[str]:
    """The source's names of the text columns to read dictionary-encoded."""
    ours_to_theirs = {ours: theirs for theirs, ours in columns.renames().items()}
    wanted = {ours_to_theirs.get(name, name) for name in categorical_columns}
    return [
        f.name
        for f in schema
        if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]


def _dictionary_encoded(
    table: pa.Table, columns: ColumnMapping, categorical_columns: tuple[str, ...]
) -> pa.Table:
    for name in _text_columns(table.schema, columns, categorical_columns):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).dictionary_encode())
    return table


def _read_text(path: Path, dtypes: dict, options: InputConfig) -> tuple[pd.DataFrame, str]:
    dialect = detect_dialect(path, options.delimiter, options.encoding, options.decimal)
    encoding, notes = dialect.encoding, list(dialect.notes)
    while True:
        try:
            frame = pd.read_csv(
                path,
                sep=dialect.delimiter,
                encoding=encoding,
                decimal=dialect.decimal,
                skiprows=dialect.skip_rows,
                dtype=dtypes,
                low_memory=False,
            )
            break
        except UnicodeDecodeError as exc:
            # The first block was one encoding; a byte further on says otherwise.
            following = None if options.encoding else fallback_encoding(encoding)
            if following is None:
                raise InputError(
                    f"{path}: cannot decode the file as {encoding} ({_first_line(exc)}); set "
                    '[input] encoding (e.g. "cp1252", "latin-1", "utf-16")'
                ) from None
            notes[1] = f"encoding {following} (detected: bytes past the start are not {encoding})"
            encoding = following
    return frame, "read as CSV: " + "; ".join(notes)


def _read_excel(path: Path, options: InputConfig) -> tuple[pd.DataFrame, str]:
    from python_calamine import CalamineError  # imported here: only Excel files need it

    try:
        workbook = pd.ExcelFile(path, engine="calamine")
    except (CalamineError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot read as excel: {_first_line(exc)}") from None
    names = workbook.sheet_names
    if options.sheet is None:
        sheet, how = names[0], f"the first of {len(names)}" if len(names) > 1 else "the only one"
    elif options.sheet in names:
        sheet, how = options.sheet, "set"
    else:
        raise InputError(
            f"{path}: no sheet {options.sheet!r}; the workbook has "
            + ", ".join(repr(n) for n in names)
            + " (set [input] sheet)"
        )
    frame = workbook.parse(sheet)
    return frame, f"read as Excel: sheet {sheet!r} ({how})"


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


def write_table(frame: pd.DataFrame, path: str | Path) -> Path | str:
    """Write a table atomically as CSV or Parquet (by extension), or into a database table.

    The table is written to a temporary file in the same directory and moved
    into place with :func:`os.replace`, so a crash leaves the old file or the
    new one, never half of one. A database URL's table is replaced in one
    transaction (:func:`intent_model.io.database.write_database_table`).

    Returns
    -------
    Path or str
        The file written, or the database table as shown in messages (no password).
    """
    if is_database_url(path):
        target = parse_database_url(path)
        write_database_table(frame, target)
        return str(target)
    path = Path(path)
    kind = table_format(path)
    if kind == "excel":
        raise InputError(f"{path}: tables are written as .parquet or .csv, not Excel")
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
