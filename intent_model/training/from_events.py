"""Training, end to end: snapshots -> out-of-time split -> three calibrated models ->
metrics and plots -> one MLflow run -> a registered version -> a saved bundle.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import matplotlib
import mlflow
import numpy as np
import pandas as pd
import pyarrow
import sklearn

from intent_model.errors import ConfigError
from intent_model.events.features import FEATURE_FAMILIES
from intent_model.events.taxonomy import Taxonomy, load_taxonomy
from intent_model.events.training_set import (
    EventsInput,
    LeadsInput,
    Progress,
    build_features,
    build_training_set,
)
from intent_model.io.config import Config, with_columns
from intent_model.modeling import tracking
from intent_model.modeling.bundle import (
    CARD_FILE,
    PLOTS_DIR,
    staged_bundle,
    write_metadata,
    write_model,
)
from intent_model.modeling.card import metrics_table, render_model_card
from intent_model.modeling.drift import reference_summary
from intent_model.modeling.evaluate import (
    choose_threshold,
    choose_tier_bounds,
    classification_metrics,
    family_importance,
    metrics_per_cutoff,
)
from intent_model.modeling.model import IntentModel
from intent_model.modeling.pipeline import MODEL_KINDS, make_calibrated
from intent_model.modeling.plots import (
    family_importance_chart,
    label_rate_chart,
    lift_gain_chart,
    metrics_over_time_chart,
    reliability_diagram,
    roc_pr_curves,
)
from intent_model.modeling.split import out_of_time_split
from intent_model.scoring.pyfunc import ENTRY_POINT, pyfunc_scores
from intent_model.training.promote import PromotionResult, compare_with_champion
from intent_model.version import __version__

if TYPE_CHECKING:
    from intent_model.training.from_table import TableTrainResult

MAIN_MODEL = "gradient_boosting"
IMPORTANCE_ROWS = 50_000


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

    def summary(self) -> str:
        shown = self.metrics[["roc_auc", "average_precision", "brier", "ece", "lift_top10pct"]]
        lines = [
            "Out-of-time metrics (held-out cutoffs "
            + ", ".join(self.metadata["training_data"]["holdout_cutoffs"])
            + "):",
            shown.to_string(float_format=lambda v: f"{v:.4f}"),
            *outcome_lines(self),
        ]
        return "\n".join(lines)


def outcome_lines(result: TrainResult | TableTrainResult) -> list[str]:
    """Threshold, tiers, where the bundle is, the MLflow run and version, the promotion."""
    lines = [
        f"threshold p_hard >= {result.threshold:.4f}; tiers "
        + ", ".join(f"{k} >= {v:.4f}" for k, v in result.tier_bounds.items()),
        f"bundle: {result.bundle_dir} (model card: {result.bundle_dir / CARD_FILE}, "
        f"plots: {result.bundle_dir / PLOTS_DIR})",
    ]
    if result.run_id:
        lines.append(
            f"MLflow run {result.run_id}, registered "
            f"{result.metadata['mlflow']['registered_model']} version {result.model_version} "
            "(alias challenger); see it with "
            f"`mlflow ui --backend-store-uri {result.metadata['mlflow']['tracking_uri']}`"
        )
    if result.promotion:
        lines.append(result.promotion.message)
    if result.run_id and not (result.promotion and result.promotion.promoted):
        name = result.metadata["mlflow"]["registered_model"]
        lines.append(
            f"not the champion: nightly scoring with models:/{name}@champion still runs the "
            f"current one; to compare and promote this one: intent-model promote --version "
            f"{result.model_version} (with the data to compare on)"
        )
    elif not result.run_id:
        lines.append(
            f"not registered (--no-track): score with --model {result.bundle_dir}; nothing "
            "else points at it"
        )
    return lines


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
    TrainResult
    """
    config = with_columns(config, columns)
    if events is None:
        from intent_model.training.from_table import train_table

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
    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    training = config.training
    tracking_uri = tracking_uri or training.tracking_uri
    say = timed(progress)

    say("building point-in-time training snapshots")
    training_set = build_training_set(events, leads, config, taxonomy, progress=progress)
    X, y, keys = training_set
    split = out_of_time_split(keys, training.holdout_cutoffs, config.labels.horizon_days)
    X_dev, y_dev, X_out, y_out = (
        X[split.development],
        y[split.development],
        X[split.holdout],
        y[split.holdout],
    )
    say(
        f"{len(X):,} snapshots x {X.shape[1]} features; development {len(X_dev):,} "
        f"({int(y_dev.sum()):,} positive), out-of-time {len(X_out):,} "
        f"({int(y_out.sum()):,} positive)"
    )

    fitted, holdout_p = {}, {}
    groups = keys.loc[split.development, "lead_id"].astype(str).to_numpy()
    monotone = hard_count_features(training_set.spec, taxonomy)
    for kind in MODEL_KINDS:
        say(
            f"fitting {kind}: selection and {training.calibration} calibration on "
            f"{training.cv_folds} lead-grouped folds"
        )
        fitted[kind] = make_calibrated(kind, training, monotone).fit(X_dev, y_dev, groups)
        holdout_p[kind] = fitted[kind].predict_proba(X_out)[:, 1]

    main = fitted[MAIN_MODEL]
    threshold = choose_threshold(y_dev.to_numpy(), main.oof_proba_)
    tier_bounds = choose_tier_bounds(main.oof_proba_, training.tier_shares)
    model = IntentModel(
        classifier=main, feature_names=list(X.columns), threshold=threshold, tier_bounds=tier_bounds
    )

    say("evaluating out of time")
    capacity = training.sales_capacity
    metrics = {kind: classification_metrics(y_out, p, None) for kind, p in holdout_p.items()}
    cutoffs_out = keys.loc[split.holdout, "cutoff"].reset_index(drop=True)
    per_cutoff = {
        kind: metrics_per_cutoff(y_out.to_numpy(), p, cutoffs_out, capacity)
        for kind, p in holdout_p.items()
    }
    for kind in MODEL_KINDS:
        metrics[kind].update(_mean_at_capacity(per_cutoff[kind]))
    sample = sample_rows(len(X_out), IMPORTANCE_ROWS, training.random_state)
    families = {f: training_set.spec.names_of(f) for f in FEATURE_FAMILIES}
    importance = family_importance(
        lambda frame: main.predict_proba(frame)[:, 1],
        X_out.iloc[sample],
        y_out.to_numpy()[sample],
        families,
        random_state=training.random_state,
    )
    figures = {
        "roc_pr.png": roc_pr_curves(y_out.to_numpy(), holdout_p),
        "reliability.png": reliability_diagram(y_out.to_numpy(), holdout_p),
        "lift_gain.png": lift_gain_chart(y_out.to_numpy(), holdout_p),
        "importance_by_family.png": family_importance_chart(importance),
        "label_rate.png": label_rate_chart(training_set.report.label_rates, split.holdout_cutoffs),
        "average_precision_per_cutoff.png": metrics_over_time_chart(
            per_cutoff, "average_precision"
        ),
    }
    holdout = (
        keys.loc[split.holdout]
        .reset_index(drop=True)
        .assign(label=y_out.to_numpy(), **{f"p_{k}": p for k, p in holdout_p.items()})
    )
    metadata = _metadata(config, taxonomy, training_set, split, model, metrics)
    # The drift reference is the training data as a scoring run sees it: every lead, as of
    # just after the last event. Scoring the training data then shows no shift, and a
    # later run shows how far its leads moved since (a held-out cutoff, a month or more
    # before the end and only its snapshot population, read as a "moderate shift").
    say("features of every lead at the end of the data (the drift reference)")
    at_end = build_features(events, leads, config=config, spec=training_set.spec, taxonomy=taxonomy)
    metadata["drift_reference"] = reference_summary(at_end, model.predict_proba(at_end))

    out = Path(out)
    run_id = version = None
    promotion = None
    with staged_bundle(out) as stage:
        metadata["model_sha256"] = write_model(stage, model)
        write_figures(stage / PLOTS_DIR, figures)
        per_cutoff[MAIN_MODEL].to_csv(stage / "metrics_per_cutoff.csv", index=False)
        training_set.report.label_rates.to_csv(stage / "label_rate_per_cutoff.csv", index=False)
        table_checks = training_set.report.table_checks
        if table_checks is not None:
            table_checks.to_csv(stage / "column_checks.csv", index=False)
        card = lambda: render_model_card(  # noqa: E731 - rendered twice, before and after tracking
            metadata, metrics, per_cutoff[MAIN_MODEL], importance, training_set.report.summary()
        )
        if track:
            say(f"logging the MLflow run to {tracking_uri}")
            with tracking.training_run(tracking_uri, training.experiment, out.name) as run_id:
                metadata["mlflow"] = tracking.run_record(
                    run_id, tracking_uri, training.experiment, training.registered_model
                )
                write_metadata(stage, metadata)
                (stage / CARD_FILE).write_text(card())
                tracking.log_params(flatten(dataclasses.asdict(config)))
                if table_checks is not None:
                    left_out = table_checks.loc[table_checks["left_out"], "column"]
                    tracking.set_tags({"left_out_columns": ", ".join(left_out) or "none"})
                for kind in MODEL_KINDS:
                    tracking.log_metrics({f"{kind}.{k}": v for k, v in metrics[kind].items()})
                for step, row in per_cutoff[MAIN_MODEL].iterrows():
                    tracking.log_metrics(
                        {
                            f"{MAIN_MODEL}.per_cutoff.{k}": row[k]
                            for k in ("roc_auc", "average_precision")
                        },
                        step=int(step),
                    )
                tracking.log_artifacts(stage)
                example = X_out.head(5).assign(
                    lead_id=keys.loc[split.holdout, "lead_id"].astype(str).head(5).to_numpy()
                )
                _, version = tracking.log_and_register_model(
                    stage,
                    ENTRY_POINT,
                    input_example=example,
                    output_example=pyfunc_scores(model, metadata, example),
                    registered_model=training.registered_model,
                    pip_requirements=requirements(),
                )
            metadata["mlflow"]["version"] = version
            if promote:
                promotion = compare_with_champion(
                    tracking_uri,
                    training.registered_model,
                    version,
                    model,
                    X_out,
                    y_out,
                    training.promotion_metric,
                    challenger_metadata=metadata,
                )
                say(promotion.message)
        write_metadata(stage, metadata)
        (stage / CARD_FILE).write_text(card())
    say(f"saved the bundle to {out}")
    return TrainResult(
        bundle_dir=out,
        metrics=metrics_table(metrics, counts=True),
        per_cutoff=per_cutoff,
        importance=importance,
        threshold=threshold,
        tier_bounds=tier_bounds,
        holdout=holdout,
        metadata=metadata,
        run_id=run_id,
        model_version=version,
        promotion=promotion,
    )


def hard_count_features(spec, taxonomy: Taxonomy) -> tuple[str, ...]:
    """Counts of hard conversions: the model may only reward them (monotone constraint)."""
    hard_types = set(taxonomy.types_of("hard")) | {"hard"}
    return tuple(
        f"n_{event_type}_{suffix}"
        for event_type in [*spec.event_types, "hard"]
        if event_type in hard_types
        for suffix in spec.window_suffixes
    )


def _mean_at_capacity(per_cutoff: pd.DataFrame) -> dict[str, float]:
    columns = [c for c in per_cutoff.columns if c.endswith("_at_capacity")]
    return {c: float(per_cutoff[c].mean()) for c in columns}


def sample_rows(n: int, at_most: int, seed: int) -> np.ndarray:
    if n <= at_most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, at_most, replace=False))


def write_figures(directory: Path, figures: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(directory / name, dpi=110)


def _metadata(config, taxonomy, training_set, split, model, metrics) -> dict[str, Any]:
    X, y, keys = training_set
    spec = training_set.spec
    return {
        "intent_model_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "feature_names": list(X.columns),
        "feature_dtypes": {name: str(dtype) for name, dtype in X.dtypes.items()},
        "feature_spec": dataclasses.asdict(spec),
        "left_out_columns": []
        if training_set.report.table_checks is None
        else training_set.report.table_checks.query("left_out")["column"].tolist(),
        "taxonomy": {"classes": dict(taxonomy.classes), "aliases": dict(taxonomy.aliases)},
        "config": dataclasses.asdict(config),
        "horizon_days": config.labels.horizon_days,
        "windows_days": list(spec.windows_days),
        "calibration": config.training.calibration,
        "threshold": model.threshold,
        "threshold_rule": "maximises F1 on out-of-fold development predictions",
        "tier_bounds": model.tier_bounds,
        "tier_rule": "validation-score quantiles for shares " + str(config.training.tier_shares),
        "training_data": {
            "first_event": str(training_set.report.first_event),
            "last_event": str(training_set.report.last_event),
            "n_snapshots": int(len(y)),
            "n_positive": int(y.sum()),
            "n_development": int(split.development.sum()),
            "n_holdout": int(split.holdout.sum()),
            "development_cutoffs": [str(c.date()) for c in split.development_cutoffs],
            "holdout_cutoffs": [str(c.date()) for c in split.holdout_cutoffs],
            "events_accounting": training_set.report.events_accounting,
            "leads_accounting": training_set.report.leads_accounting,
        },
        "metrics": metrics,
        "versions": package_versions(),
    }


def package_versions() -> dict[str, str]:
    """The versions a model was trained with (a model is only sure to load with the same)."""
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "pyarrow": pyarrow.__version__,
        "joblib": joblib.__version__,
        "mlflow": mlflow.__version__,
        "matplotlib": matplotlib.__version__,
    }


def requirements() -> list[str]:
    return [
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"joblib=={joblib.__version__}",
        f"pyarrow=={pyarrow.__version__}",
        f"mlflow=={mlflow.__version__}",
        "intent_model",
    ]


def flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "aliases":
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def timed(progress: Progress | None) -> Progress:
    started = time.perf_counter()

    def say(message: str) -> None:
        if progress:
            progress(f"[{time.perf_counter() - started:6.1f} s] {message}")

    return say
