"""CRM-table mode, input side: one row per lead, its label, and the role of every column.

A CRM export has no event log: engagement is already summed up in columns
(visits, time on site, last activity), next to form answers, a creation date
and a converted flag. This module reads such a table, parses the label and
infers what each column is, so that the columns can be encoded
(:mod:`intent_model.table.encoding`) and checked for post-outcome leaks
(:mod:`intent_model.table.checks`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError, InputError
from intent_model.io.config import Config
from intent_model.io.load import load_leads
from intent_model.io.validate import (
    SHOWN_ROWS,
    CheckedTable,
    holds_numbers_or_moments,
    is_present,
    row_label,
)
from intent_model.table.encoding import category_keys

# What an empty label cell means: see parse_label.
BLANK_IS_ERROR = "error"
BLANK_IS_UNLABELLED = "unlabelled"
LABEL_VALUES = {
    "1": 1,
    "0": 0,
    "yes": 1,
    "no": 0,
    "y": 1,
    "n": 0,
    "true": 1,
    "false": 0,
    "hard": 1,
    "soft": 0,
}
# A column is identifier-like when nearly every value is distinct ...
UNIQUE_SHARE = 0.9
# ... and free text rather than an identifier when its values are long or have spaces.
TEXT_MEAN_LENGTH = 25
PARSED_SHARE = 0.95
_ID_NAME = re.compile(r"(^|[^a-z])(id|number|no|key|uuid|code)([^a-z]|$)", re.IGNORECASE)


@dataclass
class LeadTable:
    """A validated CRM table with its label.

    Attributes
    ----------
    checked : CheckedTable
        The validated rows (``lead_id`` as text, ``created_at`` parsed when present).
    label_col : str or None
        The label column's name in the file; None when scoring.
    label : numpy.ndarray or None
        0/1 per row of ``checked.frame``.
    """

    checked: CheckedTable
    label_col: str | None
    label: np.ndarray | None

    @property
    def frame(self) -> pd.DataFrame:
        return self.checked.frame

    @property
    def source(self) -> str:
        return self.checked.source


def load_lead_table(
    source: str | Path | pd.DataFrame | CheckedTable,
    config: Config | None = None,
    label_col: str | None = None,
) -> LeadTable:
    """Read and validate a one-row-per-lead table, and parse its label column.

    Parameters
    ----------
    source : path, DataFrame or CheckedTable
    config : Config, optional
        Column mapping (``[columns]``) and bad-row policy.
    label_col : str, optional
        The label column (0/1, yes/no, true/false, hard/soft); required to train.

    Raises
    ------
    InputError
        Missing ``lead_id`` column, no rows, repeated ids, a missing label
        column, label values outside the allowed ones, or one class only.
    """
    config = config or Config()
    checked = source if isinstance(source, CheckedTable) else load_leads(source, config)
    label = None
    if label_col:
        if label_col not in checked.frame.columns:
            raise InputError(
                f"{checked.source}: no label column {label_col!r}; the table has "
                + ", ".join(repr(str(c)) for c in checked.frame.columns)
            )
        label = parse_label(checked.frame[label_col], checked.source, label_col)
        n_positive = int(label.sum())
        if n_positive in (0, len(label)):
            only = "1 (converted)" if n_positive else "0 (not converted)"
            raise InputError(
                f"{checked.source}: column {label_col!r} has one class only: all "
                f"{len(label):,} rows are {only}; a model needs converted and not converted leads"
            )
    return LeadTable(checked=checked, label_col=label_col, label=label)


def label_values(values: pd.Series) -> pd.Series:
    """1 or 0 for each value that spells a label (see :func:`parse_label`), missing otherwise.

    Examples
    --------
    >>> label_values(pd.Series(["Yes", " n ", "maybe", None])).tolist()
    [1.0, 0.0, nan, nan]
    """
    text = values.astype("string").str.strip().str.casefold()
    # Numbers read from a file come back as "1.0"/"0.0".
    text = text.replace({"1.0": "1", "0.0": "0"})
    return text.map(LABEL_VALUES, na_action="ignore").astype(float)


def parse_label(
    values: pd.Series, source: str, column: str, *, blank: str = BLANK_IS_ERROR
) -> np.ndarray:
    """0/1 from 0/1, yes/no, y/n, true/false or hard/soft (any case, booleans too).

    The one reader of label columns, for both modes. ``blank`` says what an
    empty cell means, the one way the modes differ:

    - ``"error"`` (training on a CRM table): every lead learnt from needs its
      outcome; a blank is refused with the others.
    - ``"unlabelled"`` (CRM labels beside an event log): the outcome is not
      decided yet; the lead gives no snapshot and comes back as NaN.

    Raises
    ------
    InputError
        Naming the rows whose value is not a label (or is blank, with ``"error"``).

    Examples
    --------
    >>> parse_label(pd.Series(["Yes", "no", 1, True, "hard", "0.0"]), "t.csv", "won").tolist()
    [1, 0, 1, 1, 1, 0]
    >>> parse_label(pd.Series(["soft", ""]), "t.csv", "won", blank="unlabelled").tolist()
    [0.0, nan]
    """
    if blank not in (BLANK_IS_ERROR, BLANK_IS_UNLABELLED):
        raise ValueError(f"blank must be {BLANK_IS_ERROR!r} or {BLANK_IS_UNLABELLED!r}")
    parsed = label_values(values)
    bad = parsed.isna().to_numpy()
    if blank == BLANK_IS_UNLABELLED:
        bad &= is_present(values)
    if bad.any():
        positions = np.flatnonzero(bad)
        shown = "; ".join(
            f"{row_label(source, int(values.index[i]))}: {values.iloc[i]!r}"
            for i in positions[:SHOWN_ROWS]
        )
        empty = "; empty = not labelled yet" if blank == BLANK_IS_UNLABELLED else ""
        raise InputError(
            f"{source}: column {column!r} has {len(positions):,} value(s) that are not a label "
            f"(use 0/1, yes/no, true/false or hard/soft{empty}): {shown}"
        )
    if blank == BLANK_IS_UNLABELLED:
        return parsed.to_numpy(dtype=float)
    return parsed.to_numpy(dtype=np.int64)


def infer_roles(
    frame: pd.DataFrame,
    missing_values: tuple[str, ...],
    label_col: str | None = None,
    overrides: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The role of every column of a lead table, and why.

    Roles: ``identifier`` (the lead id, or nearly every value distinct and short),
    ``numeric``, ``categorical``, ``text`` (free text: nearly every value distinct
    and long), ``date``, ``constant`` (one value, or nothing given), ``label``,
    ``created_at`` (orders the out-of-time split) and ``ignore`` (by the config).

    Parameters
    ----------
    frame : pandas.DataFrame
        The validated table (our names for ``lead_id`` and ``created_at``).
    missing_values : tuple of str
        Placeholders that mean "not given" (casefolded).
    label_col : str, optional
    overrides : dict, optional
        ``[columns.roles]``: column -> role, applied after inference.

    Returns
    -------
    pandas.DataFrame
        ``column, role, detail, n_given, n_distinct``, one row per column in table order.

    Examples
    --------
    >>> frame = pd.DataFrame({"lead_id": ["a", "b", "c"], "visits": [1, 5, 2],
    ...                       "source": ["Google", "Select", "Direct"], "country": "IN"})
    >>> infer_roles(frame, ("select",))["role"].tolist()
    ['identifier', 'numeric', 'categorical', 'constant']
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(map(str, frame.columns)))
    if unknown:
        raise ConfigError(
            f"[columns.roles] names column(s) the table does not have: {', '.join(unknown)}"
        )
    rows = []
    for name in frame.columns:
        values = frame[name]
        given = is_present(values, missing_values)
        present = values[given]
        n_distinct = _distinct(values, present, missing_values)
        if name == "lead_id":
            role, detail = "identifier", "the lead id: joins, never a feature"
        elif name == label_col:
            role, detail = "label", "what the model predicts"
        elif name == "created_at":
            role, detail = "created_at", "creation date: orders the out-of-time evaluation"
        else:
            role, detail = _infer(name, values, present, n_distinct)
        if str(name) in overrides and role not in ("label",) and name != "lead_id":
            role, detail = overrides[str(name)], f"set in [columns.roles] (inferred: {role})"
        rows.append(
            {
                "column": str(name),
                "role": role,
                "detail": detail,
                "n_given": int(given.sum()),
                "n_distinct": n_distinct,
            }
        )
    return pd.DataFrame(rows)


def _infer(name: str, values: pd.Series, present: pd.Series, n_distinct: int) -> tuple[str, str]:
    n_present = len(present)
    if n_present == 0:
        return "constant", "nothing given in any row"
    if n_distinct == 1 and n_present == len(values):
        return "constant", f"one value only ({str(present.iloc[0])[:30]!r})"
    if n_distinct == 1:
        # Given for some leads only: whether it is given may say something.
        return "categorical", f"one value ({str(present.iloc[0])[:30]!r}), given or not"
    if pd.api.types.is_bool_dtype(values):
        return "categorical", "true/false"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date", "dates: used as days before the scoring time"
    unique = n_distinct >= UNIQUE_SHARE * n_present and n_present >= 20
    if pd.api.types.is_numeric_dtype(values):
        whole = np.all(np.mod(present.to_numpy(dtype=float), 1) == 0)
        if unique and whole and _ID_NAME.search(str(name)):
            return "identifier", "whole numbers, nearly all distinct, named like an id"
        return "numeric", "numbers"
    # Each distinct text once, weighted by its rows: a million rows hold a few dozen.
    codes, distinct = pd.factorize(present.to_numpy(dtype=object))
    text = pd.Series(distinct, dtype=object).astype(str).str.strip()
    rows = np.bincount(codes, minlength=len(text))
    numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    if np.average(numbers.notna(), weights=rows) >= PARSED_SHARE:
        return "numeric", "numbers stored as text"
    if _date_share(text.iloc[codes[:DATE_SAMPLE_ROWS]]) >= PARSED_SHARE:
        return "date", "dates stored as text: used as days before the scoring time"
    if unique:
        long_text = (
            np.average(text.str.len(), weights=rows) >= TEXT_MEAN_LENGTH
            or np.average(text.str.contains(" "), weights=rows) > 0.5
        )
        if long_text:
            return "text", "free text, nearly every value distinct: used as given or not"
        return "identifier", "nearly every value distinct: used as given or not"
    return "categorical", f"{n_distinct:,} distinct values"


def _distinct(values: pd.Series, present: pd.Series, missing_values: tuple[str, ...]) -> int:
    """Distinct given values: numbers and moments as they are, text stripped and casefolded."""
    if holds_numbers_or_moments(values):
        return int(present.nunique())
    return int(category_keys(values, missing_values).nunique())


# Rows whose text is tried as dates (the first ones): parsing is slow, and a column of dates
# shows it in its first rows.
DATE_SAMPLE_ROWS = 500


def _date_share(sample: pd.Series) -> float:
    # Only strings shaped like dates: pandas would read "3" or "May" as a date too.
    shaped = sample.str.match(r"^\d{4}-\d{1,2}-\d{1,2}|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")
    if not shaped.any():
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample[shaped], errors="coerce", utc=True, format="mixed")
    return float(parsed.notna().sum() / max(len(sample), 1))


def roles_table(roles: pd.DataFrame) -> str:
    """The roles as a printed table, one line per column in table order."""
    shown = roles[["column", "role", "n_given", "n_distinct", "detail"]].copy()
    shown["column"] = shown["column"].str.slice(0, 40)
    return shown.to_string(index=False)
