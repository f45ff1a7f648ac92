"""CRM-table mode, features: encode a lead table's columns, and say them back in its own words.

Fitted once on the training table and stored with the model (as a plain
dict in its metadata), so scoring encodes new tables the same way:

* numeric -> the number (placeholders and blanks -> missing);
* categorical -> ``has_<col>`` plus one indicator per frequent category
  (``<col>=<value>``) and ``<col>=(other)`` for the rare ones; placeholders
  ("Select", "N/A", "") are a missing value, never a category;
* text and identifier-like -> ``has_<col>`` (given or not), never the value;
* date -> ``days_since_<col>``, days before the scoring time;
* information provided -> ``n_fields_provided``, ``share_fields_provided``
  over the ``has_`` columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from intent_model.io.config import FEATURE_ROLES
from intent_model.io.validate import is_present
from intent_model.words import number as _number

OTHER = "(other)"
# A category code must fit a histogram's bins (the categories and "(other)").
MAX_CODES = 254
INFORMATION = ("n_fields_provided", "share_fields_provided")


@dataclass(frozen=True)
class TableColumn:
    """How one source column is encoded."""

    name: str
    role: str
    # Categorical: kept categories (casefolded keys) and how the table spells them.
    categories: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    # Identifier-like columns add has_<col> only when some rows leave them empty.
    presence: bool = True

    def feature_names(self) -> list[str]:
        if self.role == "numeric":
            return [self.name]
        if self.role == "date":
            return [f"days_since_{self.name}"]
        names = [f"has_{self.name}"] if self.presence else []
        if self.role == "categorical":
            names += [f"{self.name}={label}" for label in self.labels] + [f"{self.name}={OTHER}"]
        return names


@dataclass(frozen=True)
class TableSpec:
    """The encoding of a lead table: fixed at training time, stored with the model."""

    columns: tuple[TableColumn, ...]
    missing_values: tuple[str, ...]
    # Count the form fields given (n_fields_provided, share_fields_provided); off when
    # the columns join event features, which count the profile fields themselves.
    information: bool = True

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        roles: pd.DataFrame,
        missing_values: tuple[str, ...],
        max_categories: int = 30,
        min_category_rows: int = 10,
        information: bool = True,
    ) -> TableSpec:
        """Learn the encoding (kept categories) from the training rows; no labels are used."""
        columns = []
        for row in roles.itertuples(index=False):
            if row.role not in FEATURE_ROLES or row.column == "lead_id":
                continue
            values = frame[row.column]
            if row.role == "categorical":
                kept, spelled = _kept_categories(
                    values, missing_values, max_categories, min_category_rows
                )
                columns.append(TableColumn(row.column, "categorical", kept, spelled))
            elif row.role in ("text", "identifier"):
                some_missing = not is_present(values, missing_values).all()
                columns.append(TableColumn(row.column, row.role, presence=some_missing))
            else:
                columns.append(TableColumn(row.column, row.role))
        return cls(tuple(columns), tuple(missing_values), information)

    @classmethod
    def from_dict(cls, table: dict) -> TableSpec:
        """Rebuild a spec stored in a model's metadata."""
        return cls(
            columns=tuple(
                TableColumn(
                    name=c["name"],
                    role=c["role"],
                    categories=tuple(c["categories"]),
                    labels=tuple(c["labels"]),
                    presence=bool(c["presence"]),
                )
                for c in table["columns"]
            ),
            missing_values=tuple(table["missing_values"]),
            information=bool(table.get("information", True)),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def source_columns(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def information_columns(self) -> list[str]:
        if not self.information:
            return []
        return [f"has_{c.name}" for c in self.columns if c.presence and c.role in _PRESENCE_ROLES]

    @property
    def feature_names(self) -> list[str]:
        names = [n for c in self.columns for n in c.feature_names()]
        return names + (list(INFORMATION) if self.information_columns else [])

    def without(self, names: set[str]) -> TableSpec:
        """The same encoding without the columns ``names``."""
        kept = tuple(c for c in self.columns if c.name not in names)
        return TableSpec(kept, self.missing_values, self.information)

    def category_groups(
        self, without: tuple[str, ...] = ()
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Per categorical column (except those ``without``), its name and its features,
        ``has_<col>`` first, then one per category: what the gradient boosting reads as one
        categorical feature. A column with more categories than a histogram has bins (255)
        stays as its indicators."""
        return tuple(
            (c.name, tuple(c.feature_names()))
            for c in self.columns
            if c.role == "categorical" and c.name not in without and len(c.labels) < MAX_CODES
        )

    def source_of(self, feature: str) -> str:
        """The table column a feature was made from (``information`` for the counts)."""
        if feature in INFORMATION:
            return "information"
        for column in self.columns:
            if feature in column.feature_names():
                return column.name
        raise KeyError(f"{feature!r} is not a feature of this table spec")

    def encode(self, frame: pd.DataFrame, as_of: pd.Timestamp | pd.Series) -> pd.DataFrame:
        """Features of every row (index kept), float32, in ``feature_names`` order.

        ``as_of`` is the scoring time, or one per row (training snapshots): a date
        after it was not known then and is missing.

        Raises
        ------
        KeyError
            Naming the columns the table lacks (callers turn it into an InputError).
        """
        missing = [c.name for c in self.columns if c.name not in frame.columns]
        if missing:
            raise KeyError(missing)
        names = self.feature_names
        # Each feature written straight into one float32 block: a dict of float64 columns,
        # a frame of them, its reordering and its cast were four copies of the table (a
        # million rows: 2.3 GB at the peak for a 0.23 GB result).
        block = np.empty((len(frame), len(names)), dtype=np.float32)
        position = {name: j for j, name in enumerate(names)}

        def put(name: str, values: np.ndarray) -> None:
            block[:, position[name]] = values

        for column in self.columns:
            values = frame[column.name]
            if column.role == "numeric":
                put(column.name, numeric_values(values, self.missing_values))
            elif column.role == "date":
                moments = date_values(values)
                reference = as_of.set_axis(moments.index) if isinstance(as_of, pd.Series) else as_of
                days = (reference - moments).dt.total_seconds().to_numpy(dtype=float) / 86_400.0
                put(f"days_since_{column.name}", np.where(days >= 0, days, np.nan))
            else:
                given = is_present(values, self.missing_values)
                if column.presence:
                    put(f"has_{column.name}", given)
                if column.role == "categorical":
                    # "" never is a category: blanks are missing values.
                    keys = category_keys(values, self.missing_values).fillna("").to_numpy(object)
                    kept = np.zeros(len(values), dtype=bool)
                    for key, label in zip(column.categories, column.labels, strict=True):
                        match = keys == key
                        kept |= match
                        put(f"{column.name}={label}", match)
                    put(f"{column.name}={OTHER}", given & ~kept)
        information = self.information_columns
        if information:
            n_given = block[:, [position[c] for c in information]].sum(axis=1, dtype=np.float64)
            put("n_fields_provided", n_given)
            put("share_fields_provided", n_given / len(information))
        return pd.DataFrame(block, index=frame.index, columns=names, copy=False)

    def describe_value(self, feature: str, value: float) -> str:
        """A feature in the table's words from its encoded value alone (event mode's reasons).

        Examples
        --------
        >>> spec = TableSpec((TableColumn("Lead Source", "categorical", ("web",), ("Web",)),),
        ...                  (), information=False)
        >>> spec.describe_value("Lead Source=Web", 1.0), spec.describe_value("has_Lead Source", 0)
        ('Lead Source = Web', 'Lead Source not given')
        """
        column = next(c for c in self.columns if feature in c.feature_names())
        name = column.name
        if value != value:
            return f"{name} not given"
        if column.role == "numeric":
            return f"{name} = {_number(value)}"
        if column.role == "date":
            days = int(round(value))
            return f"{name} {days:,} day{'s' if days != 1 else ''} before"
        if feature == f"has_{name}":
            return f"{name} given" if value >= 1 else f"{name} not given"
        label = feature[len(name) + 1 :]
        label = "a rarer value" if label == OTHER else label
        return f"{name} = {label}" if value >= 1 else f"{name} is not {label}"

    def describer(self, frame: pd.DataFrame):
        """A function ``(row position, feature, value) -> words`` for the rows of ``frame``.

        Reasons use the table's own words: its column names and the lead's raw
        value, not the encoded number.

        Examples
        --------
        >>> spec = TableSpec((TableColumn("Lead Source", "categorical", ("google",),
        ...                   ("Google",)), TableColumn("Visits", "numeric")), ("select",))
        >>> words = spec.describer(pd.DataFrame({"Lead Source": ["Reference", "Select"],
        ...                                      "Visits": [1530, None]}))
        >>> words(0, "Lead Source=(other)", 1.0), words(0, "Visits", 1530.0)
        ('Lead Source = Reference', 'Visits = 1,530')
        >>> words(1, "has_Lead Source", 0.0), words(1, "Visits", float("nan"))
        ('Lead Source not given', 'Visits not given')
        """
        raw = {c.name: frame[c.name].to_numpy(dtype=object) for c in self.columns}
        given = {c.name: is_present(frame[c.name], self.missing_values) for c in self.columns}
        numbers = {
            c.name: numeric_values(frame[c.name], self.missing_values)
            for c in self.columns
            if c.role == "numeric"
        }
        by_feature = {f: c for c in self.columns for f in c.feature_names()}
        n_information = len(self.information_columns)

        def words(row: int, feature: str, value: float) -> str:
            if feature in INFORMATION:
                count = value if feature == "n_fields_provided" else value * n_information
                return f"{_number(round(count))} of {n_information} form fields given"
            column = by_feature[feature]
            name = column.name
            if not given[name][row] or value != value:
                return f"{name} not given"
            text = raw[name][row]
            if column.role == "numeric":
                number = numbers[name][row]
                return f"{name} = {_number(number) if number == number else str(text).strip()}"
            if column.role == "date":
                days = int(round(value))
                return f"{name} {days:,} day{'s' if days != 1 else ''} before scoring"
            if column.role == "categorical":
                return f"{name} = {str(text).strip()}"
            return f"{name} given"

        return words


_PRESENCE_ROLES = ("categorical", "text", "identifier")


def _kept_categories(
    values: pd.Series, missing_values: tuple[str, ...], max_categories: int, min_rows: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The categories kept (keys, most frequent first, at least ``min_rows`` rows each, at
    most ``max_categories``) and how the table spells each most often (stripped; on a
    tie, the spelling met first), the spellings counted per distinct value, not per row."""
    counts = category_keys(values, missing_values).value_counts()
    kept = counts[counts >= min_rows].head(max_categories).index.tolist()
    distinct, n_rows = _distinct_values(values)
    spellings = pd.DataFrame(
        {
            "key": category_keys(distinct, missing_values).to_numpy(),
            "label": distinct.astype("string").str.strip().to_numpy(),
            "rows": n_rows,
            "first": np.arange(len(distinct)),  # in the order the column meets them
        }
    ).dropna()
    spellings = (
        spellings.groupby(["key", "label"], sort=False)
        .agg(rows=("rows", "sum"), first=("first", "min"))
        .reset_index()
        .sort_values(["rows", "first"], ascending=[False, True], kind="stable")
    )
    spelled = spellings.drop_duplicates("key").set_index("key")["label"]
    return tuple(kept), tuple(str(spelled[k]) for k in kept)


def _distinct_values(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The column's distinct given values, in the order it meets them, and the rows of each."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    n_rows = np.bincount(codes[codes >= 0], minlength=len(distinct))
    return pd.Series(distinct, dtype=object), n_rows


def category_keys(values: pd.Series, missing_values: tuple[str, ...]) -> pd.Series:
    """Stripped, casefolded text of each given value; missing for blanks and placeholders.

    Worked out once per distinct value: a column of a million rows holds a few dozen.

    Examples
    --------
    >>> category_keys(pd.Series([" ACME", "acme", None, "n/a", 3]), ("n/a",)).tolist()
    ['acme', 'acme', <NA>, <NA>, '3']
    """
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(distinct)
    keys = distinct.astype("string").str.strip().str.casefold()
    keys = keys.where(is_present(distinct, missing_values), pd.NA)
    return pd.Series(keys.array.take(codes, allow_fill=True), index=values.index, dtype="string")


def numeric_values(values: pd.Series, missing_values: tuple[str, ...] = ()) -> np.ndarray:
    """Floats; placeholders, blanks and text that is not a number become NaN.

    Examples
    --------
    >>> numeric_values(pd.Series(["1,530", "N/A", " ", "7"]), ("n/a",)).tolist()
    [1530.0, nan, nan, 7.0]
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float).to_numpy()
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    return numbers.where(is_present(values, missing_values), np.nan).to_numpy(dtype=float)


def date_values(values: pd.Series) -> pd.Series:
    """UTC timestamps; anything that is not a date becomes NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        moments = pd.Series(values)
        return (
            moments.dt.tz_localize("UTC") if moments.dt.tz is None else moments.dt.tz_convert("UTC")
        )
    return pd.to_datetime(values.astype("string"), errors="coerce", utc=True, format="mixed")


def latest_moment(frame: pd.DataFrame, spec: TableSpec) -> pd.Timestamp | None:
    """One second after the latest date in the table's date columns (the export time)."""
    latest = [
        date_values(frame[c.name]).max()
        for c in spec.columns
        if c.role == "date" and c.name in frame
    ]
    latest = [m for m in latest if m is not pd.NaT and m == m]
    return max(latest) + pd.Timedelta(seconds=1) if latest else None


def placeholder_report(frame: pd.DataFrame, columns: list[str], missing_values: tuple[str, ...]):
    """How many cells of each column each placeholder turned into "not given" (blanks too)."""
    rows = []
    for name in columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        # Per distinct value, then weighted by its rows: a column holds a few dozen.
        distinct, n_rows = _distinct_values(values)
        text = distinct.astype("string").str.strip()
        blank = int(n_rows[(text == "").to_numpy(dtype=bool, na_value=False)].sum())
        if blank:
            rows.append({"column": name, "value": "(blank)", "n_cells": blank})
        folded = text.str.casefold()
        found = folded.isin(missing_values).to_numpy(dtype=bool, na_value=False)
        counts = (
            pd.Series(n_rows[found], index=folded[found].to_numpy())
            .groupby(level=0, sort=False)
            .sum()
            .sort_values(ascending=False, kind="stable")
        )
        rows.extend({"column": name, "value": v, "n_cells": int(n)} for v, n in counts.items() if n)
    return pd.DataFrame(rows, columns=["column", "value", "n_cells"])
