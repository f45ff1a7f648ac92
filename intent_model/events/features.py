"""Point-in-time features for (lead, cutoff) pairs: pure, vectorised, the same in any chunking.

The boundary (docs/point-in-time.md): a feature at cutoff ``c`` sees only events
with ``timestamp < c`` (strictly before), and a profile field only once it
was given (``<field>_provided_at < c``). Everything is computed per lead, so a
chunk that holds all events of its leads gives exactly the rows the whole
table would give, bit for bit.

This module never reads a file; :mod:`intent_model.events.training_set` feeds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from intent_model.events.families import (
    ALWAYS,
    DAY_NS,
    FAMILIES,
    FEATURE_FAMILIES,
    NEVER,
    PER_CUTOFF,
    Meaning,
    Said,
    add_account_features,
)
from intent_model.events.taxonomy import EVENT_CLASSES, Taxonomy
from intent_model.io.config import FeatureConfig
from intent_model.io.validate import arrow_text, is_present
from intent_model.table.encoding import TableSpec
from intent_model.words import duration_suffix

__all__ = [
    "DAY_NS",
    "FEATURE_FAMILIES",
    "FeatureSpec",
    "add_account_features",
    "compute_features",
    "lead_rows",
    "lead_time_order",
]


@dataclass(frozen=True)
class FeatureSpec:
    """Which features to build: fixed at training time and stored with the model.

    Use :meth:`from_config` to make one.
    """

    event_types: tuple[str, ...]
    windows_days: tuple[int, ...]
    decay_half_life_days: float
    profile_fields: tuple[str, ...]
    free_email_domains: tuple[str, ...]
    missing_values: tuple[str, ...] = ()
    # Other columns of the leads table, encoded as in CRM-table mode (TableColumn).
    table_columns: tuple = ()
    # Account roll-ups: the leads table maps each lead to an account ([columns] account_id).
    accounts: bool = False
    # The values of the categorical and numeric profile fields (job title, company size,
    # ...), each seen only once given (TableColumn, without has_: information has it).
    profile_columns: tuple = ()

    @classmethod
    def from_config(
        cls,
        features: FeatureConfig,
        taxonomy: Taxonomy,
        lead_columns: Iterable[str] = (),
        accounts: bool = False,
    ) -> FeatureSpec:
        """Per-type counts for every event type the taxonomy knows; the profile
        fields of ``features.profile_fields`` that the leads table has; account
        roll-ups with ``accounts``."""
        if not features.windows_days or any(w <= 0 for w in features.windows_days):
            raise ValueError(f"windows_days must be positive, got {features.windows_days}")
        columns = set(lead_columns)
        ordered = [t for c in EVENT_CLASSES for t in taxonomy.types_of(c)]
        return cls(
            event_types=tuple(ordered),
            windows_days=tuple(sorted(set(features.windows_days))),
            decay_half_life_days=float(features.decay_half_life_days),
            profile_fields=tuple(f for f in features.profile_fields if f in columns),
            free_email_domains=tuple(d.lower() for d in features.free_email_domains),
            missing_values=features.placeholders(),
            accounts=accounts,
        )

    @classmethod
    def from_dict(cls, table: dict) -> FeatureSpec:
        """Rebuild a spec stored in a model's metadata."""
        return cls(
            event_types=tuple(table["event_types"]),
            windows_days=tuple(table["windows_days"]),
            decay_half_life_days=float(table["decay_half_life_days"]),
            profile_fields=tuple(table["profile_fields"]),
            free_email_domains=tuple(table["free_email_domains"]),
            missing_values=tuple(table.get("missing_values", ())),
            table_columns=TableSpec.from_dict(
                {"columns": table.get("table_columns", ()), "missing_values": ()}
            ).columns,
            accounts=bool(table.get("accounts", False)),
            profile_columns=TableSpec.from_dict(
                {"columns": table.get("profile_columns", ()), "missing_values": ()}
            ).columns,
        )

    def table_spec(self) -> TableSpec:
        """The encoding of the leads table's other columns (no field counts: ours do that)."""
        return self._table_spec

    # Cached: reasons ask for every feature of every lead whether it is a table feature.
    @cached_property
    def _table_spec(self) -> TableSpec:
        return TableSpec(tuple(self.table_columns), self.missing_values, information=False)

    @cached_property
    def profile_spec(self) -> TableSpec:
        """The encoding of the profile fields' values."""
        return TableSpec(tuple(self.profile_columns), self.missing_values, information=False)

    @cached_property
    def columns_spec(self) -> TableSpec:
        """The encoding of every leads-table column whose value is a feature (the other
        columns and the profile values), to say those features back in the table's words."""
        columns = (*self.table_columns, *self.profile_columns)
        return TableSpec(columns, self.missing_values, information=False)

    @cached_property
    def lead_table_features(self) -> frozenset[str]:
        """The features that encode a leads-table column's value (see ``columns_spec``)."""
        return frozenset(self.names_of("lead_table") + self.names_of("profile"))

    @property
    def window_suffixes(self) -> list[str]:
        return [duration_suffix(w) for w in self.windows_days] + ["all"]

    @property
    def window_pairs(self) -> list[tuple[int, int]]:
        """Consecutive windows (short, long): the trend compares the short one with the
        rest of the long one."""
        return list(zip(self.windows_days[:-1], self.windows_days[1:], strict=True))

    @cached_property
    def meanings(self) -> dict[str, Meaning]:
        """Every feature column, in order, with what it means (made by its family)."""
        found: dict[str, Meaning] = {}
        for family in FEATURE_FAMILIES:
            found.update(FAMILIES[family].meanings(self))
        return found

    @property
    def feature_names(self) -> list[str]:
        """Every feature column, in order."""
        return list(self.meanings)

    def names_of(self, family: str) -> list[str]:
        """The feature columns of one family (see ``FEATURE_FAMILIES``)."""
        if family not in FAMILIES:
            raise ValueError(f"unknown feature family {family!r}; use one of {FEATURE_FAMILIES}")
        return [name for name, meaning in self.meanings.items() if meaning.family == family]

    def family_of(self, feature: str) -> str:
        """The family a feature column belongs to."""
        if feature not in self.meanings:
            raise KeyError(f"{feature!r} is not a feature of this spec")
        return self.meanings[feature].family

    def say(self, feature: str, values: dict[str, float] | tuple[float, ...]) -> Said:
        """A lead's feature in words, by its family, with the raw quantities they quote.

        ``values`` holds the features of ``meanings[feature].reads`` (a mapping, or a
        tuple in that order).

        Examples
        --------
        >>> spec = FeatureSpec(("pricing_page_view",), (7,), 14.0, ("phone",), ())
        >>> spec.say("n_pricing_page_view_7d", {"n_pricing_page_view_7d": 3}).text
        '3 pricing page views in the last 7 days'
        >>> spec.say("has_phone", (0.0,)).text
        'no phone given'
        """
        meaning = self.meanings[feature]
        if not isinstance(values, tuple):
            values = tuple(float(values[name]) for name in meaning.reads)
        return FAMILIES[meaning.family].say(feature, meaning, values, self)


def compute_features(
    events: pd.DataFrame,
    keys: pd.DataFrame,
    spec: FeatureSpec,
    leads: pd.DataFrame | None = None,
    dtype: type = np.float64,
) -> pd.DataFrame:
    """Features of each (lead, cutoff) pair, from events strictly before the cutoff.

    Parameters
    ----------
    events : pandas.DataFrame
        Validated, classified events (``lead_id``, ``timestamp`` UTC,
        ``event_type`` canonical, ``event_class``, ``channel``); events of
        leads not in ``keys`` are ignored.
    keys : pandas.DataFrame
        ``lead_id`` and ``cutoff`` (UTC), one row per snapshot.
    spec : FeatureSpec
    leads : pandas.DataFrame, optional
        Validated leads table: profile fields, ``<field>_provided_at``,
        ``created_at``.
    dtype : numpy float type
        Of the result: each value is computed in float64 and rounded once
        into it, so float32 here equals float64 then ``astype(float32)``.

    Returns
    -------
    pandas.DataFrame
        ``spec.feature_names`` as ``dtype`` columns, indexed like ``keys``.
        Recency features are NaN where there is nothing to measure from.

    Examples
    --------
    >>> from intent_model.io.config import FeatureConfig
    >>> from intent_model.events.taxonomy import load_taxonomy
    >>> spec = FeatureSpec.from_config(FeatureConfig(windows_days=(7,)), load_taxonomy())
    >>> events = pd.DataFrame({"lead_id": ["a", "a"], "event_type": ["page_view"] * 2,
    ...     "event_class": ["engagement"] * 2, "channel": ["web"] * 2,
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-09"], utc=True)})
    >>> keys = pd.DataFrame({"lead_id": ["a"], "cutoff": pd.to_datetime(["2024-01-09"], utc=True)})
    >>> compute_features(events, keys, spec)[["n_page_view_7d", "n_page_view_all"]].values.tolist()
    [[0.0, 1.0]]
    """
    key_leads = keys["lead_id"].astype(object).to_numpy()
    lead_index = pd.Index(pd.unique(key_leads), dtype=object)
    key_code = lead_index.get_indexer(key_leads)
    key_cutoff = _nanoseconds(keys["cutoff"])
    n_leads = len(lead_index)

    lead_code = codes_in(events["lead_id"], lead_index)
    kept = np.flatnonzero(lead_code >= 0)
    timestamp = _nanoseconds(events["timestamp"])[kept]
    lead_code = lead_code[kept]
    order = lead_time_order(lead_code, timestamp, n_leads)
    table = _EventArrays(
        lead=lead_code[order],
        timestamp=timestamp[order],
        type_code=codes_in(events["event_type"], pd.Index(spec.event_types))[kept][order],
        class_code=codes_in(events["event_class"], pd.Index(EVENT_CLASSES))[kept][order],
        any_type_code=_value_codes(events["event_type"])[kept][order],
        channel_code=_value_codes(events["channel"])[kept][order],
    )
    profile = _ProfileArrays.build(leads, lead_index, spec)

    names = spec.feature_names
    # Column-major: each feature is written as one contiguous column.
    out = np.full((len(keys), len(names)), np.nan, dtype=dtype, order="F")
    column = {name: i for i, name in enumerate(names)}
    for cutoff in np.unique(key_cutoff):
        rows = np.flatnonzero(key_cutoff == cutoff)
        per_lead = _features_at(table, profile, spec, int(cutoff), n_leads, key_code[rows])
        every_row = len(rows) == len(keys)  # one cutoff (scoring): no row indexing
        for name, values in per_lead.items():
            if every_row:
                out[:, column[name]] = values
            else:
                out[rows, column[name]] = values
    if spec.profile_columns:
        profile_names = spec.names_of("profile")
        encoded = spec.profile_spec.encode(
            _profile_values_given(leads, keys, spec, profile.given_at[key_code], key_cutoff),
            keys["cutoff"],
        )
        out[:, [column[name] for name in profile_names]] = encoded[profile_names].to_numpy()
    if spec.table_columns:
        table_names = spec.names_of("lead_table")
        encoded = spec.table_spec().encode(lead_rows(leads, keys, spec), keys["cutoff"])
        out[:, [column[name] for name in table_names]] = encoded[table_names].to_numpy()
    return pd.DataFrame(out, columns=names, index=keys.index)


def _profile_values_given(
    leads: pd.DataFrame | None,
    keys: pd.DataFrame,
    spec: FeatureSpec,
    given_at: np.ndarray,
    cutoff: np.ndarray,
) -> pd.DataFrame:
    """Each snapshot's profile values, missing where the lead had not given the field
    before the snapshot's cutoff (``given_at``: per key row and profile field)."""
    wanted = [c.name for c in spec.profile_columns]
    rows = lead_rows(leads, keys, spec, wanted)
    for name in wanted:
        not_yet = given_at[:, spec.profile_fields.index(name)] >= cutoff
        rows[name] = rows[name].astype(object).where(~not_yet)
    return rows


def lead_rows(
    leads: pd.DataFrame | None,
    keys: pd.DataFrame,
    spec: FeatureSpec,
    wanted: list[str] | None = None,
) -> pd.DataFrame:
    """The leads-table columns ``wanted`` (by default those of ``spec.table_columns``)
    for each snapshot's lead (missing for a lead the table lacks)."""
    wanted = [c.name for c in spec.table_columns] if wanted is None else wanted
    if leads is None or leads.empty:
        return pd.DataFrame({name: pd.Series(np.nan, index=keys.index) for name in wanted})
    table = leads.set_index(leads["lead_id"].astype(str))
    table = table[~table.index.duplicated()]
    return table.reindex(keys["lead_id"].astype(str))[wanted].set_axis(keys.index)


@dataclass(frozen=True)
class _EventArrays:
    lead: np.ndarray
    timestamp: np.ndarray
    type_code: np.ndarray
    class_code: np.ndarray
    any_type_code: np.ndarray
    channel_code: np.ndarray

    def subset(self, mask: np.ndarray) -> _EventArrays:
        return _EventArrays(**{k: v[mask] for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class _ProfileArrays:
    given_at: np.ndarray  # (n_leads, n_fields) int64 ns; NEVER / ALWAYS
    created_at: np.ndarray  # (n_leads,) int64 ns; NEVER when unknown
    corporate_email: np.ndarray  # (n_leads,) float: 1 corporate, 0 free, NaN unknown

    @classmethod
    def build(
        cls, leads: pd.DataFrame | None, lead_index: pd.Index, spec: FeatureSpec
    ) -> _ProfileArrays:
        n = len(lead_index)
        given_at = np.full((n, len(spec.profile_fields)), NEVER, dtype=np.int64)
        created_at = np.full(n, NEVER, dtype=np.int64)
        corporate = np.full(n, np.nan)
        if leads is None or leads.empty:
            return cls(given_at, created_at, corporate)
        position = lead_index.get_indexer(leads["lead_id"].astype(object))
        found = position >= 0
        rows = leads.loc[found]
        position = position[found]
        if "created_at" in rows:
            created = _nanoseconds(rows["created_at"], missing=NEVER)
            created_at[position] = created
        fallback = np.where(created_at[position] == NEVER, ALWAYS, created_at[position])
        for j, field in enumerate(spec.profile_fields):
            if field not in rows:
                continue
            present = is_present(rows[field], spec.missing_values)
            when = fallback
            provided_column = f"{field}_provided_at"
            if provided_column in rows:
                provided = _nanoseconds(rows[provided_column], missing=NEVER)
                when = np.where(provided == NEVER, fallback, provided)
            given_at[position, j] = np.where(present, when, NEVER)
        if "email" in spec.profile_fields and "email" in rows:
            free = _free_email(rows["email"], spec.free_email_domains)
            corporate[position] = np.where(
                is_present(rows["email"], spec.missing_values), (~free).astype(float), np.nan
            )
        return cls(given_at, created_at, corporate)


def _free_email(emails: pd.Series, free_domains: tuple[str, ...]) -> np.ndarray:
    """True where the e-mail's domain (after the last @, any case) is a free provider's."""
    domain = pc.utf8_lower(pc.replace_substring_regex(arrow_text(emails), r"^.*@", ""))
    free = pc.is_in(domain, value_set=pa.array(free_domains, pa.string()))
    return np.asarray(pc.fill_null(free, False), dtype=bool)


def _features_at(
    table: _EventArrays,
    profile: _ProfileArrays,
    spec: FeatureSpec,
    cutoff: int,
    n_leads: int,
    key_leads: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every feature at one cutoff for the given lead codes."""
    member = np.zeros(n_leads, dtype=bool)
    member[key_leads] = True
    before = table.subset(member[table.lead] & (table.timestamp < cutoff))
    features: dict[str, np.ndarray] = {}
    for family in PER_CUTOFF:
        features.update(FAMILIES[family].compute(before, profile, spec, cutoff, n_leads, features))
    if len(key_leads) == n_leads and np.array_equal(key_leads, np.arange(n_leads)):
        return features  # every lead in order (scoring): no copy of every feature
    return {name: values[key_leads] for name, values in features.items()}


def lead_time_order(lead: np.ndarray, timestamp: np.ndarray, n_leads: int) -> np.ndarray:
    """The order that sorts events by lead, then time, then position (like ``np.lexsort``).

    Sorting this way makes every per-lead sum run in the same order in any
    chunking. Logs usually arrive in time order, which makes the time sort
    free, and chunks have few enough leads for a 16-bit radix sort.
    """
    by_time = None
    if len(timestamp) > 1 and not np.all(timestamp[1:] >= timestamp[:-1]):
        by_time = np.argsort(timestamp, kind="stable")
    lead_key = lead if by_time is None else lead[by_time]
    if n_leads <= np.iinfo(np.uint16).max + 1:
        lead_key = lead_key.astype(np.uint16)
    order = np.argsort(lead_key, kind="stable")
    return order if by_time is None else by_time[order]


def _value_codes(values: pd.Series) -> np.ndarray:
    """An integer per distinct value (-1 for missing), for counting distinct values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    return pd.factorize(values)[0]


def codes_in(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 when absent); fast for categoricals."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        category_position = index.get_indexer(values.cat.categories.astype(object))
        # Code -1 (missing) picks the appended -1, even when there are no categories.
        return np.append(category_position, -1)[values.cat.codes.to_numpy()]
    return index.get_indexer(values.astype(object))


def _nanoseconds(moments: pd.Series, missing: int = NEVER) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds; NaT becomes ``missing``."""
    as_ns = pd.Series(moments).astype("datetime64[ns, UTC]")
    values = as_ns.array.asi8.copy()
    values[as_ns.isna().to_numpy()] = missing
    return values
