"""Snapshots and labels: which (lead, cutoff) pairs we learn from, and what each one's answer is.

A training row is a lead at a cutoff. The lead is in the population once it
exists (its first event, or its ``created_at``, is before the cutoff). Its
label is 1 when it makes a hard conversion in ``[cutoff, cutoff + horizon)``:
an event exactly at the cutoff counts, one exactly at ``cutoff + horizon``
does not. Cutoffs slide over the data; the last one is at least one horizon
before the end of the data, so that every label is complete.

Pure functions over DataFrames; no I/O.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intent_model.errors import InputError
from intent_model.events.chunks import LeadTimeline
from intent_model.io.config import LabelConfig
from intent_model.io.validate import as_utc, parse_timestamps
from intent_model.table.roles import BLANK_IS_UNLABELLED, parse_label
from intent_model.words import duration

DAY = pd.Timedelta(days=1)


class FutureFeaturesWarning(UserWarning):
    """Features may see events after the moment the label was decided."""


def make_cutoffs(
    first_event: pd.Timestamp, last_event: pd.Timestamp, labels: LabelConfig
) -> pd.DatetimeIndex:
    """Cutoffs sliding over the data: month starts, or every ``step_days``.

    The first is at least ``min_history_days`` after the first event; the last
    leaves a whole horizon before the last event. ``step_days = "auto"`` is
    month starts here: :func:`choose_cadence` resolves it from the data first.

    Examples
    --------
    >>> make_cutoffs(pd.Timestamp("2024-01-10", tz="UTC"), pd.Timestamp("2024-07-20", tz="UTC"),
    ...              LabelConfig()).strftime("%Y-%m-%d").tolist()
    ['2024-04-01', '2024-05-01', '2024-06-01']
    >>> make_cutoffs(pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-04", tz="UTC"),
    ...              LabelConfig(horizon_days="1d", min_history_days="1d", step_days="12h")
    ...              ).strftime("%d %Hh").tolist()
    ['02 00h', '02 12h', '03 00h']
    """
    if labels.horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {labels.horizon_days}")
    start = first_event + labels.min_history_days * DAY
    end = last_event - labels.horizon_days * DAY
    if labels.first_cutoff:
        start = max(start, as_utc(labels.first_cutoff))
    if labels.last_cutoff:
        end = min(end, as_utc(labels.last_cutoff))
    if end < start:
        return pd.DatetimeIndex([], tz="UTC")
    step = labels.step_days
    if isinstance(step, int | float) and step > 0:
        # Cutoffs on whole days, or on whole hours for a cadence shorter than a day.
        return pd.date_range(start.ceil("D" if step >= 1 else "h"), end, freq=step * DAY)
    return pd.date_range(start.ceil("D"), end, freq="MS")


# "auto" keeps month starts while they give at least this many positive development
# snapshots; below it, finer cadences add rows where they are scarce (docs/training.md).
AUTO_MIN_POSITIVES = 1_000
# Below month starts "auto" tries the horizon, its half and its quarter: closer snapshots
# of a lead share most of their label window and add little that is new.
AUTO_SHARES = (1, 2, 4)


@dataclass(frozen=True)
class Cadence:
    """The snapshot cadence used, how it was chosen, and the counts it was chosen on.

    Attributes
    ----------
    step : float or "month"
        Days between cutoffs, or month starts.
    chosen_by : "config" or "auto"
    candidates : pandas.DataFrame
        With "auto": per cadence tried, ``cadence``, ``cutoffs``,
        ``development_cutoffs`` and ``development_positives`` (counted from the
        event log before the population rules), coarsest first.
    """

    step: float | str
    chosen_by: str
    candidates: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return cadence_name(self.step)

    def labels(self, labels: LabelConfig) -> LabelConfig:
        """``labels`` with this cadence fixed."""
        return dataclasses.replace(labels, step_days=self.step)

    def describe(self) -> str:
        """One line: the cadence, and with "auto" the figures that chose it."""
        if self.chosen_by == "config":
            return f"snapshots {self.name} ([labels] step_days)"
        tried = "; ".join(
            f"{row.cadence}: {row.development_positives:,} positive in "
            f"{row.development_cutoffs} development cutoffs"
            for row in self.candidates.itertuples(index=False)
        )
        return (
            f'snapshots {self.name}, chosen from the log (step_days = "auto": the coarsest '
            f"cadence with {AUTO_MIN_POSITIVES:,} positive development snapshots, else the "
            f"one with most; {tried}); set [labels] step_days to fix it"
        )


def cadence_name(step: float | str) -> str:
    """``every 15 days``, ``every 6 hours``, ``at month starts``."""
    if step in ("month", "auto", 0):
        return "at month starts"
    return f"every {duration(step)}"


def choose_cadence(
    timeline: LeadTimeline | None,
    first_event: pd.Timestamp,
    last_event: pd.Timestamp,
    labels: LabelConfig,
    holdout_cutoffs: int,
    min_cutoffs: int,
) -> Cadence:
    """The snapshot cadence: the config's, or with ``step_days = "auto"`` the coarsest of
    month starts, the horizon, its half and its quarter that gives
    :data:`AUTO_MIN_POSITIVES` positive snapshots on at least ``min_cutoffs``
    development cutoffs; failing that, the one that gives most.

    Positives are counted from the timeline (a lead is in at a cutoff after its
    first event; positive with a hard conversion in the horizon after it), on
    the cutoffs that out-of-time evaluation leaves for development.
    """
    step = labels.step_days
    if step != "auto":
        return Cadence("month" if step in ("month", 0) else step, "config")
    if timeline is None:
        return Cadence("month", "config")
    horizon = labels.horizon_days
    finer = sorted({_rounded(horizon / share) for share in AUTO_SHARES if horizon / share < 28})[
        ::-1
    ]
    rows = []
    for candidate in ("month", *finer):
        cutoffs = make_cutoffs(
            first_event, last_event, dataclasses.replace(labels, step_days=candidate)
        )
        development, _ = split_cutoffs(cutoffs, holdout_cutoffs, horizon)
        rows.append(
            {
                "cadence": cadence_name(candidate),
                "step": candidate,
                "cutoffs": len(cutoffs),
                "development_cutoffs": len(development),
                "development_positives": _positives(timeline, development, horizon),
            }
        )
    table = pd.DataFrame(rows)
    enough = table[
        (table["development_positives"] >= AUTO_MIN_POSITIVES)
        & (table["development_cutoffs"] >= min_cutoffs)
    ]
    chosen = enough.iloc[0] if len(enough) else table.loc[table["development_positives"].idxmax()]
    step = chosen["step"]
    return Cadence(step if step == "month" else float(step), "auto", table.drop(columns="step"))


def _rounded(days: float) -> float:
    """Whole days from two days on, else whole hours (at least one)."""
    return float(round(days)) if days >= 2 else max(round(days * 24), 1) / 24


def split_cutoffs(
    cutoffs: pd.DatetimeIndex, holdout_cutoffs: int, horizon_days: float
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(development, held out) of sorted cutoffs: the latest ``holdout_cutoffs`` are held
    out, and development ends a whole horizon before the first of them."""
    held = cutoffs[-holdout_cutoffs:]
    if len(held) == 0:
        return cutoffs, held
    return cutoffs[cutoffs <= held[0] - pd.Timedelta(days=horizon_days)], held


def _positives(timeline: LeadTimeline, cutoffs: pd.DatetimeIndex, horizon_days: float) -> int:
    horizon_ns = round(horizon_days * DAY.value)
    known = timeline.hard_time
    entered = timeline.first_seen[timeline.hard_lead]
    total = 0
    for cutoff in cutoffs.asi8:
        hit = (known >= cutoff) & (known < cutoff + horizon_ns) & (entered < cutoff)
        total += len(np.unique(timeline.hard_lead[hit]))
    return total


def population(first_seen: pd.Series, cutoffs: pd.DatetimeIndex) -> pd.DataFrame:
    """Every (lead, cutoff) pair where the lead exists before the cutoff.

    Parameters
    ----------
    first_seen : pandas.Series
        Indexed by ``lead_id``: the earlier of its first event and its
        ``created_at``. NaT means unknown: such a lead is never in a training
        population, since nothing places it in time.
    cutoffs : pandas.DatetimeIndex

    Returns
    -------
    pandas.DataFrame
        ``lead_id`` and ``cutoff``, sorted by cutoff, then lead.
    """
    known = first_seen.dropna().sort_index()
    seen = known.astype("datetime64[ns, UTC]").array.asi8
    frames = [
        pd.DataFrame({"lead_id": known.index[seen < cutoff.value], "cutoff": cutoff})
        for cutoff in cutoffs
    ]
    if not frames:
        return pd.DataFrame(
            {"lead_id": pd.Series([], dtype=object), "cutoff": pd.DatetimeIndex([], tz="UTC")}
        )
    keys = pd.concat(frames, ignore_index=True)
    return keys.astype({"lead_id": object, "cutoff": "datetime64[ns, UTC]"})


def next_event_after(keys: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """For each key, the first event of its lead at or after its cutoff (NaT if none)."""
    return _asof(keys, events, direction="forward", allow_exact_matches=True)


def last_event_before(keys: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """For each key, the last event of its lead strictly before its cutoff (NaT if none)."""
    return _asof(keys, events, direction="backward", allow_exact_matches=False)


def _asof(keys: pd.DataFrame, events: pd.DataFrame, **how) -> pd.Series:
    left = pd.DataFrame(
        {
            "lead_id": keys["lead_id"].astype(object).to_numpy(),
            "cutoff": keys["cutoff"].astype("datetime64[ns, UTC]").array,
            "row": np.arange(len(keys)),
        }
    ).sort_values("cutoff", kind="stable")
    right = pd.DataFrame(
        {
            "lead_id": events["lead_id"].astype(object).to_numpy(),
            "cutoff": events["timestamp"].astype("datetime64[ns, UTC]").array,
        }
    ).sort_values("cutoff", kind="stable")
    right["event_time"] = right["cutoff"]
    matched = pd.merge_asof(left, right, on="cutoff", by="lead_id", **how)
    found = matched.sort_values("row")["event_time"].array
    return pd.Series(found, index=keys.index).astype("datetime64[ns, UTC]")


def label_snapshots(keys: pd.DataFrame, hard_events: pd.DataFrame, horizon_days: int) -> pd.Series:
    """1 when the lead makes a hard conversion in ``[cutoff, cutoff + horizon_days)``.

    Parameters
    ----------
    keys : pandas.DataFrame
        ``lead_id``, ``cutoff``.
    hard_events : pandas.DataFrame
        ``lead_id``, ``timestamp`` of hard conversions only.
    horizon_days : int

    Returns
    -------
    pandas.Series
        int8 labels, indexed like ``keys``.
    """
    following = next_event_after(keys, hard_events)
    window_end = keys["cutoff"] + horizon_days * DAY
    label = following.notna() & (following < window_end)
    return label.astype(np.int8).rename("label")


def keep_by_population_rules(
    keys: pd.DataFrame, labels: pd.Series, hard_events: pd.DataFrame, config: LabelConfig
) -> np.ndarray:
    """Which snapshots the population options keep (a boolean mask over ``keys``).

    ``exclude_recent_hard_days``: leave out a lead at a cutoff when it made a
    hard conversion in the days just before (it has already shown intent).
    ``stop_after_first_positive``: keep a lead's snapshots up to and including
    its first positive one.
    """
    keep = np.ones(len(keys), dtype=bool)
    if config.exclude_recent_hard_days > 0:
        previous = last_event_before(keys, hard_events)
        recent = previous.notna() & (
            previous >= keys["cutoff"] - config.exclude_recent_hard_days * DAY
        )
        keep &= ~recent.to_numpy()
    if config.stop_after_first_positive:
        order = np.lexsort((keys["cutoff"].array.asi8, keys["lead_id"].astype(str).to_numpy()))
        ordered = pd.DataFrame(
            {"lead_id": keys["lead_id"].to_numpy()[order], "label": labels.to_numpy()[order]}
        )
        positives_before = (
            ordered.groupby("lead_id", sort=False)["label"].cumsum() - ordered["label"]
        )
        after_first = np.empty(len(keys), dtype=bool)
        after_first[order] = positives_before.to_numpy() > 0
        keep &= ~after_first
    return keep


def label_rate_per_cutoff(keys: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Snapshots, positives and the label rate at each cutoff."""
    frame = pd.DataFrame({"cutoff": keys["cutoff"].to_numpy(), "label": labels.to_numpy()})
    rates = frame.groupby("cutoff")["label"].agg(n_snapshots="size", n_positive="sum")
    rates["label_rate"] = rates["n_positive"] / rates["n_snapshots"]
    return rates.reset_index()


def crm_labels(
    leads: pd.DataFrame, config: LabelConfig, data_end: pd.Timestamp, source: str = "<leads>"
) -> tuple[pd.DataFrame, pd.Series]:
    """Snapshots from a label column in the leads table (CRM label mode).

    Each labelled lead gives one snapshot at its ``labeled_at`` time, so its
    features see only what happened before the label was decided. Without a
    ``labeled_at`` column the cutoff is ``data_end``, and a
    :class:`FutureFeaturesWarning` says the features may see the future.

    Returns
    -------
    keys : pandas.DataFrame
        ``lead_id``, ``cutoff``.
    labels : pandas.Series
        int8, 1 = hard.
    """
    column = config.label_col
    if column not in leads:
        raise InputError(
            f"{source}: no label column '{column}'; "
            f"columns are {', '.join(map(str, leads.columns))}"
        )
    mapped = parse_label(leads[column], source, column, blank=BLANK_IS_UNLABELLED)
    labelled = ~np.isnan(mapped)
    rows = leads.loc[labelled]
    if config.labeled_at_col in leads:
        labeled_at, problems = parse_timestamps(
            rows[config.labeled_at_col], config.labeled_at_col, allow_missing=True
        )
        for problem in problems:
            if problem.rows.any():
                raise InputError(
                    f"{source}: column '{config.labeled_at_col}' {problem.reason} in "
                    f"{int(problem.rows.sum()):,} row(s)"
                )
        cutoff = labeled_at.fillna(data_end)
    else:
        warnings.warn(
            f"{source}: no '{config.labeled_at_col}' column, so features are built as of the end "
            f"of the data ({data_end}); they may see events after the label was decided and "
            "overstate quality. Add the time each label was decided.",
            FutureFeaturesWarning,
            stacklevel=2,
        )
        cutoff = pd.Series(data_end, index=rows.index)
    keys = pd.DataFrame(
        {"lead_id": rows["lead_id"].astype(object).to_numpy(), "cutoff": cutoff.to_numpy()}
    ).astype({"cutoff": "datetime64[ns, UTC]"})
    return keys, pd.Series(mapped[labelled].astype(np.int8), name="label")
