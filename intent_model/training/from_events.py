"""Training from an event log: point-in-time snapshots -> out-of-time split -> three
calibrated models -> metrics and plots, then the shared save-and-register sequence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intent_model.events.families import count_name
from intent_model.events.features import FEATURE_FAMILIES
from intent_model.events.inputs import EventsInput, LeadsInput, Progress
from intent_model.events.stream import build_features
from intent_model.events.taxonomy import EVENT_CLASSES, Taxonomy, load_taxonomy
from intent_model.events.training_set import TrainingSet, build_training_set
from intent_model.io.config import Config
from intent_model.modeling.card import interval_lines, metrics_table, render_model_card
from intent_model.modeling.drift import reference_summary
from intent_model.modeling.evaluate import (
    classification_metrics,
    intervals_by_lead,
    metrics_per_cutoff,
)
from intent_model.modeling.metadata import EVENTS_MODE
from intent_model.modeling.model import IntentModel
from intent_model.modeling.pipeline import MODEL_KINDS, make_calibrated
from intent_model.modeling.plots import (
    family_importance_chart,
    label_rate_chart,
    metrics_over_time_chart,
    quality_figures,
)
from intent_model.modeling.split import TimeSplit, out_of_time_split
from intent_model.runtime import StageTimes
from intent_model.scoring.pyfunc import event_request_columns
from intent_model.training.promote import PromotionResult, compare_with_champion
from intent_model.training.sequence import (
    MAIN_MODEL,
    Trained,
    add_intervals,
    common_metadata,
    metrics_lines,
    operating_model,
    outcome_lines,
    sampled_importance,
    save_and_register,
    timed,
)


@dataclass
class TrainResult:
    """What a training run produced. ``summary()`` prints the essentials."""

    bundle_dir: Path
    metrics: pd.DataFrame
    per_cutoff: dict[str, pd.DataFrame]
    importance: pd.DataFrame
    threshold: float
    tier_bounds: dict[str, float]
    holdout: pd.DataFrame
    metadata: dict[str, Any]
    run_id: str | None
    model_version: str | None
    promotion: PromotionResult | None
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            "Out-of-time metrics (held-out cutoffs "
            + ", ".join(self.metadata["training_data"]["holdout_cutoffs"])
            + "):",
            metrics_lines(self.metrics),
            *interval_lines(
                self.metadata.get("intervals", {}),
                int(self.holdout["label"].sum()),
                len(self.metadata["training_data"]["holdout_cutoffs"]),
            ),
            *outcome_lines(self),
        ]
        return "\n".join(lines)


def train_events(
    events: EventsInput,
    leads: LeadsInput = None,
    out: str | Path = "models/intent",
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    tracking_uri: str | None = None,
    track: bool = True,
    promote: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """Train from an event log (and optionally a leads table); see :func:`intent_model.train`."""
    config = config or Config()
    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    training = config.training
    tracking_uri = tracking_uri or training.tracking_uri
    say, times = timed(progress), StageTimes()
    say("building point-in-time training snapshots")
    with times.stage("read and features"):
        training_set = build_training_set(events, leads, config, taxonomy, progress=progress)
    split = out_of_time_split(
        training_set.keys, training.holdout_cutoffs, config.labels.horizon_days
    )
    say(_describe_split(training_set, split))
    fitted = _fit_candidates(training_set, split, taxonomy, config, say, times)
    main = fitted[MAIN_MODEL]
    model = operating_model(main, training_set.X.columns, training.tier_shares)
    say("evaluating out of time")
    with times.stage("evaluation"):
        holdout = _holdout_predictions(fitted, training_set, split)
        metrics, per_cutoff, intervals = _out_of_time_metrics(holdout, training)
        importance = _importance(main, training_set, split, config)
    metadata = _metadata(config, taxonomy, training_set, split, model, metrics, main)
    metadata["intervals"] = intervals
    say("features of every lead at the end of the data (the drift reference)")
    with times.stage("drift reference"):
        metadata["drift_reference"] = _drift_reference(
            events, leads, config, taxonomy, training_set, model
        )
    with times.stage("plots and card"):
        trained = _trained(
            model, metadata, metrics, per_cutoff, holdout, importance, training_set, split, config
        )
    trained.times = times
    trained.compare = partial(
        compare_with_champion,
        tracking_uri,
        training.registered_model,
        challenger=model,
        X_holdout=training_set.X[split.holdout],
        y_holdout=training_set.y[split.holdout],
        metric=training.promotion_metric,
        challenger_metadata=metadata,
    )
    registration = save_and_register(
        trained, out, config, tracking_uri, track=track, promote=promote, say=say
    )
    return TrainResult(
        bundle_dir=Path(out),
        metrics=metrics_table(metrics, counts=True),
        per_cutoff=per_cutoff,
        importance=importance,
        threshold=model.threshold,
        tier_bounds=model.tier_bounds,
        holdout=holdout,
        metadata=metadata,
        run_id=registration.run_id,
        model_version=registration.version,
        promotion=registration.promotion,
        stage_seconds=times.seconds,
    )


def _trained(
    model: IntentModel,
    metadata: dict[str, Any],
    metrics: dict,
    per_cutoff: dict[str, pd.DataFrame],
    holdout: pd.DataFrame,
    importance: pd.DataFrame,
    training_set: TrainingSet,
    split: TimeSplit,
    config: Config,
) -> Trained:
    """What the shared sequence saves and registers for an event model."""
    return Trained(
        model=model,
        metadata=metadata,
        metrics=metrics,
        figures=_figures(holdout, per_cutoff, importance, training_set, split),
        tables=_tables(training_set, per_cutoff),
        card=lambda: render_model_card(
            metadata, metrics, per_cutoff[MAIN_MODEL], importance, training_set.report.summary()
        ),
        input_example=_input_example(training_set, split),
        request_columns=event_request_columns(training_set.spec),
        experiment=config.training.event_experiment,
        registered_model=config.training.registered_model,
        tags=_tags(training_set),
        step_metrics={
            int(step): {
                f"{MAIN_MODEL}.per_cutoff.{k}": row[k] for k in ("roc_auc", "average_precision")
            }
            for step, row in per_cutoff[MAIN_MODEL].iterrows()
        },
    )


def _describe_split(training_set: TrainingSet, split: TimeSplit) -> str:
    X, y, _ = training_set
    dev, out = split.development, split.holdout
    return (
        f"{len(X):,} snapshots x {X.shape[1]} features; development {int(dev.sum()):,} "
        f"({int(y[dev].sum()):,} positive), out-of-time {int(out.sum()):,} "
        f"({int(y[out].sum()):,} positive)"
    )


def _fit_candidates(
    training_set: TrainingSet,
    split: TimeSplit,
    taxonomy: Taxonomy,
    config: Config,
    say,
    times: StageTimes,
) -> dict[str, Any]:
    """Each model kind, selected and calibrated on the development cutoffs only."""
    X, y, keys = training_set
    training = config.training
    dev = split.development
    groups = keys.loc[dev, "lead_id"].astype(str).to_numpy()
    monotone = hard_count_features(training_set.spec, taxonomy)
    fitted = {}
    for kind in MODEL_KINDS:
        say(
            f"fitting {kind}: selection and {training.calibration} calibration on "
            f"{training.selection_folds} lead-grouped folds"
        )
        subsets = simple_feature_sets(training_set.spec) if kind == MAIN_MODEL else None
        model = make_calibrated(
            kind, training, monotone, n_jobs=config.runtime.jobs or 1, subsets=subsets
        )
        fitted[kind] = model.fit(X[dev], y[dev], groups)
        for stage, seconds in fitted[kind].seconds_.items():
            times.add(stage, seconds)
    return fitted


def _holdout_predictions(
    fitted: dict[str, Any], training_set: TrainingSet, split: TimeSplit
) -> pd.DataFrame:
    """The held-out snapshots (lead_id, cutoff, label) with ``p_<kind>`` of every model."""
    X, y, keys = training_set
    X_out = X[split.holdout]
    return (
        keys.loc[split.holdout]
        .reset_index(drop=True)
        .assign(
            label=y[split.holdout].to_numpy(),
            **{f"p_{kind}": model.predict_proba(X_out)[:, 1] for kind, model in fitted.items()},
        )
    )


def _predictions(holdout: pd.DataFrame) -> dict[str, np.ndarray]:
    return {kind: holdout[f"p_{kind}"].to_numpy() for kind in MODEL_KINDS}


def _out_of_time_metrics(
    holdout: pd.DataFrame, training
) -> tuple[dict[str, dict[str, float]], dict[str, pd.DataFrame], dict]:
    """Metrics of every kind on the held-out snapshots, overall and per cutoff (with the
    per-cutoff means at sales capacity added to the overall figures), and their 90%
    intervals from resampling the held-out leads (added to the metrics too)."""
    capacity = training.sales_capacity
    y_out = holdout["label"].to_numpy()
    metrics, per_cutoff = {}, {}
    for kind, p in _predictions(holdout).items():
        metrics[kind] = classification_metrics(y_out, p, None)
        per_cutoff[kind] = metrics_per_cutoff(y_out, p, holdout["cutoff"], capacity)
        at_capacity = [c for c in per_cutoff[kind].columns if c.endswith("_at_capacity")]
        metrics[kind].update({c: float(per_cutoff[kind][c].mean()) for c in at_capacity})
    intervals = intervals_by_lead(
        holdout["lead_id"].to_numpy(),
        y_out,
        _predictions(holdout),
        MAIN_MODEL,
        seed=training.random_state,
    )
    add_intervals(metrics, intervals)
    return metrics, per_cutoff, intervals


def _importance(
    main: Any, training_set: TrainingSet, split: TimeSplit, config: Config
) -> pd.DataFrame:
    """Permutation importance per feature family, on (a sample of) the held-out snapshots."""
    families = {f: training_set.spec.names_of(f) for f in FEATURE_FAMILIES}
    return sampled_importance(
        main.predict_proba,
        training_set.X[split.holdout],
        training_set.y[split.holdout].to_numpy(),
        families,
        config.training.random_state,
        n_jobs=config.runtime.jobs or 1,
    )


def _figures(holdout, per_cutoff, importance, training_set, split) -> dict[str, Any]:
    return {
        **quality_figures(holdout["label"].to_numpy(), _predictions(holdout)),
        "importance_by_family.png": family_importance_chart(importance),
        "label_rate.png": label_rate_chart(training_set.report.label_rates, split.holdout_cutoffs),
        "average_precision_per_cutoff.png": metrics_over_time_chart(
            per_cutoff, "average_precision"
        ),
    }


def _tables(training_set: TrainingSet, per_cutoff: dict[str, pd.DataFrame]) -> dict:
    tables = {
        "metrics_per_cutoff.csv": per_cutoff[MAIN_MODEL],
        "label_rate_per_cutoff.csv": training_set.report.label_rates,
    }
    if training_set.report.table_checks is not None:
        tables["column_checks.csv"] = training_set.report.table_checks
    return tables


def _tags(training_set: TrainingSet) -> dict[str, str]:
    checks = training_set.report.table_checks
    if checks is None:
        return {}
    return {"left_out_columns": ", ".join(checks.loc[checks["left_out"], "column"]) or "none"}


def _input_example(training_set: TrainingSet, split: TimeSplit) -> pd.DataFrame:
    """Five held-out feature rows with their lead ids, as the pyfunc model takes them."""
    lead_ids = training_set.keys.loc[split.holdout, "lead_id"].astype(str).head(5).to_numpy()
    return training_set.X[split.holdout].head(5).assign(lead_id=lead_ids)


def _drift_reference(events, leads, config, taxonomy, training_set, model) -> dict[str, Any]:
    # The drift reference is the training data as a scoring run sees it: every lead, as of
    # just after the last event. Scoring the training data then shows no shift, and a
    # later run shows how far its leads moved since (a held-out cutoff, a month or more
    # before the end and only its snapshot population, read as a "moderate shift").
    at_end = build_features(events, leads, config=config, spec=training_set.spec, taxonomy=taxonomy)
    return reference_summary(at_end, model.predict_proba(at_end))


def model_choices(main: Any, constrained: tuple[str, ...]) -> dict[str, Any]:
    """What the selection chose and on what evidence, for the metadata and the card: every
    candidate's out-of-fold average precision, and whether the monotone constraint on the
    hard-conversion counts was kept (the best constrained candidate beat the best free one)."""
    candidates = main.choices()
    with_constraint = [c["average_precision"] for c in candidates if c["monotone_constraints"]]
    without = [c["average_precision"] for c in candidates if not c["monotone_constraints"]]
    selected = next(c for c in candidates if c["selected"])
    folded = len(main.oof_labels_)
    return {
        "rule": "out-of-fold average precision on lead-grouped folds of the development "
        "cutoffs (the held-out cutoffs are never seen): the simplest candidate whose average "
        "precision is not distinguishably below the best one's (90% interval of the gap, "
        "resampling leads, reaching zero)"
        + (
            f", on {folded:,} development rows of whole leads drawn at random "
            f"([training] selection_rows); the selected candidate then learned from all "
            f"{main.n_rows_fit_:,}"
            if folded < main.n_rows_fit_
            else ""
        ),
        "candidates": candidates,
        "monotone_constraint": {
            "features": list(constrained),
            "kept": selected["monotone_constraints"],
            "best_with": max(with_constraint) if with_constraint else None,
            "best_without": max(without) if without else None,
        },
    }


def simple_feature_sets(spec) -> dict[str, tuple[str, ...]]:
    """The features of the simple answers the model competes with, made from the feature
    contract: each event class's history alone (its counts over every window and the days
    since its last one: "hard conversions before"), the recency family alone, and the
    plain per-type counts an analyst would write in an afternoon."""
    meanings = spec.meanings
    found = {}
    for event_class in EVENT_CLASSES:
        counts = [n for n, m in meanings.items() if m.family == "counts" and m.what == event_class]
        found[f"rule: {event_class} history"] = (*counts, f"days_since_last_{event_class}")
    found["rule: recency"] = tuple(spec.names_of("recency"))
    found["plain: counts per event type"] = tuple(
        n for n, m in meanings.items() if m.family == "counts" and m.what in spec.event_types
    )
    return found


def hard_count_features(spec, taxonomy: Taxonomy) -> tuple[str, ...]:
    """Counts of hard conversions: the features the gradient boosting may be constrained to
    only reward (a candidate with the constraint competes with one without)."""
    hard_types = set(taxonomy.types_of("hard")) | {"hard"}
    return tuple(
        count_name(event_type, suffix)
        for event_type in [*spec.event_types, "hard"]
        if event_type in hard_types
        for suffix in spec.window_suffixes
    )


def _mean_at_capacity(per_cutoff: pd.DataFrame) -> dict[str, float]:
    columns = [c for c in per_cutoff.columns if c.endswith("_at_capacity")]
    return {c: float(per_cutoff[c].mean()) for c in columns}


def _moment(cutoff: pd.Timestamp) -> str:
    """A cutoff as a date, or with its time when it is not at midnight (hourly cadences)."""
    return str(cutoff.date()) if cutoff == cutoff.normalize() else cutoff.isoformat()


def _metadata(
    config: Config,
    taxonomy: Taxonomy,
    training_set: TrainingSet,
    split: TimeSplit,
    model: IntentModel,
    metrics: dict,
    main: Any,
) -> dict[str, Any]:
    X, y, keys = training_set
    spec = training_set.spec
    return common_metadata(model, config, EVENTS_MODE) | {
        "feature_dtypes": {name: str(dtype) for name, dtype in X.dtypes.items()},
        "feature_spec": dataclasses.asdict(spec),
        "left_out_columns": []
        if training_set.report.table_checks is None
        else training_set.report.table_checks.query("left_out")["column"].tolist(),
        "taxonomy": {"classes": dict(taxonomy.classes), "aliases": dict(taxonomy.aliases)},
        "horizon_days": config.labels.horizon_days,
        "windows_days": list(spec.windows_days),
        "cadence": None
        if training_set.report.cadence is None
        else {
            "step": training_set.report.cadence.name,
            "chosen_by": training_set.report.cadence.chosen_by,
            "how": training_set.report.cadence.describe(),
        },
        "training_data": {
            "first_event": str(training_set.report.first_event),
            "last_event": str(training_set.report.last_event),
            "n_snapshots": int(len(y)),
            "n_positive": int(y.sum()),
            "n_development": int(split.development.sum()),
            "n_holdout": int(split.holdout.sum()),
            "development_cutoffs": [_moment(c) for c in split.development_cutoffs],
            "holdout_cutoffs": [_moment(c) for c in split.holdout_cutoffs],
            "events_accounting": training_set.report.events_accounting,
            "leads_accounting": training_set.report.leads_accounting,
        },
        "metrics": metrics,
        "model_choices": model_choices(main, hard_count_features(spec, taxonomy)),
    }
