"""``intent_model.train``: the one entry point; the data given picks the mode.

An event log trains through :mod:`intent_model.training.from_events`, a CRM
table alone through :mod:`intent_model.training.from_table`; both end in the
same :func:`intent_model.training.sequence.save_and_register`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from intent_model.errors import ConfigError
from intent_model.events.inputs import EventsInput, LeadsInput, Progress
from intent_model.events.taxonomy import Taxonomy
from intent_model.io.config import Config, with_columns
from intent_model.modeling.pipeline import start_fit_workers
from intent_model.runtime import thread_budget
from intent_model.training.from_events import TrainResult, train_events
from intent_model.training.from_table import TableTrainResult, train_table

__all__ = ["TableTrainResult", "TrainResult", "train"]


def train(
    events: EventsInput | None = None,
    leads: LeadsInput = None,
    out: str | Path = "models/intent",
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    label_col: str | None = None,
    columns: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
    track: bool = True,
    promote: bool = False,
    progress: Progress | None = None,
) -> TrainResult | TableTrainResult:
    """Train the lead-intent model and its baselines, evaluate out of time, save and register.

    Parameters
    ----------
    events, leads
        As for :func:`intent_model.build_training_set`. Without events, the
        leads table alone is the data (a CRM export, one row per lead) and
        :func:`intent_model.training.from_table.train_table` trains on it.
    label_col : str, optional
        CRM-table mode: the label column of the leads table.
    columns : mapping, optional
        Our column names to yours, like the CLI's ``--lead-id-col`` flags:
        ``{"lead_id": "Prospect ID", "created_at": "Created On"}``.
    out : path
        The bundle directory to write (replaced atomically). Nothing outside it is
        written: what runs at night is the registry's ``@champion``, which moves
        only when a promotion wins.
    config : Config, optional
    taxonomy : Taxonomy, optional
    tracking_uri : str, optional
        MLflow tracking store; defaults to ``config.training.tracking_uri``.
    track : bool
        Log an MLflow run and register the model (default). False writes the
        bundle only.
    promote : bool
        After registering, move the ``champion`` alias to the new version if it
        beats the current champion on this run's out-of-time data.
    progress : callable, optional
        Called with a line per stage.

    Returns
    -------
    TrainResult or TableTrainResult
        ``summary()`` prints the essentials.
    """
    config = with_columns(config, columns)
    with thread_budget(config.runtime.jobs) as cores:
        config = config.replace(runtime=dataclasses.replace(config.runtime, jobs=cores))
        start_fit_workers(cores)
        return _train(
            events, leads, out, config, taxonomy, label_col, tracking_uri, track, promote, progress
        )


def _train(events, leads, out, config, taxonomy, label_col, tracking_uri, track, promote, progress):
    """The mode the data picks: events (with an optional leads table), or a lead table alone."""
    if events is not None:
        return train_events(
            events,
            leads,
            out,
            config,
            taxonomy,
            tracking_uri=tracking_uri,
            track=track,
            promote=promote,
            progress=progress,
        )
    if leads is None:
        raise ConfigError("nothing to train on: give events, or a lead table (--leads)")
    return train_table(
        leads,
        out,
        config,
        label_col=label_col,
        tracking_uri=tracking_uri,
        track=track,
        promote=promote,
        progress=progress,
    )
