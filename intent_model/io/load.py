"""Read a user's table (a file or a DataFrame) under the config's column mapping.

Every command that reads leads goes through :func:`load_leads`; events are
read the same way by :func:`intent_model.events.log.load_events`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from intent_model.io.config import Config
from intent_model.io.database import is_database_url, parse_database_url, shown_source
from intent_model.io.files import apply_column_mapping, read_user_table, write_table
from intent_model.io.validate import CheckedTable, check_leads

DATAFRAME_SOURCE = "<DataFrame>"


def load_leads(source: str | Path | pd.DataFrame, config: Config | None = None) -> CheckedTable:
    """Read and validate a leads table (one row per lead, profile columns).

    Returns
    -------
    CheckedTable
        ``frame`` is indexed by row position and has ``lead_id`` as str and
        ``created_at``/``*_provided_at`` as UTC datetimes.
    """
    config = config or Config()
    raw, name, how = read_source(source, config)
    checked = check_leads(raw, name, config.columns, config.input.on_bad_rows)
    return dataclasses.replace(checked, read_as=how)


def write_quarantine(checked: CheckedTable, directory: str | Path) -> Path | None:
    """Write a table's rejected rows to ``<directory>/<file stem>.rejected.csv``.

    Returns the path written, or None when no row was rejected.
    """
    if checked.n_rejected == 0:
        return None
    if is_database_url(checked.source):
        stem = parse_database_url(checked.source).stem
    else:
        stem = Path(checked.source).name.split(".")[0] or "table"
    return write_table(checked.rejected, Path(directory) / f"{stem}.rejected.csv")


def read_source(
    source: str | Path | pd.DataFrame, config: Config, categorical: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str, str]:
    if isinstance(source, pd.DataFrame):
        frame = apply_column_mapping(source, config.columns, DATAFRAME_SOURCE)
        return frame, DATAFRAME_SOURCE, ""
    string_columns = () if "lead_id" in categorical else ("lead_id",)
    read = read_user_table(
        source, config.columns, string_columns, categorical, options=config.input
    )
    return read.frame, shown_source(source), read.how
