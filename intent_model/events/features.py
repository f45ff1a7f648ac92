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

from intent_model.events.taxonomy import EVENT_CLASSES, Taxonomy
from intent_model.io.config import FeatureConfig
from intent_model.io.validate import arrow_text, is_present
from intent_model.table.encoding import TableSpec

DAY_NS = 86_400 * 10**9
CHANGE_CLASSES = (*EVENT_CLASSES, "events")
NEVER = np.iinfo(np.int64).max
ALWAYS = np.iinfo(np.int64).min
ACTIVITY_TREND_DAYS = (7, 30)

FEATURE_FAMILIES = (
    "information",
    "profile",
    "counts",
    "recency",
    "intensity",
    "diversity",
    "decay",
    "change",
    "account",
    "lead_table",
)
# Pseudo-events in the rates compared by the change features, so that quiet leads sit
# at a finite value near zero instead of at an undefined ratio.
PSEUDO_EVENTS = 0.5


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
        return [f"{w}d" for w in self.windows_days] + ["all"]

    @property
    def window_pairs(self) -> list[tuple[int, int]]:
        """Consecutive windows (short, long): the trend compares the short one with the
        rest of the long one."""
        return list(zip(self.windows_days[:-1], self.windows_days[1:], strict=True))

    @property
    def feature_names(self) -> list[str]:
        """Every feature column, in order."""
        return [name for family in FEATURE_FAMILIES for name in self.names_of(family)]

    def names_of(self, family: str) -> list[str]:
        """The feature columns of one family (see ``FEATURE_FAMILIES``)."""
        suffixes = self.window_suffixes
        if family == "information":
            if not self.profile_fields:
                return []
            names = [f"has_{f}" for f in self.profile_fields]
            names += ["n_fields_provided", "share_fields_provided"]
            return names + (["email_is_corporate"] if "email" in self.profile_fields else [])
        if family == "profile":
            return self.profile_spec.feature_names if self.profile_columns else []
        if family == "counts":
            names = [f"n_{t}_{s}" for t in self.event_types for s in suffixes]
            names += [f"n_{c}_{s}" for c in EVENT_CLASSES for s in suffixes]
            return names + [f"n_events_{s}" for s in suffixes] + ["n_unknown_type_events_all"]
        if family == "recency":
            names = ["days_since_first_event", "days_since_last_event"]
            return names + [f"days_since_last_{c}" for c in EVENT_CLASSES] + ["days_since_created"]
        if family == "intensity":
            names = [f"n_active_days_{s}" for s in suffixes]
            return names + ["events_per_active_day", "trend_7d_vs_prior_30d"]
        if family == "diversity":
            return ["n_distinct_event_types", "n_distinct_channels"]
        if family == "decay":
            return [f"decayed_{c}_events" for c in EVENT_CLASSES] + ["decayed_events_total"]
        if family == "change":
            rates = [f"rate_vs_usual_{c}_{w}d" for c in CHANGE_CLASSES for w in self.windows_days]
            return rates + [
                f"trend_{c}_{short}d_vs_prior_{long - short}d"
                for c in CHANGE_CLASSES
                for short, long in self.window_pairs
            ]
        if family == "account":
            if not self.accounts:
                return []
            names = ["account_contacts"]
            names += [f"account_active_contacts_{w}d" for w in self.windows_days]
            names += [f"account_n_{t}_{s}" for t in self.event_types for s in suffixes]
            names += [f"account_n_{c}_{s}" for c in EVENT_CLASSES for s in suffixes]
            names += [f"account_days_since_last_{c}" for c in EVENT_CLASSES]
            return names + ["account_decayed_events_total"]
        if family == "lead_table":
            return self.table_spec().feature_names if self.table_columns else []
        raise ValueError(f"unknown feature family {family!r}; use one of {FEATURE_FAMILIES}")

    def family_of(self, feature: str) -> str:
        """The family a feature column belongs to."""
        for family in FEATURE_FAMILIES:
            if feature in self.names_of(family):
                return family
        raise KeyError(f"{feature!r} is not a feature of this spec")


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


def add_account_features(
    X: pd.DataFrame, keys: pd.DataFrame, account_of: pd.Series, spec: FeatureSpec
) -> pd.DataFrame:
    """Fill the account roll-ups of ``X``: for each snapshot, what the *other* contacts of
    its lead's account did before the same cutoff.

    The roll-ups add up the colleagues' own point-in-time features at the
    snapshot's cutoff, so they see nothing at or after it either. Colleagues
    are the leads of the same account among ``keys`` at that cutoff (every
    lead known by then, unless a population rule left some out). A lead
    without an account has no colleagues: zero counts, unknown recency.

    Parameters
    ----------
    X : pandas.DataFrame
        Features of ``keys`` (rows aligned), with the account columns to fill.
    keys : pandas.DataFrame
        ``lead_id`` and ``cutoff`` per row.
    account_of : pandas.Series
        Account id per lead id (index); missing or blank: no account.
    spec : FeatureSpec

    Returns
    -------
    pandas.DataFrame
        ``X`` with ``spec.names_of("account")`` filled (a new frame).
    """
    names = spec.names_of("account")
    if not names or not len(X):
        return X
    account = pd.Series(keys["lead_id"].astype(object).to_numpy()).map(account_of)
    account = account.where(account.astype(str).str.strip().ne("") & account.notna())
    group = pd.MultiIndex.from_arrays(
        [account.to_numpy(dtype=object), _nanoseconds(keys["cutoff"])]
    )
    group_code = np.where(account.isna(), -1, pd.factorize(group)[0])
    sums = {"account_contacts": np.ones(len(X))}
    sums |= {
        f"account_active_contacts_{w}d": (X[f"n_events_{w}d"].to_numpy() > 0).astype(float)
        for w in spec.windows_days
    }
    # Per type as well as per class: which pages the colleagues read tells the account's
    # stage as a lead's own per-type counts tell its own.
    for what in (*spec.event_types, *EVENT_CLASSES):
        for suffix in spec.window_suffixes:
            sums[f"account_n_{what}_{suffix}"] = X[f"n_{what}_{suffix}"].to_numpy(dtype=float)
    sums["account_decayed_events_total"] = X["decayed_events_total"].to_numpy(dtype=float)
    filled = {name: _sum_of_others(values, group_code) for name, values in sums.items()}
    for c in EVENT_CLASSES:
        filled[f"account_days_since_last_{c}"] = _min_of_others(
            X[f"days_since_last_{c}"].to_numpy(dtype=float), group_code
        )
    X = X.copy()
    for name in names:
        X[name] = filled[name].astype(X[name].dtype)
    return X


def _sum_of_others(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row: the sum of ``values`` over the other rows of its group (0 without a group)."""
    grouped = group >= 0
    totals = np.bincount(group[grouped], weights=values[grouped], minlength=group.max() + 2)
    return np.where(grouped, totals[np.maximum(group, 0)] - values, 0.0)


def _min_of_others(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row: the least of ``values`` over the other rows of its group, NaN ignored (NaN
    when there is none)."""
    rows = np.flatnonzero(group >= 0)
    result = np.full(len(values), np.nan)
    if not len(rows):
        return result
    value = np.where(np.isnan(values[rows]), np.inf, values[rows])
    order = np.lexsort((value, group[rows]))
    sorted_group, sorted_value = group[rows][order], value[order]
    # Sorted by group then value: a group's first row is its least; for that row the
    # least of the others is the group's second row, for every other row the first.
    first = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
    starts = np.flatnonzero(first)
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    following = np.minimum(group_start + 1, len(order) - 1)
    has_second = (group_start + 1 < len(order)) & (sorted_group[following] == sorted_group)
    second = np.where(has_second, sorted_value[following], np.inf)
    others = np.where(first, second, sorted_value[group_start])
    result[rows[order]] = np.where(np.isfinite(others), others, np.nan)
    return result


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
    features.update(_information(profile, spec, cutoff))
    features.update(_counts(before, spec, cutoff, n_leads))
    features.update(_recency(before, profile, cutoff, n_leads))
    features.update(_intensity(before, spec, cutoff, n_leads, features))
    features.update(_diversity(before, n_leads))
    features.update(_decay(before, spec, cutoff, n_leads))
    features.update(_change(features, spec))
    if len(key_leads) == n_leads and np.array_equal(key_leads, np.arange(n_leads)):
        return features  # every lead in order (scoring): no copy of every feature
    return {name: values[key_leads] for name, values in features.items()}


def _information(profile: _ProfileArrays, spec: FeatureSpec, cutoff: int) -> dict:
    if not spec.profile_fields:
        return {}
    has = profile.given_at < cutoff
    features = {f"has_{f}": has[:, j].astype(float) for j, f in enumerate(spec.profile_fields)}
    n_given = has.sum(axis=1).astype(float)
    features["n_fields_provided"] = n_given
    features["share_fields_provided"] = n_given / len(spec.profile_fields)
    if "email" in spec.profile_fields:
        has_email = has[:, spec.profile_fields.index("email")]
        features["email_is_corporate"] = np.where(has_email, profile.corporate_email, np.nan)
    return features


def _window_starts(spec: FeatureSpec, cutoff: int) -> list[tuple[str, int]]:
    """(suffix, earliest timestamp) per window: "last 7 days" is ``[cutoff - 7d, cutoff)``."""
    starts = [(f"{w}d", cutoff - w * DAY_NS) for w in spec.windows_days]
    return [*starts, ("all", ALWAYS)]


def _counts(before: _EventArrays, spec: FeatureSpec, cutoff: int, n_leads: int) -> dict:
    n_types, n_classes = len(spec.event_types), len(EVENT_CLASSES)
    features = {}
    for suffix, start in _window_starts(spec, cutoff):
        inside = before.timestamp >= start
        known = inside & (before.type_code >= 0)
        by_type = np.bincount(
            before.lead[known] * n_types + before.type_code[known], minlength=n_leads * n_types
        ).reshape(n_leads, n_types)
        for j, event_type in enumerate(spec.event_types):
            features[f"n_{event_type}_{suffix}"] = by_type[:, j].astype(float)
        by_class = np.bincount(
            before.lead[inside] * n_classes + before.class_code[inside],
            minlength=n_leads * n_classes,
        ).reshape(n_leads, n_classes)
        for j, event_class in enumerate(EVENT_CLASSES):
            features[f"n_{event_class}_{suffix}"] = by_class[:, j].astype(float)
        features[f"n_events_{suffix}"] = by_class.sum(axis=1).astype(float)
    unknown = before.type_code < 0
    features["n_unknown_type_events_all"] = np.bincount(
        before.lead[unknown], minlength=n_leads
    ).astype(float)
    return features


def _first_and_last(lead: np.ndarray, timestamp: np.ndarray, n_leads: int) -> tuple:
    """First and last timestamp per lead of arrays sorted by (lead, time); NaN-free ints."""
    first = np.full(n_leads, NEVER, dtype=np.int64)
    last = np.full(n_leads, NEVER, dtype=np.int64)
    if len(lead):
        starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]])
        ends = np.r_[starts[1:], len(lead)] - 1
        first[lead[starts]] = timestamp[starts]
        last[lead[ends]] = timestamp[ends]
    return first, last


def _days_since(moment: np.ndarray, cutoff: int) -> np.ndarray:
    unknown = moment == NEVER
    days = (cutoff - np.where(unknown, cutoff, moment)) / DAY_NS
    return np.where(unknown, np.nan, days)


def _recency(before: _EventArrays, profile: _ProfileArrays, cutoff: int, n_leads: int) -> dict:
    first, last = _first_and_last(before.lead, before.timestamp, n_leads)
    features = {
        "days_since_first_event": _days_since(first, cutoff),
        "days_since_last_event": _days_since(last, cutoff),
    }
    for j, event_class in enumerate(EVENT_CLASSES):
        of_class = before.class_code == j
        _, last_of_class = _first_and_last(
            before.lead[of_class], before.timestamp[of_class], n_leads
        )
        features[f"days_since_last_{event_class}"] = _days_since(last_of_class, cutoff)
    created = np.where(profile.created_at < cutoff, profile.created_at, NEVER)
    # Without a known creation time before the cutoff, the first event is the creation.
    created = np.where(created == NEVER, first, np.minimum(created, first))
    features["days_since_created"] = _days_since(created, cutoff)
    return features


def _active_days(lead: np.ndarray, timestamp: np.ndarray, n_leads: int) -> np.ndarray:
    """Distinct UTC calendar days with an event, per lead (arrays sorted by lead, time)."""
    day = timestamp // DAY_NS
    new_day = np.r_[True, (lead[1:] != lead[:-1]) | (day[1:] != day[:-1])] if len(lead) else []
    return np.bincount(lead, weights=np.asarray(new_day, dtype=float), minlength=n_leads)


def _intensity(
    before: _EventArrays, spec: FeatureSpec, cutoff: int, n_leads: int, counts: dict
) -> dict:
    features = {}
    for suffix, start in _window_starts(spec, cutoff):
        inside = before.timestamp >= start
        features[f"n_active_days_{suffix}"] = _active_days(
            before.lead[inside], before.timestamp[inside], n_leads
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        features["events_per_active_day"] = counts["n_events_all"] / features["n_active_days_all"]
    recent_days, prior_days = ACTIVITY_TREND_DAYS
    recent_start = cutoff - recent_days * DAY_NS
    prior_start = recent_start - prior_days * DAY_NS
    recent = np.bincount(before.lead[before.timestamp >= recent_start], minlength=n_leads)
    prior_mask = (before.timestamp >= prior_start) & (before.timestamp < recent_start)
    prior = np.bincount(before.lead[prior_mask], minlength=n_leads)
    # Events per day in the last 7 days over events per day in the 30 before,
    # with one pseudo-event each so that quiet leads sit at a finite value.
    features["trend_7d_vs_prior_30d"] = ((recent + 1) / recent_days) / ((prior + 1) / prior_days)
    return features


def _distinct_per_lead(lead: np.ndarray, code: np.ndarray, n_leads: int) -> np.ndarray:
    valid = code >= 0
    width = int(code.max(initial=0)) + 1
    pairs = np.unique(lead[valid].astype(np.int64) * width + code[valid])
    return np.bincount(pairs // width, minlength=n_leads).astype(float)


def _diversity(before: _EventArrays, n_leads: int) -> dict:
    return {
        "n_distinct_event_types": _distinct_per_lead(before.lead, before.any_type_code, n_leads),
        "n_distinct_channels": _distinct_per_lead(before.lead, before.channel_code, n_leads),
    }


def _decay(before: _EventArrays, spec: FeatureSpec, cutoff: int, n_leads: int) -> dict:
    age_days = (cutoff - before.timestamp) / DAY_NS
    weight = np.exp2(-age_days / spec.decay_half_life_days)
    n_classes = len(EVENT_CLASSES)
    by_class = np.bincount(
        before.lead * n_classes + before.class_code, weights=weight, minlength=n_leads * n_classes
    ).reshape(n_leads, n_classes)
    features = {f"decayed_{c}_events": by_class[:, j] for j, c in enumerate(EVENT_CLASSES)}
    features["decayed_events_total"] = np.bincount(before.lead, weights=weight, minlength=n_leads)
    return features


def _change(features: dict, spec: FeatureSpec) -> dict:
    """Interest against the lead's own habit: the log of its event rate in each recent
    window over its usual rate (all events over its tenure), and the log of the rate in
    each short window over the rate in the rest of the next longer one (warming up or
    cooling down). Zero means "as usual"; both are blind to how active a lead always is."""
    tenure = np.nan_to_num(features["days_since_created"], nan=0.0)
    changes = {}
    for c in CHANGE_CLASSES:
        usual = np.log(
            (features[f"n_{c}_all"] + PSEUDO_EVENTS) / np.maximum(tenure, spec.windows_days[-1])
        )
        for w in spec.windows_days:
            recent = np.log((features[f"n_{c}_{w}d"] + PSEUDO_EVENTS) / w)
            changes[f"rate_vs_usual_{c}_{w}d"] = recent - usual
        for short, long in spec.window_pairs:
            inside, outside = features[f"n_{c}_{short}d"], features[f"n_{c}_{long}d"]
            earlier = (outside - inside + PSEUDO_EVENTS) / (long - short)
            changes[f"trend_{c}_{short}d_vs_prior_{long - short}d"] = np.log(
                (inside + PSEUDO_EVENTS) / short
            ) - np.log(earlier)
    return changes


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
