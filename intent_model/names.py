"""Every column name the package adds to a table that also holds the user's columns.

A user's export may carry any column name: ``source``, ``reason``, ``label``,
``p_hard``, ``Source`` beside ``source``. Two rules keep their columns and ours
apart:

* Frames the pipeline computes on hold only our columns (the contract columns
  after mapping, plus :data:`EVENT_CLASS`); a user's extra event columns are
  never carried into them, so nothing of ours can overwrite theirs.
* Files that hand the user's rows back (the quarantine side files) keep every
  user column as it was and add ours under :func:`unclaimed` names: a fixed
  prefix, lengthened until no user column has the name.

The property tests generate tables whose extra columns take every name in
:data:`INTERNAL_COLUMNS`, so a name added here is tested automatically.
"""

from __future__ import annotations

from collections.abc import Iterable

# The events frame: the contract columns after mapping, and the class we add.
LEAD_ID = "lead_id"
TIMESTAMP = "timestamp"
EVENT_TYPE = "event_type"
CHANNEL = "channel"
EVENT_CLASS = "event_class"
EVENT_COLUMNS = (LEAD_ID, TIMESTAMP, EVENT_TYPE, EVENT_CLASS, CHANNEL)

# Training snapshots and scores.
CUTOFF = "cutoff"
LABEL = "label"
OUTPUT_COLUMNS = (
    "lead_id",
    "as_of",
    "p_hard",
    "intent",
    "score",
    "tier",
    "rank",
    "top_reasons",
    "next_action",
    "model_version",
    "scored_from",
)
TREND = "trend"

# What a quarantine file adds to each rejected row: the file, the row as the
# error message names it ("line 3" in a CSV, "row 1" in Parquet), the column
# at fault and the reason.
QUARANTINE_FILE = "_rejected_file"
QUARANTINE_ROW = "_rejected_row"
QUARANTINE_COLUMN = "_rejected_column"
QUARANTINE_REASON = "_rejected_reason"
QUARANTINE_COLUMNS = (QUARANTINE_FILE, QUARANTINE_ROW, QUARANTINE_COLUMN, QUARANTINE_REASON)

INTERNAL_COLUMNS = tuple(
    dict.fromkeys(
        (
            *EVENT_COLUMNS,
            CUTOFF,
            LABEL,
            *OUTPUT_COLUMNS,
            TREND,
            *QUARANTINE_COLUMNS,
            # Older names of the quarantine columns, and the taxonomy's flag.
            "source",
            "source_row",
            "column",
            "reason",
            "is_known",
        )
    )
)


def unclaimed(name: str, taken: Iterable[object]) -> str:
    """``name``, with more leading underscores while a column of ``taken`` has it.

    Examples
    --------
    >>> unclaimed("_rejected_row", ["lead_id", "_rejected_row"])
    '__rejected_row'
    """
    taken_names = {str(t) for t in taken}
    while name in taken_names:
        name = "_" + name
    return name
