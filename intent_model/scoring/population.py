"""Who is ranked: the leads sales can still win.

Scoring every lead and ranking them all puts the leads that already bought
at the top (they have the most hard conversions), and a sales team reading
tier A would call its own customers. So a lead keeps its row, but is ranked
only when it is open:

* ``converted``: a hard conversion within ``[predict] exclude_converted_days``
  (by default the model's label horizon) before ``as_of``, or, in a lead
  table, the model's label column holding a positive value;
* ``closed``: a column of the leads table holding a value that
  ``[predict] closed_values`` maps to closed (``lead_status = ["Closed - Lost"]``).

Leads created after ``as_of`` did not exist yet: a backfill does not score them;
they are counted, not kept.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from intent_model.table.roles import label_values

OPEN = "open"
CONVERTED = "converted"
CLOSED = "closed"
NOT_YET = "not yet created"


def population_of(
    lead_ids: pd.Series,
    n_events: np.ndarray,
    days_since_last_hard: np.ndarray,
    leads: pd.DataFrame | None,
    as_of: pd.Timestamp,
    *,
    exclude_converted_days: float | None,
    closed_values: Mapping[str, tuple[str, ...]] | None,
    score_all: bool = False,
) -> np.ndarray:
    """The status of each scored lead of an event model, the local and the Spark engine alike.

    ``not yet created`` (created at or after ``as_of``, no event before it: not scored),
    else ``open`` with ``score_all``, else as :func:`status_of_leads` says.
    """
    rows = None
    if leads is not None:
        rows = leads.set_index(leads["lead_id"].astype(str)).reindex(lead_ids.astype(str))
    status = status_of_leads(
        len(lead_ids),
        days_since_last_hard=days_since_last_hard,
        exclude_converted_days=exclude_converted_days,
        rows=rows,
        closed_values=closed_values,
        score_all=score_all,
    )
    if rows is not None and "created_at" in rows:
        later = (rows["created_at"] >= as_of).fillna(False).to_numpy(dtype=bool)
        status[later & (np.asarray(n_events) == 0)] = NOT_YET
    return status


def status_of_leads(
    n_leads: int,
    *,
    days_since_last_hard: np.ndarray | None = None,
    exclude_converted_days: float | None = None,
    label: pd.Series | None = None,
    rows: pd.DataFrame | None = None,
    closed_values: Mapping[str, tuple[str, ...]] | None = None,
    score_all: bool = False,
) -> np.ndarray:
    """``open``, ``converted`` or ``closed`` for each lead (aligned arrays and rows).

    Parameters
    ----------
    n_leads : int
    days_since_last_hard : numpy.ndarray, optional
        Days from each lead's latest hard conversion to ``as_of`` (NaN: none).
    exclude_converted_days : float, optional
        A hard conversion at most this many days before ``as_of`` means converted.
    label : pandas.Series, optional
        The model's label column, as the scoring file has it: a positive value
        means converted; anything that is not a label value is ignored.
    rows : pandas.DataFrame, optional
        The leads table's row of each lead (missing where it has none).
    closed_values : mapping, optional
        Column -> the values (any case, stripped) that mean the lead is closed.
    score_all : bool
        Every lead open (``--score all``).

    Examples
    --------
    >>> status_of_leads(3, days_since_last_hard=np.array([2.0, np.nan, 40.0]),
    ...                 exclude_converted_days=30).tolist()
    ['converted', 'open', 'open']
    """
    status = np.full(n_leads, OPEN, dtype=object)
    if score_all:
        return status
    if rows is not None and closed_values:
        for column, values in closed_values.items():
            if column not in rows:
                continue
            keys = rows[column].astype("string").str.strip().str.casefold()
            wanted = {str(v).strip().casefold() for v in values}
            status[keys.isin(wanted).fillna(False).to_numpy(dtype=bool)] = CLOSED
    if days_since_last_hard is not None and exclude_converted_days is not None:
        recent = np.nan_to_num(days_since_last_hard, nan=np.inf) <= exclude_converted_days
        status[recent] = CONVERTED
    if label is not None:
        # Anything that is not a label value is ignored here, not refused: scoring reads
        # the column only to leave out who already converted.
        status[(label_values(label) == 1).to_numpy(dtype=bool)] = CONVERTED
    return status


def describe_population(status: pd.Series, n_not_yet_created: int, days: float | None) -> list[str]:
    """Lines for the scoring summary: who was not ranked, and why."""
    lines = []
    n_converted = int((status == CONVERTED).sum())
    n_closed = int((status == CLOSED).sum())
    if n_converted:
        within = f" in the last {days:g} days" if days is not None else ""
        lines.append(
            f"{n_converted:,} lead(s) already converted{within}: kept with intent = converted, "
            "not ranked (--score all ranks them)"
        )
    if n_closed:
        lines.append(
            f"{n_closed:,} lead(s) closed ([predict] closed_values): kept with intent = closed, "
            "not ranked"
        )
    if n_not_yet_created:
        lines.append(
            f"{n_not_yet_created:,} lead(s) created after as_of were not scored (they did not "
            "exist yet)"
        )
    return lines
