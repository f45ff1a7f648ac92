"""The input contract: required columns, value parsing, and the bad-row policy.

Rows that break the contract are never dropped silently. Under the ``error``
policy the first look at them raises an :class:`InputError` naming the file,
the column, how many rows and the first few rows with their values; under
``quarantine`` they are set aside with a reason, and every table can account
for itself: rows read = rows used + rows quarantined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from intent_model.errors import InputError
from intent_model.io.config import BadRowPolicy, ColumnMapping
from intent_model.names import (
    QUARANTINE_COLUMN,
    QUARANTINE_COLUMNS,
    QUARANTINE_FILE,
    QUARANTINE_REASON,
    QUARANTINE_ROW,
    unclaimed,
)

EVENT_COLUMNS = ("lead_id", "timestamp", "event_type")
LEAD_COLUMNS = ("lead_id",)
PROVIDED_AT_SUFFIX = "_provided_at"

# Timestamps outside this range are almost always a unit mix-up or a placeholder
# (1900-01-01, 9999-12-31); accepting them would poison every recency feature.
EARLIEST_TIMESTAMP = pd.Timestamp("1990-01-01", tz="UTC")
LATEST_TIMESTAMP = pd.Timestamp("2100-01-01", tz="UTC")
# Epoch values at or above this are milliseconds: as seconds they would be past
# the year 5000, as milliseconds they are after March 1973.
EPOCH_MILLISECONDS_FROM = 1e11
SHOWN_ROWS = 5


@dataclass(frozen=True)
class RowProblem:
    """Rows of one column that break the contract for one reason."""

    column: str
    reason: str
    rows: np.ndarray  # boolean mask over the table's rows


@dataclass(frozen=True)
class CheckedTable:
    """A table after validation: the usable rows and the rows set aside.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows that passed, with contract columns parsed (``lead_id`` as str,
        timestamps as UTC datetimes). Its index is the row position in the file.
    rejected : pandas.DataFrame
        The rows set aside, every user column under its own name with its
        values as text, plus the file, row, column and reason under the names
        of :data:`intent_model.names.QUARANTINE_COLUMNS` (see
        :func:`rejected_rows`).
    source : str
        Where the table came from (a path or ``"<DataFrame>"``).
    n_read : int
        Rows in the input.
    read_as : str
        How the file was read (delimiter, encoding, sheet), when there was
        anything to tell.
    """

    frame: pd.DataFrame
    rejected: pd.DataFrame
    source: str
    n_read: int
    read_as: str = ""

    @property
    def n_used(self) -> int:
        return self.n_read - self.n_rejected

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    def accounting(self) -> str:
        """One line: rows read = rows used + rows quarantined (and how the file was read)."""
        how = f" ({self.read_as})" if self.read_as else ""
        return (
            f"{self.source}: {self.n_read:,} rows read = {self.n_used:,} used "
            f"+ {self.n_rejected:,} quarantined{how}"
        )


def check_events(
    raw: pd.DataFrame,
    source: str,
    columns: ColumnMapping | None = None,
    on_bad_rows: BadRowPolicy = "error",
    row_numbers: np.ndarray | None = None,
) -> CheckedTable:
    """Validate an events table (docs/contracts.md).

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read, with our column names.
    source : str
        The file it came from, for messages.
    columns : ColumnMapping, optional
        Used to name the user's own columns in messages.
    on_bad_rows : {"error", "quarantine"}
        Raise on the first bad rows, or set them aside with a reason.
    row_numbers : numpy.ndarray, optional
        Position of each row in the file, when ``raw`` is a part of it.

    Returns
    -------
    CheckedTable
        ``frame`` has ``lead_id`` (str), ``timestamp`` (datetime64, UTC),
        ``event_type`` (str, as written), ``channel`` (str, ``"unknown"`` when
        missing), and no other column (the user's extra columns stay in the
        quarantine side file only). Text columns read as categoricals stay
        categoricals (same values, far less memory).
    """
    columns = columns or ColumnMapping()
    _require_columns(raw, EVENT_COLUMNS, source, columns, "events")
    _require_rows(raw, source)
    lead_id, lead_id_problem = normalize_lead_ids(raw["lead_id"])
    timestamp, timestamp_problems = parse_timestamps(raw["timestamp"], "timestamp")
    event_type = _clean_text(raw["event_type"])
    problems = [
        lead_id_problem,
        *timestamp_problems,
        RowProblem("event_type", "is empty", event_type.isna().to_numpy()),
    ]
    # Only the contract columns go on: a user's extra columns are never used as event
    # data, and keeping them would let a column of theirs stand beside one of ours.
    parsed = pd.DataFrame(
        {"lead_id": lead_id, "timestamp": timestamp, "event_type": event_type}, index=raw.index
    )
    if "channel" in raw:
        channel = _clean_text(raw["channel"])
        if isinstance(channel.dtype, pd.CategoricalDtype):
            if channel.isna().any():
                channel = channel.cat.add_categories(["unknown"]).fillna("unknown")
        else:
            channel = channel.fillna("unknown")
        parsed["channel"] = channel
    return _apply_policy(raw, parsed, problems, source, columns, on_bad_rows, row_numbers)


def check_leads(
    raw: pd.DataFrame,
    source: str,
    columns: ColumnMapping | None = None,
    on_bad_rows: BadRowPolicy = "error",
) -> CheckedTable:
    """Validate a leads table: one row per ``lead_id`` plus profile columns.

    ``created_at`` and every ``<field>_provided_at`` column (when present) are
    parsed as timestamps. A ``lead_id`` that appears more than once is a bad
    row everywhere it appears, since nothing says which copy is right.
    """
    columns = columns or ColumnMapping()
    _require_columns(raw, LEAD_COLUMNS, source, columns, "leads")
    _require_rows(raw, source)
    lead_id, lead_id_problem = normalize_lead_ids(raw["lead_id"])
    duplicated = lead_id.duplicated(keep=False).to_numpy() & ~lead_id_problem.rows
    problems = [lead_id_problem, RowProblem("lead_id", "is duplicated", duplicated)]
    parsed = raw.assign(lead_id=lead_id)
    time_columns = [c for c in raw.columns if c == "created_at" or c.endswith(PROVIDED_AT_SUFFIX)]
    for name in time_columns:
        values, time_problems = parse_timestamps(raw[name], name, allow_missing=True)
        parsed[name] = values
        problems.extend(time_problems)
    return _apply_policy(raw, parsed, problems, source, columns, on_bad_rows)


def holds_numbers_or_moments(values: pd.Series) -> bool:
    """A column of numbers or timestamps: never blank, never a placeholder."""
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)


def is_present(values: pd.Series, missing_values: tuple[str, ...] = ()) -> np.ndarray:
    """True where a profile value is filled: not missing, not blank, not a placeholder.

    Examples
    --------
    >>> is_present(pd.Series(["ACME", " ", None, "Select", "n/a"]), ("select", "n/a")).tolist()
    [True, False, False, False, False]
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        per_category = is_present(pd.Series(values.cat.categories), missing_values)
        return np.append(per_category, False)[values.cat.codes.to_numpy()]
    if holds_numbers_or_moments(values):
        # Writing a million numbers or moments as text to find a placeholder took seconds.
        return values.notna().to_numpy()
    # A lead table of half a million rows is checked per field and per chunk.
    text = pc.utf8_trim_whitespace(arrow_text(values))
    present = pc.and_(pc.is_valid(text), pc.not_equal(text, ""))
    if missing_values:
        placeholder = pc.is_in(pc.utf8_lower(text), value_set=pa.array(missing_values, pa.string()))
        present = pc.and_(present, pc.invert(placeholder))
    return np.asarray(pc.fill_null(present, False), dtype=bool)


def as_utc(moment: str | pd.Timestamp) -> pd.Timestamp:
    """A moment as a UTC Timestamp; one without a zone is taken as UTC.

    Examples
    --------
    >>> as_utc("2025-03-01T12:00+02:00")
    Timestamp('2025-03-01 10:00:00+0000', tz='UTC')
    """
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def normalize_lead_ids(values: pd.Series) -> tuple[pd.Series, RowProblem]:
    """Turn lead ids into strings: ``12``, ``12.0``, ``"12"``, ``"12.0"`` and ``" 12 "``
    all become ``"12"``, so the same lead read from CSV, Excel or Parquet is one lead.

    Each distinct value is turned into text once (a hash of the values, no
    sort and no per-row Python), so half a million integer ids in ten million
    rows cost about as much as the half million.

    Returns the ids (object dtype, ``None`` where missing; a categorical
    stays categorical) and the rows whose id is missing or empty.

    Examples
    --------
    >>> ids = pd.Series([12, 12.0, " 12 ", "12.00", "A-7", ""], dtype=object)
    >>> normalize_lead_ids(ids)[0].tolist()
    ['12', '12', '12', '12', 'A-7', None]
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        category_ids = id_text(pd.Index(values.cat.categories))
        ids = _recode(values, pd.Series(category_ids, dtype=object))
        return ids, RowProblem("lead_id", "is empty", ids.isna().to_numpy())
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    text = np.append(id_text(pd.Index(distinct)), None)
    ids = pd.Series(text[codes], index=values.index, dtype=object, name=values.name)
    missing = ids.isna().to_numpy()
    return ids, RowProblem("lead_id", "is empty", missing)


_WHOLE_NUMBER_TEXT = r"^(-?\d+)\.0+$"


def id_text(distinct: pd.Index) -> np.ndarray:
    """Distinct lead ids as text (object array; ``None`` for an empty one).

    Integers are written in Arrow, whole floats as integers, text is stripped,
    and ``"12.0"`` becomes ``"12"`` (a spreadsheet's way of writing an integer id).
    """
    if pd.api.types.is_integer_dtype(distinct.dtype):
        text = pc.cast(pa.array(distinct.to_numpy()), pa.string())
    elif pd.api.types.is_float_dtype(distinct.dtype):
        numbers = distinct.to_numpy(dtype=float)
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**63)
        as_text = np.array([repr(v) for v in numbers], dtype=object)
        as_text[whole] = pc.cast(pa.array(numbers[whole].astype(np.int64)), pa.string()).to_numpy(
            zero_copy_only=False
        )
        text = pa.array(as_text, type=pa.string())
    else:
        values = distinct.to_numpy(dtype=object)
        try:
            text = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            # Mixed types (an Excel column of numbers and text): each distinct value once.
            whole = [_whole_float_text(v) for v in values]
            text = pa.array(whole, type=pa.string(), from_pandas=True)
        text = pc.utf8_trim_whitespace(text)
    text = pc.replace_substring_regex(text, _WHOLE_NUMBER_TEXT, r"\1")
    out = text.to_numpy(zero_copy_only=False).astype(object)
    out[np.asarray(pc.fill_null(pc.equal(text, ""), True))] = None
    return out


def _whole_float_text(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None if value is None or value is pd.NA else str(value)


def parse_timestamps(
    values: pd.Series, column: str, allow_missing: bool = False
) -> tuple[pd.Series, list[RowProblem]]:
    """Parse timestamps in any of the contract's forms into UTC.

    Accepted: ISO-8601 strings with or without an offset (naive means UTC),
    datetimes (naive means UTC; aware ones are converted), and epoch seconds
    or milliseconds as numbers or digit strings (values of 1e11 and above are
    milliseconds).

    Parameters
    ----------
    values : pandas.Series
    column : str
        Our name of the column, for the problems returned.
    allow_missing : bool
        When True an empty value is a valid "not known" (NaT), not a problem.

    Returns
    -------
    parsed : pandas.Series
        ``datetime64[ns, UTC]``, NaT where missing or bad.
    problems : list of RowProblem
        Rows that are empty (unless allowed), unparseable, or outside
        1990-01-01 .. 2100-01-01.

    Examples
    --------
    >>> s = pd.Series(["2024-05-01T12:00:00+02:00", "1714557600", "2024-05-01 10:00"])
    >>> parse_timestamps(s, "timestamp")[0].dt.hour.tolist()
    [10, 10, 10]
    """
    index = values.index
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
        missing = parsed.isna().to_numpy()
        unparseable = np.zeros(len(values), dtype=bool)
        unrepresentable = unparseable
    elif pd.api.types.is_datetime64_dtype(values):
        parsed = values.dt.tz_localize("UTC")
        missing = parsed.isna().to_numpy()
        unparseable = np.zeros(len(values), dtype=bool)
        unrepresentable = unparseable
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        missing = values.isna().to_numpy()
        parsed = _from_epoch(values)
        # A finite number that is no representable moment is out of range.
        unrepresentable = parsed.isna().to_numpy() & ~missing
        unparseable = np.zeros(len(values), dtype=bool)
    else:
        text = values.astype("string").str.strip()
        missing = _is_blank(text)
        is_epoch = text.str.fullmatch(r"-?\d+(\.\d+)?").fillna(False).to_numpy(dtype=bool)
        parsed = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
        if is_epoch.any():
            parsed[is_epoch] = _from_epoch(pd.to_numeric(text[is_epoch], errors="coerce"))
        iso = ~is_epoch & ~missing
        if iso.any():
            parsed[iso] = _from_iso(text[iso])
        unparseable = parsed.isna().to_numpy() & ~missing
        year = pd.to_numeric(text.str.extract(_LEADING_YEAR)[0], errors="coerce")
        beyond = (year < EARLIEST_TIMESTAMP.year) | (year >= LATEST_TIMESTAMP.year)
        unrepresentable = unparseable & (beyond.fillna(False).to_numpy(dtype=bool) | is_epoch)
    parsed = pd.Series(parsed, index=index).astype("datetime64[ns, UTC]")
    present = parsed.notna().to_numpy()
    out_of_range = unrepresentable | (
        present & ~((parsed >= EARLIEST_TIMESTAMP) & (parsed < LATEST_TIMESTAMP)).to_numpy()
    )
    unparseable = unparseable & ~unrepresentable
    parsed = parsed.mask(out_of_range)
    problems = [
        RowProblem(column, "cannot be parsed as a timestamp", unparseable),
        RowProblem(
            column,
            f"is out of range (before {EARLIEST_TIMESTAMP.date()} or from "
            f"{LATEST_TIMESTAMP.date()})",
            out_of_range,
        ),
    ]
    if not allow_missing:
        problems.insert(0, RowProblem(column, "is empty", missing))
    return parsed, problems


def _from_epoch(numbers: pd.Series) -> pd.Series:
    values = pd.to_numeric(numbers, errors="coerce").astype("float64").to_numpy()
    finite = np.isfinite(values)
    in_milliseconds = finite & (np.abs(values) >= EPOCH_MILLISECONDS_FROM)
    scale = np.where(in_milliseconds, 10**6, 10**9)
    with np.errstate(invalid="ignore", over="ignore"):
        approximate = values * scale
    # Beyond int64 nanoseconds (year 2262) the value is out of range anyway.
    representable = finite & (np.abs(approximate) < 9.2e18)
    whole = representable & (values == np.round(values))
    nanoseconds = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    # Whole seconds or milliseconds are scaled in integers, so no float rounding creeps in.
    nanoseconds[whole] = values[whole].astype(np.int64) * scale[whole]
    fractional = representable & ~whole
    nanoseconds[fractional] = np.round(approximate[fractional]).astype(np.int64)
    moments = pd.Series(nanoseconds.view("datetime64[ns]"), index=numbers.index)
    return moments.dt.tz_localize("UTC")


_HAS_OFFSET = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
_LEADING_YEAR = r"^\s*(\d{4,})-"


def _from_iso(text: pd.Series) -> pd.Series:
    # pandas reads naive values after an offset value in that offset, so
    # values with and without an offset are parsed apart (naive means UTC).
    has_offset = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for group in (has_offset, ~has_offset):
        if group.any():
            parsed[group] = _iso_group(text[group])
    return parsed


def _iso_group(text: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    except (ValueError, OverflowError):
        # One value pandas cannot even coerce must not hide the rest: parse
        # each distinct value on its own.
        distinct = pd.unique(text.to_numpy())
        lookup = {value: _parse_one_iso(value) for value in distinct}
        return pd.Series([lookup[v] for v in text], index=text.index, dtype="datetime64[ns, UTC]")


def _parse_one_iso(value: str) -> pd.Timestamp:
    try:
        return pd.to_datetime(value, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        return pd.NaT


def _clean_text(values: pd.Series) -> pd.Series:
    """Strip text; empty becomes missing. Categoricals are cleaned per category."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _recode(values, _clean_text(pd.Series(values.cat.categories)))
    text = _strip(values)
    return text.astype(object).where(text.notna() & (text != ""), None)


def arrow_text(values: pd.Series) -> pa.Array:
    """The values as an Arrow string array (missing stays missing), for Arrow's string
    kernels: pandas' ``.str`` methods loop in Python. Values that are not all text are
    written as pandas writes them."""
    try:
        return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        text = values.astype("string").to_numpy(dtype=object)
        return pa.array(text, type=pa.string(), from_pandas=True)


def _strip(values: pd.Series) -> pd.Series:
    """Strip surrounding white space with Arrow's kernel."""
    stripped = pc.utf8_trim_whitespace(arrow_text(values))
    # The values, not a Series: a Series would be aligned on ``values.index``, and a frame
    # with any other index (a filtered one) would lose its rows.
    return pd.Series(stripped.to_numpy(zero_copy_only=False), index=values.index, dtype="string")


def _recode(values: pd.Series, new_categories: pd.Series) -> pd.Series:
    """Replace each category of ``values`` by a new value, merging categories that become equal."""
    inverse, distinct = pd.factorize(new_categories.to_numpy(dtype=object))
    codes = values.cat.codes.to_numpy()
    # Code -1 (missing) picks the appended -1; this also works with no categories at all.
    new_codes = np.append(inverse, -1)[codes]
    recoded = pd.Categorical.from_codes(new_codes, categories=pd.Index(distinct, dtype=object))
    return pd.Series(recoded, index=values.index, name=values.name)


def _is_blank(text: pd.Series) -> np.ndarray:
    stripped = text.astype("string").str.strip()
    return (stripped.isna() | (stripped == "")).to_numpy(dtype=bool)


def _require_columns(
    raw: pd.DataFrame, required: Sequence[str], source: str, columns: ColumnMapping, what: str
) -> None:
    missing = [name for name in required if name not in raw.columns]
    if not missing:
        return
    theirs = {ours: theirs for theirs, ours in columns.renames().items()}
    described = [
        f"'{theirs[name]}' (our '{name}')" if name in theirs else f"'{name}'" for name in missing
    ]
    present = ", ".join(map(repr, map(str, raw.columns))) or "none"
    flags = ", ".join(f"--{name.replace('_', '-')}-col" for name in missing)
    if len(raw.columns) == 1 and any(sep in str(raw.columns[0]) for sep in ",;|\t"):
        raise InputError(
            f"{source}: the header is one column, {str(raw.columns[0])[:80]!r}: the rows are "
            "not split by the delimiter it was read with; set [input] delimiter in the config"
        )
    raise InputError(
        f"{source}: the {what} table has no column {', '.join(described)}; it has {present}. "
        f"Map your column names with {flags} or a [columns] section in the config file."
    )


def _require_rows(raw: pd.DataFrame, source: str) -> None:
    if raw.empty:
        raise InputError(f"{source}: the table has a header but no rows")


def row_label(source: str, position: int) -> str:
    """Name a row the way the user will find it: a line for CSV, a row number for Parquet."""
    if source.lower().endswith((".csv", ".tsv", ".csv.gz")):
        return f"line {position + 2}"
    return f"row {position}"


def _apply_policy(
    raw: pd.DataFrame,
    parsed: pd.DataFrame,
    problems: list[RowProblem],
    source: str,
    columns: ColumnMapping,
    on_bad_rows: BadRowPolicy,
    row_numbers: np.ndarray | None = None,
) -> CheckedTable:
    if on_bad_rows not in ("error", "quarantine"):
        raise InputError(f"on_bad_rows must be 'error' or 'quarantine', got {on_bad_rows!r}")
    positions = np.arange(len(raw)) if row_numbers is None else np.asarray(row_numbers)
    problems = [p for p in problems if p.rows.any()]
    if problems and on_bad_rows == "error":
        raise InputError(_describe_problems(raw, problems, source, columns, positions))
    reason = np.full(len(raw), None, dtype=object)
    column = np.full(len(raw), None, dtype=object)
    # The first problem found for a row is the one reported for it.
    for problem in reversed(problems):
        reason[problem.rows] = problem.reason
        column[problem.rows] = problem.column
    bad = reason != None  # noqa: E711 - elementwise comparison on an object array
    rejected = rejected_rows(raw, source, columns, positions[bad], column[bad], reason[bad], bad)
    frame = parsed.loc[~bad] if bad.any() else parsed
    frame.index = positions[~bad]
    return CheckedTable(frame=frame, rejected=rejected, source=source, n_read=len(raw))


def rejected_rows(
    raw: pd.DataFrame,
    source: str,
    columns: ColumnMapping,
    positions: np.ndarray,
    column: np.ndarray,
    reason: np.ndarray,
    bad: np.ndarray,
) -> pd.DataFrame:
    """The rejected rows as the user wrote them, plus where and why, under names of our own.

    Every user column comes back under its own name with its values as text;
    ours (:data:`~intent_model.names.QUARANTINE_COLUMNS`) come first, under
    names no user column has. The row is named as the error message names it.
    """
    theirs = {ours: theirs for theirs, ours in columns.renames().items()}
    user = raw.loc[bad].set_axis([theirs.get(name, name) for name in raw.columns], axis=1)
    ours = {
        QUARANTINE_FILE: source,
        QUARANTINE_ROW: [row_label(source, int(p)) for p in positions],
        QUARANTINE_COLUMN: [theirs.get(c, c) for c in column],
        QUARANTINE_REASON: reason,
    }
    return _ours_then_user_columns(ours, user)


def with_user_columns(rejected: pd.DataFrame, user_rows: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows found in a few columns of a file, shown with all of its columns.

    ``user_rows`` are the same rows, in the same order, as the file has them
    (every column, the user's names).
    """
    ours = {name: rejected.iloc[:, i].to_numpy() for i, name in enumerate(QUARANTINE_COLUMNS)}
    return _ours_then_user_columns(ours, user_rows)


def _ours_then_user_columns(ours: dict[str, object], user_rows: pd.DataFrame) -> pd.DataFrame:
    """Our quarantine columns, under names no user column has, then every user column as
    text."""
    user = user_rows.astype("string").astype(object).reset_index(drop=True)
    named = {unclaimed(name, user.columns): values for name, values in ours.items()}
    return pd.concat([pd.DataFrame(named, index=user.index), user], axis=1)


def _describe_problems(
    raw: pd.DataFrame,
    problems: list[RowProblem],
    source: str,
    columns: ColumnMapping,
    positions: np.ndarray,
) -> str:
    theirs = {ours: theirs for theirs, ours in columns.renames().items()}
    lines = [f"{source}: rows that break the input contract"]
    for problem in problems:
        bad_positions = positions[problem.rows]
        shown = ", ".join(
            f"{row_label(source, int(positions[i]))} ({_show(raw[problem.column].iloc[i])})"
            for i in np.flatnonzero(problem.rows)[:SHOWN_ROWS]
        )
        more = (
            f" and {len(bad_positions) - SHOWN_ROWS:,} more"
            if len(bad_positions) > SHOWN_ROWS
            else ""
        )
        name = (
            f"'{theirs[problem.column]}' (our '{problem.column}')"
            if problem.column in theirs
            else f"'{problem.column}'"
        )
        lines.append(
            f"  column {name} {problem.reason} in {len(bad_positions):,} row(s): {shown}{more}"
        )
    lines.append(
        "Fix these rows, or pass --on-bad-rows quarantine (config: [input] on_bad_rows) to set "
        "them aside in a side file and go on. Timestamps may be ISO-8601 "
        "('2024-05-01T13:45:00Z'), datetimes, or epoch seconds/milliseconds."
    )
    return "\n".join(lines)


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "empty"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
