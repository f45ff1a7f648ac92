"""The Spark engine: the same feature and scoring code as the local engine, run per group of leads.

Events (and the leads table) are split by a hash of ``lead_id`` into
buckets; ``cogroup(...).applyInPandas`` hands each bucket's events and leads
to the very functions the local engine calls on a chunk
(:func:`intent_model.events.log.load_events`,
:func:`intent_model.events.features.compute_features`,
:func:`intent_model.scoring.output.score_features`), so the two engines cannot
disagree. No feature is implemented twice.

Validation runs in the workers with the ``error`` policy: a bad row fails the
job with intent_model's message. Quarantining needs a side file per run,
which workers cannot write consistently; clean the log upstream or run
``intent-model validate`` on it first.

Install with ``pip install 'intent_model[spark]'``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError
from intent_model.events.families import count_name
from intent_model.events.features import FeatureSpec, compute_features
from intent_model.events.labels import label_rate_per_cutoff
from intent_model.events.taxonomy import Taxonomy
from intent_model.events.training_set import TrainingReport, TrainingSet, check_table_columns
from intent_model.io.config import Config, InputConfig
from intent_model.io.validate import as_utc
from intent_model.runtime import thread_budget
from intent_model.scoring.population import NOT_YET, OPEN, population_of

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from intent_model.events.chunks import LeadTimeline
    from intent_model.events.labels import Cadence

BUCKET = "_intent_bucket"
DEFAULT_BUCKETS = 8


# What each worker returns from scoring, before the ranking and the constant columns.
SCORED_SCHEMA = (
    "lead_id string, p_hard double, intent string, score long, tier string, "
    "top_reasons string, next_action string, scored_from string, is_open boolean"
)


def spark_session(master: str = "local[2]", app_name: str = "intent-model") -> SparkSession:
    """A Spark session whose Python workers run this interpreter (so they find pyarrow)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def _read(spark: SparkSession, source: Any, config: Config) -> DataFrame | None:
    if source is None:
        return None
    if isinstance(source, pd.DataFrame):
        frame = spark.createDataFrame(source)
    elif hasattr(source, "rdd"):
        frame = source
    else:
        frame = spark.read.parquet(str(source))
    for theirs, ours in config.columns.renames().items():
        if theirs in frame.columns:
            frame = frame.withColumnRenamed(theirs, ours)
    return frame


def _bucketed(frame: DataFrame, n_buckets: int) -> DataFrame:
    from pyspark.sql import functions as F

    return frame.withColumn(
        BUCKET, F.pmod(F.xxhash64(F.col("lead_id").cast("string")), F.lit(n_buckets))
    )


def _feature_schema(spec: FeatureSpec, extra: list[tuple[str, str]]) -> str:
    columns = ["lead_id string", *[f"{name} {kind}" for name, kind in extra]]
    columns += [f"`{name}` double" for name in spec.feature_names]
    return ", ".join(columns)


def spark_features(
    spark: SparkSession,
    events: Any,
    leads: Any = None,
    as_of: str | pd.Timestamp | None = None,
    config: Config | None = None,
    spec: FeatureSpec | None = None,
    taxonomy: Taxonomy | None = None,
    n_buckets: int = DEFAULT_BUCKETS,
    population: dict | None = None,
) -> DataFrame:
    """Features of every lead as of one moment, on Spark (``build_features(engine="spark")``).

    Parameters
    ----------
    spark : SparkSession
    events, leads : Spark DataFrame or Parquet path
    as_of : optional; defaults, as locally, to one second after the latest event
    population : dict, optional
        Keyword arguments of :func:`intent_model.scoring.population.population_of`
        (scoring): adds ``status``, decided in each bucket where the leads'
        rows are at hand.

    Returns
    -------
    pyspark.sql.DataFrame
        ``lead_id`` (and ``status``) and the spec's features (double), one row per lead.
    """

    from intent_model.events.taxonomy import load_taxonomy

    config = (config or Config()).replace(input=InputConfig(on_bad_rows="error"))
    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    events_frame = _read(spark, events, config)
    leads_frame = _read(spark, leads, config)
    spec = spec or _spec_of(config, taxonomy, leads_frame)[0]
    _refuse_accounts(spec)
    cutoff = as_utc(as_of) if as_of is not None else default_as_of(events_frame)
    has_leads = leads_frame is not None

    def per_bucket(raw_events: pd.DataFrame, raw_leads: pd.DataFrame) -> pd.DataFrame:
        events_chunk, leads_chunk = _bucket_rows(raw_events, raw_leads, config, taxonomy, has_leads)
        ids = pd.unique(events_chunk["lead_id"].astype(object))
        if leads_chunk is not None:
            ids = pd.unique(np.concatenate([ids, leads_chunk["lead_id"].to_numpy(dtype=object)]))
        keys = pd.DataFrame({"lead_id": pd.Series(ids, dtype=object), "cutoff": cutoff})
        features = compute_features(events_chunk, keys, spec, leads_chunk)
        # float32 first, exactly like the local engine, then widened for Spark.
        features = features.astype(np.float32).astype(np.float64)
        out = features.assign(lead_id=keys["lead_id"].astype(str).to_numpy())
        if population is None:
            return out[["lead_id", *spec.feature_names]]
        status = population_of(
            out["lead_id"],
            out[count_name("events", "all")].to_numpy(),
            out["days_since_last_hard"].to_numpy(),
            leads_chunk,
            cutoff,
            **population,
        )
        return out.assign(status=status)[["lead_id", "status", *spec.feature_names]]

    schema = _feature_schema(spec, [] if population is None else [("status", "string")])
    return _per_bucket(spark, events_frame, leads_frame, n_buckets, per_bucket, schema)


def _bucket_rows(
    raw_events: pd.DataFrame,
    raw_leads: pd.DataFrame,
    config: Config,
    taxonomy: Taxonomy,
    has_leads: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One bucket's events and leads, validated and classified as the local engine does."""
    from intent_model.events.log import empty_events, load_events
    from intent_model.io.load import load_leads

    raw_events = raw_events.drop(columns=[BUCKET])
    raw_leads = raw_leads.drop(columns=[BUCKET])
    events = load_events(raw_events, config, taxonomy).events if len(raw_events) else empty_events()
    leads = load_leads(raw_leads, config).frame if has_leads and len(raw_leads) else None
    return events, leads


def _per_bucket(
    spark: SparkSession,
    events_frame: DataFrame,
    leads_frame: DataFrame | None,
    n_buckets: int,
    function: Any,
    schema: str,
) -> DataFrame:
    """``function(events, leads)`` on each bucket of leads (cogrouped by a hash of lead_id)."""
    leads_b = (
        _bucketed(leads_frame, n_buckets)
        if leads_frame is not None
        else spark.createDataFrame([], f"lead_id string, {BUCKET} long")
    )
    grouped_events = _bucketed(events_frame, n_buckets).groupBy(BUCKET)
    return grouped_events.cogroup(leads_b.groupBy(BUCKET)).applyInPandas(
        _one_thread(function), schema=schema
    )


def _one_thread(function):
    """``function`` run with one thread in every native pool: Spark already runs a task
    per core, and a task's numpy/OpenMP pools would otherwise start a thread per core each."""

    # Spark reads the arity of the function it is given: two frames, events and leads.
    def run(events: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
        with thread_budget(1):
            return function(events, leads)

    return run


def _batches_in_one_thread(function):
    """``function`` (an iterator of frames to an iterator of frames, for ``mapInPandas``)
    run with one thread in every native pool, as :func:`_one_thread`."""

    def run(batches):
        with thread_budget(1):
            yield from function(batches)

    return run


def task_thread_pools(spark: SparkSession) -> pd.DataFrame:
    """The native thread pools each Spark task sees while it scores, one row per task
    and pool (``task``, ``library``, ``threads``), through the same wrapper as scoring."""
    import threadpoolctl

    def pools(batches):
        from pyspark import TaskContext

        for _ in batches:
            pass
        task = TaskContext.get().partitionId()
        yield pd.DataFrame(
            [
                {"task": task, "library": pool["internal_api"], "threads": pool["num_threads"]}
                for pool in threadpoolctl.threadpool_info()
            ],
            columns=["task", "library", "threads"],
        )

    parallelism = spark.sparkContext.defaultParallelism
    frame = spark.range(parallelism, numPartitions=parallelism).mapInPandas(
        _batches_in_one_thread(pools), schema="task long, library string, threads long"
    )
    return frame.toPandas()


def spark_training_set(
    spark: SparkSession,
    events: Any,
    leads: Any = None,
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
    n_buckets: int = DEFAULT_BUCKETS,
) -> TrainingSet:
    """Training snapshots on Spark, collected as the local engine returns them.

    Cutoffs come from the whole log's span (one Spark aggregation); each
    bucket then runs the local engine's snapshot, label and feature code; the
    leads table's other columns go through the same post-outcome checks.
    """
    config = (config or Config()).replace(input=InputConfig(on_bad_rows="error"))
    frame, spec, leads_frame, cadence = _snapshots_on_spark(
        spark, events, leads, config, taxonomy, n_buckets
    )
    keys = frame[["lead_id", "cutoff"]].astype({"lead_id": object})
    y = frame["label"].astype(np.int8).rename("label")
    X = frame.drop(columns=["lead_id", "cutoff", "label"]).astype(np.float32)
    X, spec, table_checks = check_table_columns(X, y, keys, spec, leads_frame, config)
    report = TrainingReport(
        events_accounting="(Spark engine: validated in the workers with the error policy)",
        leads_accounting=None,
        first_event=keys["cutoff"].min(),
        last_event=keys["cutoff"].max(),
        quarantine_files=[],
        unknown_types=pd.DataFrame(columns=["event_type", "counted_as", "n_rows", "first_rows"]),
        label_rates=label_rate_per_cutoff(keys, y),
        leakage=pd.DataFrame(columns=["feature", "auc_out_of_time"]),
        outcome_like_columns=[],
        table_checks=table_checks,
        cadence=cadence,
    )
    return TrainingSet(X=X, y=y, keys=keys, spec=spec, report=report)


def _timeline(events_frame: DataFrame, taxonomy: Taxonomy) -> LeadTimeline:
    """Each lead's first event and its hard conversions, collected (one row per lead and
    per hard conversion): what ``choose_cadence`` counts its candidates on."""
    from pyspark.sql import functions as F

    from intent_model.events.chunks import LeadTimeline

    types = [row[0] for row in events_frame.select("event_type").distinct().collect()]
    classes = taxonomy.classify(pd.Series(types, dtype=object))["event_class"].astype(str)
    hard_types = [t for t, c in zip(types, classes, strict=True) if c == "hard"]
    nanoseconds = (F.unix_micros(F.col("timestamp")) * 1000).alias("t")
    first = events_frame.groupBy("lead_id").agg(F.min(nanoseconds).alias("t")).toPandas()
    hard = (
        events_frame.filter(F.col("event_type").isin(hard_types))
        .select("lead_id", nanoseconds)
        .toPandas()
    )
    codes = pd.Index(first["lead_id"]).get_indexer(hard["lead_id"])
    return LeadTimeline(
        first["t"].to_numpy(np.int64), codes.astype(np.int64), hard["t"].to_numpy(np.int64)
    )


def _snapshots_on_spark(
    spark: SparkSession,
    events: Any,
    leads: Any,
    config: Config,
    taxonomy: Taxonomy | None,
    n_buckets: int,
) -> tuple[pd.DataFrame, FeatureSpec, pd.DataFrame | None, Cadence]:
    """``lead_id, cutoff, label`` and the features, collected, with the feature spec
    they were built with, the leads table (collected, validated) and the cadence."""
    from pyspark.sql import functions as F

    from intent_model.events.labels import choose_cadence, make_cutoffs
    from intent_model.events.taxonomy import load_taxonomy
    from intent_model.events.training_set import event_snapshots

    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    events_frame = _read(spark, events, config)
    leads_frame = _read(spark, leads, config)
    spec, leads_table = _spec_of(config, taxonomy, leads_frame)
    _refuse_accounts(spec)
    first, last = events_frame.agg(F.min("timestamp"), F.max("timestamp")).first()
    cadence = choose_cadence(
        _timeline(events_frame, taxonomy) if config.labels.step_days == "auto" else None,
        as_utc(first),
        as_utc(last),
        config.labels,
        config.training.holdout_cutoffs,
        config.guards.min_cutoffs,
    )
    config = config.replace(labels=cadence.labels(config.labels))
    cutoffs = make_cutoffs(as_utc(first), as_utc(last), config.labels)
    has_leads = leads_frame is not None

    def per_bucket(raw_events: pd.DataFrame, raw_leads: pd.DataFrame) -> pd.DataFrame:
        events_chunk, leads_chunk = _bucket_rows(raw_events, raw_leads, config, taxonomy, has_leads)
        keys, labels = event_snapshots(events_chunk, leads_chunk, cutoffs, config)
        features = compute_features(events_chunk, keys, spec, leads_chunk)
        features = features.astype(np.float32).astype(np.float64)
        return pd.concat(
            [
                pd.DataFrame(
                    {
                        "lead_id": keys["lead_id"].astype(str).to_numpy(),
                        "cutoff": keys["cutoff"].dt.tz_convert(None).to_numpy(),
                        "label": labels.to_numpy().astype(np.int32),
                    }
                ),
                features.reset_index(drop=True),
            ],
            axis=1,
        )

    schema = _feature_schema(spec, [("cutoff", "timestamp"), ("label", "int")])
    frame = _per_bucket(spark, events_frame, leads_frame, n_buckets, per_bucket, schema).toPandas()
    frame["cutoff"] = pd.to_datetime(frame["cutoff"]).dt.tz_localize("UTC")
    order = np.lexsort((frame["lead_id"].to_numpy(), frame["cutoff"].array.asi8))
    return frame.iloc[order].reset_index(drop=True), spec, leads_table, cadence


def _spec_of(
    config: Config, taxonomy: Taxonomy, leads_frame: DataFrame | None
) -> tuple[FeatureSpec, pd.DataFrame | None]:
    """The feature spec the local engine would choose for this leads table, and the table.

    The leads table (one row per lead) is collected to the driver: its other
    columns are encoded with categories learned from all of it, as locally.
    """
    from intent_model.events.inputs import feature_spec_for
    from intent_model.io.load import load_leads

    if leads_frame is None:
        return feature_spec_for(config, taxonomy, None, []), None
    table = load_leads(leads_frame.toPandas(), config)
    return feature_spec_for(config, taxonomy, table, []), table.frame


def _refuse_accounts(spec: FeatureSpec) -> None:
    # An account's contacts land in different buckets; rolling them up needs a second,
    # account-keyed pass that the Spark engine does not make yet.
    if spec.accounts:
        raise ConfigError(
            "account roll-ups ([columns] account_id) are built by the local engine only; "
            "train and score this model with --engine local, or leave account_id unset"
        )


def default_as_of(events_frame: DataFrame) -> pd.Timestamp:
    """One second after the latest event, as the local engine does."""
    from pyspark.sql import functions as F

    last = events_frame.agg(F.max("timestamp")).first()[0]
    return as_utc(last).floor("s") + pd.Timedelta(seconds=1)


def spark_predict(
    spark: SparkSession,
    model: Any,
    events: Any,
    leads: Any = None,
    out: str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    config: Config | None = None,
    n_buckets: int = DEFAULT_BUCKETS,
) -> DataFrame:
    """Score every lead on Spark with the same columns as the local engine.

    The model (a bundle directory, an MLflow URI or a :class:`LoadedModel`)
    is loaded on the driver and shipped to the workers inside the UDF.
    """
    from pyspark.sql import functions as F

    from intent_model.names import OUTPUT_COLUMNS
    from intent_model.scoring.loaded import LoadedModel, load_model
    from intent_model.scoring.output import event_lead_scores, settle_status
    from intent_model.scoring.predict import converted_days

    config = config or Config()
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    spec = loaded.spec
    as_of_value = (
        as_utc(as_of) if as_of is not None else default_as_of(_read(spark, events, config))
    )
    population = {
        "exclude_converted_days": converted_days(loaded, config),
        "closed_values": dict(config.predict.closed_values),
        "score_all": config.predict.score == "all",
    }
    features = spark_features(
        spark, events, leads, as_of_value, config, spec, loaded.taxonomy, n_buckets, population
    )
    intent_model = loaded.model
    version = loaded.version
    # mapInPandas parses every column name, and a category like "message=Thanks." is no
    # valid attribute name: the features travel under positional names.
    names = features.columns
    features = features.toDF(*[f"_c{i}" for i in range(len(names))])

    def score(batches):
        # Who is ranked, as in local scoring (decided per bucket, beside the leads' rows).
        for batch in batches:
            batch = batch.set_axis(names, axis=1)
            batch = batch[batch["status"] != NOT_YET]
            frame = batch.set_index("lead_id")[spec.feature_names].astype(np.float32)
            status = batch["status"].to_numpy()
            scored = event_lead_scores(intent_model, frame, spec, config)
            scored = settle_status(scored, status, config)
            scored["is_open"] = status == OPEN
            yield scored.drop(columns=["_days_since_last_hard", "_n_events"])

    scored = features.mapInPandas(_batches_in_one_thread(score), schema=SCORED_SCHEMA)
    result = (
        _ranked(spark, scored)
        .withColumn("as_of", F.lit(as_of_value.to_pydatetime()))
        .withColumn("model_version", F.lit(version))
        .select(*OUTPUT_COLUMNS)
        # Two shuffles' worth of partitions (the sort's and the rest's) would write a file
        # per partition, most of them tiny: one task per core writes them.
        .coalesce(max(1, spark.sparkContext.defaultParallelism))
    )
    if out is not None:
        result.write.mode("overwrite").parquet(str(out))
    return result


# monotonically_increasing_id() puts the partition index above this bit and the
# row's position within its partition below it.
_ROW_BITS = 33


def _ranked(spark: SparkSession, scored: DataFrame) -> DataFrame:
    """Open leads ranked 1..n by p_hard (ties by lead id, as the local engine), the others
    without a rank, by a distributed sort.

    A window over all leads would move every lead into one task. Instead the open
    leads are range-partitioned by ``orderBy``; each row's position within its
    partition comes from ``monotonically_increasing_id`` (a narrow step), and each
    partition's offset from the counts of the partitions before it (one small
    collect). The scored leads are persisted because the sort's sampling, the counts
    and the write each read them, and scoring must run once.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    scored = scored.persist(StorageLevel.MEMORY_AND_DISK)
    open_sorted = (
        scored.filter(F.col("is_open"))
        .orderBy(F.col("p_hard").desc(), F.col("lead_id"))
        .withColumn("_id", F.monotonically_increasing_id())
        .withColumn("_part", F.shiftright("_id", _ROW_BITS))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    counts = sorted(
        (row["_part"], row["count"]) for row in open_sorted.groupBy("_part").count().collect()
    )
    offsets, before = [], 0
    for part, count in counts:
        offsets.append((part, before))
        before += count
    offset_frame = spark.createDataFrame(offsets, "_part long, _offset long")
    in_partition = F.col("_id").bitwiseAND((1 << _ROW_BITS) - 1)
    ranked_open = (
        open_sorted.join(F.broadcast(offset_frame), "_part")
        .withColumn("rank", F.col("_offset") + in_partition + 1)
        .drop("_id", "_part", "_offset")
    )
    not_ranked = scored.filter(~F.col("is_open")).withColumn("rank", F.lit(None).cast("long"))
    return ranked_open.unionByName(not_ranked)
