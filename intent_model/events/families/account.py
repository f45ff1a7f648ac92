"""The account family: what the lead's colleagues (the other contacts of its account) did
before the same cutoff, summed from their own point-in-time features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from intent_model.events.families.activity import count_name, windows
from intent_model.events.families.base import (
    FeatureFamily,
    Meaning,
    Quote,
    Said,
    ago,
    event_noun,
    in_days,
    window_of,
)
from intent_model.events.taxonomy import EVENT_CLASSES
from intent_model.words import counted, duration, duration_suffix, number


class Account(FeatureFamily):
    """Colleagues at the account: how many, how many active, their counts and recency."""

    name = "account"

    def meanings(self, spec) -> dict[str, Meaning]:
        if not spec.accounts:
            return {}
        found = {"account_contacts": self.meaning("account_contacts", ("account_contacts",))}
        for w in spec.windows_days:
            name = f"account_active_contacts_{duration_suffix(w)}"
            found[name] = self.meaning(name, (name,), window=w)
        for what in (*spec.event_types, *EVENT_CLASSES):
            for suffix, days in windows(spec):
                name = f"account_{count_name(what, suffix)}"
                found[name] = self.meaning(f"account_count:{what}", (name,), what=what, window=days)
        for c in EVENT_CLASSES:
            name = f"account_days_since_last_{c}"
            found[name] = self.meaning(name, (name,), what=c)
        found["account_decayed_events_total"] = self.meaning(
            "account_decayed_events_total", ("account_decayed_events_total",), what="events"
        )
        return found

    def say(self, feature, meaning, values, spec) -> Said:
        (value,) = values
        if feature == "account_contacts":
            shown = counted(value, "other contact")
            return Said(
                f"{shown} at the account",
                (Quote("contacts", scope="account", value=value, shown=shown),),
            )
        if feature.startswith("account_active_contacts_"):
            shown = counted(value, "colleague")
            return Said(
                f"{shown} at the account active {in_days(meaning.window)}",
                (
                    Quote(
                        "active_contacts",
                        window=window_of(meaning.window),
                        scope="account",
                        value=value,
                        shown=shown,
                    ),
                ),
            )
        if feature.startswith("account_days_since_last_"):
            noun = event_noun(meaning.what)
            if value != value:
                return Said(
                    f"no {noun} by a colleague at the account yet",
                    (Quote("days_since", meaning.what, scope="account"),),
                )
            shown = ago(value)
            return Said(
                f"a colleague's last {noun} {shown}",
                (Quote("days_since", meaning.what, scope="account", value=value, shown=shown),),
            )
        if feature == "account_decayed_events_total":
            shown = number(round(value, 1))
            return Said(
                f"colleagues' events at the account weighted by age: {shown} (an event counts "
                f"half after {duration(spec.decay_half_life_days)})",
                (Quote("decayed", "events", scope="account", value=value, shown=shown),),
            )
        shown = counted(value, event_noun(meaning.what))
        return Said(
            f"{shown} by colleagues at the account {in_days(meaning.window)}",
            (Quote("count", meaning.what, window_of(meaning.window), "account", value, shown),),
        )


def add_account_features(
    X: pd.DataFrame, keys: pd.DataFrame, account_of: pd.Series, spec
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
    cutoff_ns = pd.Series(keys["cutoff"]).astype("datetime64[ns, UTC]").array.asi8
    group = pd.MultiIndex.from_arrays([account.to_numpy(dtype=object), cutoff_ns])
    group_code = np.where(account.isna(), -1, pd.factorize(group)[0])
    sums = {"account_contacts": np.ones(len(X))}
    sums |= {
        f"account_active_contacts_{duration_suffix(w)}": (
            X[count_name("events", duration_suffix(w))].to_numpy() > 0
        ).astype(float)
        for w in spec.windows_days
    }
    # Per type as well as per class: which pages the colleagues read tells the account's
    # stage as a lead's own per-type counts tell its own.
    for what in (*spec.event_types, *EVENT_CLASSES):
        for suffix, _ in windows(spec):
            name = count_name(what, suffix)
            sums[f"account_{name}"] = X[name].to_numpy(dtype=float)
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
