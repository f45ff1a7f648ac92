"""Choose the engine that builds features and training sets: this machine, or Spark.

The local functions of :mod:`intent_model.events.training_set` and
:mod:`intent_model.events.stream` know nothing of Spark; these wrappers, one room
above both engines, pick one by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intent_model.events import stream
from intent_model.events import training_set as local
from intent_model.events.features import FeatureSpec
from intent_model.events.inputs import EventsInput, LeadsInput, Progress
from intent_model.events.taxonomy import Taxonomy
from intent_model.events.training_set import TrainingSet
from intent_model.io.config import Config

ENGINES = ("local", "spark")


def build_training_set(
    events: EventsInput,
    leads: LeadsInput = None,
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    spec: FeatureSpec | None = None,
    check: bool = True,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
    engine: str = "local",
    spark: Any = None,
) -> TrainingSet:
    """Point-in-time training snapshots from an event log, on this machine or on Spark.

    Parameters
    ----------
    events, leads, config, taxonomy, spec, check, workdir, progress
        As for :func:`intent_model.events.training_set.build_training_set`
        (the Spark engine takes ``events``, ``leads``, ``config`` and
        ``taxonomy`` only).
    engine : {"local", "spark"}
        ``"spark"`` runs the same code per group of leads on Spark (events
        and leads as Spark DataFrames or Parquet paths) and returns the
        snapshots :func:`intent_model.engines.spark.spark_training_set` collects.
    spark : SparkSession, optional
        For the Spark engine; a local one is started when omitted.

    Returns
    -------
    TrainingSet
    """
    _check_engine(engine)
    if engine == "spark":
        from intent_model.engines.spark import spark_session, spark_training_set

        return spark_training_set(spark or spark_session(), events, leads, config, taxonomy)
    return local.build_training_set(
        events,
        leads,
        config,
        taxonomy,
        spec=spec,
        check=check,
        workdir=workdir,
        progress=progress,
    )


def build_features(
    events: EventsInput,
    leads: LeadsInput = None,
    as_of: str | pd.Timestamp | None = None,
    config: Config | None = None,
    spec: FeatureSpec | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
    engine: str = "local",
    spark: Any = None,
    jobs: int | None = None,
) -> pd.DataFrame:
    """Features of every lead as of one moment, on this machine or on Spark.

    Parameters
    ----------
    events, leads, as_of, config, spec, taxonomy, workdir, progress, jobs
        As for :func:`intent_model.events.stream.build_features`.
    engine : {"local", "spark"}
        ``"spark"`` runs the same feature code per group of leads on Spark
        (see :mod:`intent_model.engines.spark`) and collects the result.
    spark : SparkSession, optional

    Returns
    -------
    pandas.DataFrame
        One row per lead, indexed by ``lead_id`` (sorted), float32 columns
        ``spec.feature_names``.
    """
    _check_engine(engine)
    if engine == "spark":
        from intent_model.engines.spark import spark_features, spark_session

        frame = spark_features(
            spark or spark_session(), events, leads, as_of, config, spec, taxonomy
        ).toPandas()
        return frame.set_index("lead_id").sort_index().astype(np.float32)
    return stream.build_features(
        events,
        leads,
        as_of,
        config,
        spec,
        taxonomy,
        workdir=workdir,
        progress=progress,
        jobs=jobs,
    )


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
