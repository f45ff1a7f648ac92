"""An event log read, validated and classified, with the account of every row.

Notebooks and every CLI command that reads events go through
:func:`load_events`; leads are read by :func:`intent_model.io.load.load_leads`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from intent_model.events.taxonomy import EVENT_CLASSES, Taxonomy, load_taxonomy
from intent_model.io.config import Config
from intent_model.io.load import read_source
from intent_model.io.validate import CheckedTable, check_events


@dataclass(frozen=True)
class EventLog:
    """Validated events with their taxonomy class, and the account of the input.

    Attributes
    ----------
    events : pandas.DataFrame
        ``lead_id``, ``timestamp`` (UTC), ``event_type`` (canonical name),
        ``event_class`` (hard/soft/engagement) and ``channel``, one row per
        accepted input row (the user's other columns are not carried).
    checked : CheckedTable
        Rows read, used and quarantined, with the rejected rows.
    unknown_types : pandas.DataFrame
        Event types the taxonomy did not know (see :meth:`Taxonomy.unknown_report`).
    """

    events: pd.DataFrame
    checked: CheckedTable
    unknown_types: pd.DataFrame


def load_events(
    source: str | Path | pd.DataFrame,
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
) -> EventLog:
    """Read, validate and classify an events table.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A CSV/Parquet file, or a DataFrame already in memory (its columns are
        mapped the same way).
    config : Config, optional
        Column mapping and bad-row policy; defaults apply when omitted.
    taxonomy : Taxonomy, optional
        Defaults to the built-in taxonomy extended by ``config.taxonomy``.

    Returns
    -------
    EventLog

    Raises
    ------
    InputError
        When the file or its rows break the contract (and the policy is ``error``).

    Examples
    --------
    >>> raw = pd.DataFrame({"lead_id": [1, 1], "timestamp": ["2024-01-02", "2024-01-03"],
    ...                     "event_type": ["Page View", "Demo Requested"]})
    >>> load_events(raw).events["event_class"].tolist()
    ['engagement', 'hard']
    """
    config = config or Config()
    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    raw, name, how = read_source(source, config, categorical=("lead_id", "event_type", "channel"))
    checked = check_events(raw, name, config.columns, config.input.on_bad_rows)
    checked = dataclasses.replace(checked, read_as=how)
    classified = taxonomy.classify(checked.frame["event_type"])
    events = checked.frame.assign(
        event_type=classified["event_type"], event_class=classified["event_class"]
    )
    if "channel" not in events:
        events["channel"] = "unknown"
    unknown = taxonomy.unknown_report(checked.frame["event_type"])
    return EventLog(events=events, checked=checked, unknown_types=unknown)


def count_duplicate_events(events: pd.DataFrame) -> int:
    """Rows that repeat an earlier row's lead, timestamp and event type exactly.

    Tracking tags that fire twice make these. They are kept (each counts as an
    event) and counted in every run's report, so that they can be removed at
    the source; all events of a lead share a chunk, so per-chunk counts add up.
    """
    if events.empty:
        return 0
    # On integer codes: hashing three int64 columns is several times faster than
    # hashing the categoricals and datetimes themselves.
    keys = pd.DataFrame(
        {
            "lead": _codes(events["lead_id"]),
            "timestamp": events["timestamp"].array.asi8,
            "event_type": _codes(events["event_type"]),
        }
    )
    return int(keys.duplicated().sum())


def _codes(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    return pd.factorize(values)[0]


def event_mix(events: pd.DataFrame) -> pd.DataFrame:
    """Rows and share of rows per taxonomy class and event type, largest first.

    Parameters
    ----------
    events : pandas.DataFrame
        ``EventLog.events`` (needs ``event_class`` and ``event_type``).
    """
    counts = (
        events.groupby(["event_class", "event_type"], observed=True)
        .size()
        .rename("n_rows")
        .reset_index()
        .sort_values(["event_class", "n_rows"], ascending=[True, False])
    )
    counts["share"] = (counts["n_rows"] / len(events)).round(4)
    return counts.set_index(["event_class", "event_type"])


def empty_events() -> pd.DataFrame:
    """An events table with no rows and the columns and dtypes of ``EventLog.events``."""
    return pd.DataFrame(
        {
            "lead_id": pd.Series([], dtype=object),
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "event_type": pd.Series([], dtype=object),
            "event_class": pd.Categorical([], categories=EVENT_CLASSES),
            "channel": pd.Series([], dtype=object),
        }
    )
