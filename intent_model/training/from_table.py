"""Training from a CRM table alone: one row per lead, a label column, no event log.

The same models, calibration, metrics, MLflow run, registry and bundle as for
event data, with three steps of its own: column roles are inferred
(:mod:`intent_model.table.roles`), columns written after the outcome are found
and left out (:mod:`intent_model.table.checks`), and the evaluation is out of
time when the table has a creation date, stratified cross-validation when not.
The gradient boosting is also fitted *with* the left-out columns, on the same
evaluation, so the report shows what the leak would have been worth.
"""

from __future__ import annotations

import dataclasses
import warnings
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from intent_model.errors import ConfigError
from intent_model.events.inputs import Progress
from intent_model.io.config import Config
from intent_model.io.validate import CheckedTable
from intent_model.modeling.baselines import TablePointsRule
from intent_model.modeling.card import interval_lines, metrics_table, render_table_card
from intent_model.modeling.drift import reference_summary
from intent_model.modeling.evaluate import classification_metrics, intervals_by_lead
from intent_model.modeling.metadata import TABLE_MODE
from intent_model.modeling.model import IntentModel
from intent_model.modeling.pipeline import (
    MODEL_KINDS,
    fit_on_splits,
    make_calibrated,
    make_candidates,
    out_of_sample_scores,
    run_in_worker,
    score_in_background,
    start_large_table_workers,
)
from intent_model.modeling.plots import evaluation_figures, importance_figures, png_files
from intent_model.modeling.split import TableEvaluation, choose_evaluation
from intent_model.runtime import StageTimes, in_a_thread
from intent_model.table.checks import check_columns, describe_checks
from intent_model.table.encoding import TableSpec, latest_moment, placeholder_report
from intent_model.table.roles import LeadTable, infer_roles, load_lead_table, roles_table
from intent_model.training.promote import PromotionResult, compare_table_with_champion
from intent_model.training.sequence import (
    MAIN_MODEL,
    Trained,
    add_intervals,
    common_metadata,
    metrics_lines,
    operating_model,
    outcome_lines,
    sample_rows,
    sampled_importance,
    save_and_register,
    timed,
)

LEAKY = "with_left_out_columns"


class LeakWarning(UserWarning):
    """An out-of-sample AUC so high that the model has almost surely learned a leak."""


@dataclass
class TableTrainResult:
    """What a training run on a CRM table produced. ``summary()`` prints the essentials."""

    bundle_dir: Path
    metrics: pd.DataFrame
    evaluation: str
    roles: pd.DataFrame
    checks: pd.DataFrame
    placeholders: pd.DataFrame
    importance: pd.DataFrame
    threshold: float
    tier_bounds: dict[str, float]
    metadata: dict[str, Any]
    run_id: str | None
    model_version: str | None
    promotion: PromotionResult | None
    warnings: list[str]
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        left_out = self.checks.loc[self.checks["left_out"], "column"].tolist()
        lines = [
            f"Evaluation: {self.evaluation}",
            "",
            metrics_lines(self.metrics),
            *interval_lines(
                self.metadata.get("intervals", {}),
                int(self.metadata["training_data"]["n_positive_evaluated"]),
            ),
        ]
        if left_out:
            lines.append(
                f"The row {LEAKY} is the gradient boosting WITH the left-out column(s) "
                f"{', '.join(left_out)}: what the leak would have been worth in ranking "
                "(not calibrated, so no Brier score or ECE), not a model you can use."
            )
        else:
            lines.append("No column was left out as written after the outcome.")
        suspected = self.checks.loc[self.checks["suspected"], "column"].tolist()
        if suspected:
            lines.append(
                "Suspected and kept (each carries the model; an honest strong column looks the "
                "same): " + ", ".join(suspected) + ". The rows without_<column> are the model "
                'without each; to leave one out: [columns.roles] "<column>" = "ignore".'
            )
        lines += outcome_lines(self)
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


def train_table(
    leads: str | Path | pd.DataFrame | CheckedTable,
    out: str | Path = "models/crm",
    config: Config | None = None,
    *,
    label_col: str | None = None,
    tracking_uri: str | None = None,
    track: bool = True,
    promote: bool = False,
    progress: Progress | None = None,
) -> TableTrainResult:
    """Train from one row per lead (a CRM export) with a label column; no events.

    Parameters
    ----------
    leads : path, DataFrame or CheckedTable
        The table: ``lead_id`` (or mapped with ``[columns]``), the label, and any
        columns; ``created_at`` (``--created-at-col``) makes the evaluation out of time.
    out : path
        The bundle directory to write (replaced atomically).
    config : Config, optional
        ``[columns.roles]`` overrides inferred roles; ``[table]`` sets the checks
        (``keep_columns``, ``column_flag_auc``) and the evaluation.
    label_col : str, optional
        Defaults to ``config.labels.label_col``.
    tracking_uri, track, promote, progress
        As for :func:`intent_model.train`; promotion needs an out-of-time evaluation.

    Returns
    -------
    TableTrainResult

    Warns
    -----
    LeakWarning
        When the model's out-of-sample AUC is above ``[table] model_warning_auc``.
    """
    config = config or Config()
    say, times = timed(progress), StageTimes()
    with times.stage("read, roles, checks and features"):
        prepared = _prepare(leads, label_col or config.labels.label_col, config, promote, say)
    say(f"evaluating: {prepared.evaluation.description}")
    with times.stage("fit and evaluation"):
        predictions, main, importance_model, leaky = _evaluate(prepared, config, say)
    model = operating_model(main, prepared.X.columns, config.training.tier_shares)
    importance, figures = _importance_and_figures(
        prepared, predictions, leaky, importance_model, config, times, say
    )
    # The drift reference: the whole table as the model scores it, like a nightly export;
    # scored in a thread while this one resamples the intervals (one core each).
    reference_scores = in_a_thread(model.predict_proba, prepared.X)
    metrics, alerts, no_signal, intervals = _judged(prepared, predictions, config)
    metadata = _metadata(config, prepared, model, metrics) | {
        "warnings": alerts,
        "intervals": intervals,
    }
    metadata["drift_reference"] = reference_summary(prepared.X, reference_scores.result())
    tracking_uri = tracking_uri or config.training.tracking_uri
    with times.stage("plots and card"):
        trained = _trained(prepared, model, metadata, metrics, figures, importance, config)
    trained.times = times
    # A model without signal is never offered for promotion.
    trained.compare = (
        None if no_signal else partial(_compare, tracking_uri, model, prepared, config)
    )
    if no_signal and promote:
        say("not promoted: " + no_signal)
    registration = save_and_register(
        trained, out, config, tracking_uri, track=track, promote=promote, say=say
    )
    return TableTrainResult(
        bundle_dir=Path(out),
        metrics=metrics_table(metrics, counts=True),
        evaluation=prepared.evaluation.description,
        roles=prepared.roles,
        checks=prepared.checks,
        placeholders=prepared.placeholders,
        importance=importance,
        threshold=model.threshold,
        tier_bounds=model.tier_bounds,
        metadata=metadata,
        run_id=registration.run_id,
        model_version=registration.version,
        promotion=registration.promotion,
        warnings=alerts,
        stage_seconds=times.seconds,
    )


@dataclass
class PreparedTable:
    """A lead table ready to fit: roles, column checks, the encoding and the evaluation design."""

    table: LeadTable
    roles: pd.DataFrame
    checks: pd.DataFrame
    left_out: set[str]
    spec: TableSpec
    # The encoding with the left-out columns, for the comparison with them.
    spec_with_left_out: TableSpec
    as_of: pd.Timestamp
    X: pd.DataFrame
    placeholders: pd.DataFrame
    evaluation: TableEvaluation

    @property
    def y(self) -> np.ndarray:
        return self.table.label

    @property
    def lead_ids(self) -> np.ndarray:
        return self.table.frame["lead_id"].astype(str).to_numpy()


def _prepare(leads, label_col: str | None, config: Config, promote: bool, say) -> PreparedTable:
    """Read the table, infer the roles, choose the evaluation, leave out the columns
    written after the outcome (judged on the development rows only) and encode."""
    if not label_col:
        raise ConfigError(
            "training from a lead table needs its label column: --label-col NAME "
            "(values 0/1, yes/no, true/false or hard/soft)"
        )
    placeholders = config.features.placeholders()
    say("reading the lead table")
    table = load_lead_table(leads, config, label_col)
    frame, y = table.frame, table.label
    say(f"read {len(frame):,} leads x {frame.shape[1]} columns ({int(y.sum()):,} converted)")
    start_large_table_workers(config.runtime.jobs or 1, len(frame))
    roles = infer_roles(frame, placeholders, label_col, dict(config.columns.roles))
    say("column roles (override with [columns.roles] in the config):\n" + roles_table(roles))
    evaluation = choose_evaluation(frame, y, config)
    if promote and evaluation.method != "out-of-time":
        raise ConfigError(
            "--promote on a lead table needs an out-of-time comparison: give the creation "
            "date column (--created-at-col)"
        )
    say("checking every column for signs it was written after the outcome")
    dev = evaluation.development
    dev_frame = frame if dev.all() else frame[dev]
    checks = check_columns(dev_frame, roles, y[dev], config)
    for line in describe_checks(checks):
        say(line)
    left_out = set(checks.loc[checks["left_out"], "column"])
    # One fit for both encodings: a column's is learnt from its own values alone.
    spec_with_left_out = _fit_spec(dev_frame, roles, config)
    del dev_frame
    spec = spec_with_left_out.without(left_out)
    as_of = latest_moment(frame, spec) or pd.Timestamp.now(tz="UTC")
    X = spec.encode(frame, as_of)
    placeholder_cells = placeholder_report(frame, spec.source_columns, placeholders)
    say(
        f"{len(X):,} leads ({int(y.sum()):,} converted) x {X.shape[1]} features from "
        f"{len(spec.columns)} columns; {int(placeholder_cells['n_cells'].sum()):,} placeholder "
        "or blank cells counted as not given"
    )
    return PreparedTable(
        table,
        roles,
        checks,
        left_out,
        spec,
        spec_with_left_out,
        as_of,
        X,
        placeholder_cells,
        evaluation,
    )


def _importance_and_figures(prepared, predictions, leaky, importance_model, config, times, say):
    """Permutation importance, and the figures: each part drawn in a worker process as soon
    as its data are in, while this one goes on. The evaluation's figures need the
    comparison rows' scores (added to ``predictions`` here); out of time the leak
    comparison still fits beside importance, so they wait for both."""

    def draw_evaluation() -> Future:
        with times.stage("fit and evaluation"):
            _complete(predictions, leaky, prepared, config, say)
        return _draw_evaluation(prepared, predictions, config)

    figures = [draw_evaluation()] if leaky is None or leaky.done() else []
    with times.stage("importance"):
        importance = _importance(prepared, importance_model, config)
    figures = figures or [draw_evaluation()]
    draw_importance = partial(png_files, importance_figures, importance)
    figures.append(run_in_worker(draw_importance, config.runtime.jobs or 1, len(prepared.y)))
    return importance, figures


def _complete(predictions: dict, leaky: Future | None, prepared: PreparedTable, config, say):
    """Add the comparison rows' scores of the evaluated leads: with the left-out columns
    (waiting for that fit), and without each suspected column (fitting them now)."""
    holdout = prepared.evaluation.holdout
    if leaky is not None:
        predictions[LEAKY] = leaky.result()[holdout]
    for name, scores in _without_suspected(prepared, config, say).items():
        predictions[name] = scores[holdout]


def _draw_evaluation(prepared: PreparedTable, predictions: dict, config: Config) -> Future:
    """The evaluation's figures and the column checks' (PNG files' bytes), drawn in a
    worker process."""
    draw = partial(
        png_files,
        evaluation_figures,
        prepared.y[prepared.evaluation.holdout],
        predictions,
        prepared.checks,
        config.table.column_flag_auc,
    )
    return run_in_worker(draw, config.runtime.jobs or 1, len(prepared.y))


def _importance(prepared: PreparedTable, importance_model, config: Config) -> pd.DataFrame:
    """Permutation importance per source column, on rows the model did not learn from."""
    spec = prepared.spec
    importance_rows, importance_X = importance_model
    groups = {c: [f for f in spec.feature_names if spec.source_of(f) == c] for c in _sources(spec)}
    return sampled_importance(
        importance_X.predict_proba,
        prepared.X.iloc[importance_rows],
        prepared.y[importance_rows],
        groups,
        config.training.random_state,
        n_jobs=config.runtime.jobs or 1,
    ).rename(columns={"family": "column"})


def _trained(prepared, model, metadata, metrics, figures, importance, config) -> Trained:
    """What the shared sequence saves and registers for a table model."""
    checks, table_config = prepared.checks, config.table
    return Trained(
        model=model,
        metadata=metadata,
        metrics=metrics,
        figures=figures,
        tables={
            "column_roles.csv": prepared.roles,
            "column_checks.csv": checks,
            "placeholders.csv": prepared.placeholders,
        },
        card=lambda: render_table_card(
            metadata, metrics, importance, prepared.roles, checks, prepared.placeholders
        ),
        input_example=_input_example(prepared.table.frame, prepared.spec),
        experiment=table_config.table_experiment,
        registered_model=table_config.registered_model,
        params={
            "mode": TABLE_MODE,
            "evaluation": prepared.evaluation.method,
            "label_col": prepared.table.label_col,
        },
        tags={
            "mode": TABLE_MODE,
            "left_out_columns": ", ".join(sorted(prepared.left_out)) or "none",
            "kept_flagged_columns": ", ".join(checks.loc[checks["kept"], "column"]) or "none",
            "suspected_columns": ", ".join(checks.loc[checks["suspected"], "column"]) or "none",
            "warnings": " | ".join(metadata.get("warnings", [])) or "none",
            "evaluation": prepared.evaluation.description,
        },
        any_type_columns=tuple(c.name for c in prepared.spec.columns if c.role == "date"),
    )


def _fit_spec(frame: pd.DataFrame, roles: pd.DataFrame, config: Config) -> TableSpec:
    return TableSpec.fit(
        frame,
        roles,
        config.features.placeholders(),
        config.table.max_categories,
        config.table.min_category_rows,
    )


def _sources(spec: TableSpec) -> list[str]:
    return spec.source_columns + (["information"] if spec.information_columns else [])


def table_points_rule(spec: TableSpec) -> TablePointsRule:
    """The marketer's points rule for this table's columns."""
    return TablePointsRule(
        engagement=tuple(c.name for c in spec.columns if c.role == "numeric"),
        recency=tuple(f"days_since_{c.name}" for c in spec.columns if c.role == "date"),
        fields=tuple(spec.information_columns),
    )


def _evaluate(prepared: PreparedTable, config: Config, say):
    """Evaluation predictions of every model kind, the fitted main model, what importance
    is measured with (rows, model; always rows the model did not learn from), and the
    leak comparison's future (None without left-out columns)."""
    training = dataclasses.replace(config.training, selection_rows=config.table.selection_rows)
    X, y, evaluation = prepared.X, prepared.y, prepared.evaluation
    points = table_points_rule(prepared.spec)
    categories = prepared.spec.category_groups()
    jobs = config.runtime.jobs or 1
    ids = prepared.lead_ids
    if evaluation.method == "out-of-time":
        dev, out = evaluation.development, evaluation.holdout
        predictions, fitted, leaky = {}, {}, None
        for kind in MODEL_KINDS:
            say(f"fitting {kind} on the older leads")
            model = make_calibrated(kind, training, (), points, n_jobs=jobs, categories=categories)
            rows = np.flatnonzero(dev)
            if kind == "logistic_regression":
                rows = _at_most(rows, LINEAR_ROWS, training.random_state)
            fitted[kind] = model.fit(X.iloc[rows], y[rows], ids[rows])
            predictions[kind] = fitted[kind].predict_proba(X[out])[:, 1]
            if kind == MAIN_MODEL:
                _say_sampled_choice(fitted[kind], say)
                # From here on a core is free while this process fits the small baselines
                # and measures importance.
                leaky = _start_leak_comparison(prepared, config, say)
        return predictions, fitted[MAIN_MODEL], (np.flatnonzero(out), fitted[MAIN_MODEL]), leaky
    # Each kind is chosen once, on the selection leads; its choice is then measured by
    # cross-validation on the other leads, and finally fit on every lead.
    chosen = np.flatnonzero(evaluation.selection)
    splits = _cv_splits(prepared, config)
    measured = evaluation.holdout
    position = np.cumsum(measured) - 1  # a measured row's place among the measured
    folds = [position[valid] for _, valid in splits]
    predictions, main, last = {}, None, None
    for kind in MODEL_KINDS:
        model = make_calibrated(kind, training, (), points, n_jobs=jobs, categories=categories)
        candidate = model.candidates[0]
        # A baseline has one candidate and no trees to choose: nothing of a choice would be
        # kept (the calibrator is made from the measured folds).
        if kind == MAIN_MODEL:
            say(f"choosing {kind} on {len(chosen):,} leads")
            model.fit(X.iloc[chosen], y[chosen], ids[chosen], final_fit=False)
            candidate = model.chosen_candidate()
        say(f"measuring {kind}: {len(splits)}-fold cross-validation on the other leads")
        learn = splits
        if kind == "logistic_regression":
            learn = [(_at_most(t, LINEAR_ROWS, training.random_state), v) for t, v in splits]
        fold_models = fit_on_splits(candidate, X, y, learn, jobs)
        raw = np.full(len(y), np.nan)
        for fold_model, (_, valid) in zip(fold_models, splits, strict=True):
            raw[valid] = fold_model.predict_proba(X.iloc[valid])[:, 1]
        predictions[kind] = model.cross_fitted(raw[measured], y[measured], folds)
        if kind == MAIN_MODEL:
            main, last = model, (splits[-1][1], fold_models[-1])
    say("fitting the chosen gradient boosting on every lead")
    main.refit(X, y)
    return predictions, main, last, _start_leak_comparison(prepared, config, say)


def _say_sampled_choice(model, say) -> None:
    """Say so when the model was chosen on a sample of the rows it then learned from."""
    chosen_on, learned_from = len(model.oof_labels_), model.n_rows_fit_
    if chosen_on < learned_from:
        say(
            f"the candidate, its number of trees and the calibrator were chosen on "
            f"{chosen_on:,} of the {learned_from:,} older leads (drawn at random, [table] "
            "selection_rows); the chosen one then learned from all of them"
        )


# The logistic-regression baseline learns from at most this many rows (drawn at random).
# Measured on 1,000,000 rows (800,000 to learn from): ROC AUC 0.92173 and AP 0.63937
# against 0.92175 and 0.63928 on all of them, in 3.8 s instead of 16.5 s; and its
# imputer's median (numpy's masked median sorts a copy with int64 indices) took 1 GB
# over the rows it was given, the training's peak memory.
LINEAR_ROWS = 200_000


def _at_most(rows: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``rows`` (sorted positions), or ``n`` of them drawn at random when there are more."""
    return rows[sample_rows(len(rows), n, seed)]


def comparison_estimator(config: Config, categories: tuple = ()):
    """The gradient boosting of the comparison rows (with the left-out columns, without a
    suspected one): the first candidate (``categories`` as for
    :func:`~intent_model.modeling.pipeline.make_candidates`) at scikit-learn's default
    learning rate, stopping early on a tenth of its rows. These rows say what a column is
    worth in ranking, not a model to use: a leak shows in a few dozen trees (at 6,500
    rows the five fits of the comparison took as long as choosing the model)."""
    estimator = make_candidates(MAIN_MODEL, config.training, categories=categories)[0]
    # Twice the candidate's rate: half the trees, and the same verdicts on the leak zoo
    # (docs/leakage.md).
    estimator.set_params(
        model__early_stopping=True, model__n_iter_no_change=10, model__learning_rate=0.1
    )
    return estimator


def _start_leak_comparison(prepared: PreparedTable, config: Config, say) -> Future | None:
    """The scores of the gradient boosting WITH the left-out columns (every row's; the
    evaluation's rows are scored), as a future; None when no column was left out.

    One fit per evaluation split of the first candidate, not calibrated: the row
    answers what the leak is worth in ranking (AUC, average precision); a
    calibrated, selected model would cost four times the fits to say the same.
    Out of time it is one fit, started when the model's fits are done, so that it
    runs while this process fits the small baselines and measures importance: on a
    small table in a worker process (one of those the model's fold fits used), on a
    large one in a thread of this process; in one thread either way, like every fit.
    Cross-validation's five fits run here and now, as one batch.
    """
    if not prepared.left_out:
        return None
    evaluation, frame = prepared.evaluation, prepared.table.frame
    leaky_spec = prepared.spec_with_left_out
    estimator = comparison_estimator(config, leaky_spec.category_groups())
    say(
        f"fitting the gradient boosting WITH {', '.join(sorted(prepared.left_out))}, for comparison"
    )
    rows, splits = _comparison_splits(prepared, config)
    # Only the rows the comparison learns from or scores are encoded again.
    X_leaky = leaky_spec.encode(frame.iloc[rows], prepared.as_of)
    y, jobs = prepared.y[rows], config.runtime.jobs or 1
    fit = partial(_scores_on_all_rows, estimator, X_leaky, y, splits, rows, len(frame))
    if evaluation.method != "out-of-time":
        done: Future = Future()
        done.set_result(fit(jobs))
        return done
    return score_in_background(fit, jobs, len(X_leaky))


# The comparison rows learn from at most this many rows per split (drawn at random): a
# leak, or a column's worth, shows long before; at a million rows the
# comparison's fit was the last minute of a training, and its copy of the table the
# largest block of memory.
COMPARISON_ROWS = 100_000


def _comparison_splits(
    prepared: PreparedTable, config: Config
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The rows the comparison fits use (sorted positions in the table) and the
    evaluation's splits as positions among them, each training part cut to
    ``COMPARISON_ROWS``."""
    evaluation = prepared.evaluation
    if evaluation.method == "out-of-time":
        full = [(np.flatnonzero(evaluation.development), np.flatnonzero(evaluation.holdout))]
    else:
        full = _cv_splits(prepared, config)
    seed = config.training.random_state
    cut = [(_at_most(train, COMPARISON_ROWS, seed), valid) for train, valid in full]
    rows = np.unique(np.concatenate([np.r_[t, v] for t, v in cut]))
    return rows, [(np.searchsorted(rows, t), np.searchsorted(rows, v)) for t, v in cut]


def _on_all_rows(scores: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
    placed = np.full(n_rows, np.nan)
    placed[rows] = scores
    return placed


def _scores_on_all_rows(estimator, X, y, splits, rows, n_rows, n_jobs: int = 1) -> np.ndarray:
    """``out_of_sample_scores`` placed back on the whole table's rows (NaN elsewhere)."""
    return _on_all_rows(out_of_sample_scores(estimator, X, y, splits, n_jobs), rows, n_rows)


def _compare(tracking_uri: str, model, prepared: PreparedTable, config: Config, version: str):
    """This model against the champion, on this run's evaluation (see
    :func:`intent_model.training.promote.compare_table_with_champion`)."""
    return compare_table_with_champion(
        tracking_uri,
        version,
        model,
        prepared.table.frame,
        prepared.X,
        prepared.y,
        prepared.evaluation,
        prepared.as_of,
        config,
    )


def _judged(prepared: PreparedTable, predictions: dict, config: Config):
    """The evaluation metrics of every row of the comparison, the alerts (a leak learnt, a
    model without signal), the no-signal alert alone (None: the model has signal), and the
    models' 90% intervals from resampling the evaluated leads (added to the metrics)."""
    evaluated = prepared.evaluation.holdout
    y_eval = prepared.y[evaluated]
    metrics = {kind: classification_metrics(y_eval, p, None) for kind, p in predictions.items()}
    for kind in set(metrics) - set(MODEL_KINDS):
        # Not calibrated: probabilities' errors would say nothing of what a column is worth.
        metrics[kind] |= {"brier": float("nan"), "ece": float("nan")}
    alerts = _leak_alerts(metrics, prepared.checks, config.table.model_warning_auc)
    no_signal = no_signal_alert(metrics, prepared.checks)
    alerts += [no_signal] if no_signal else []
    for alert in alerts:
        warnings.warn(alert, LeakWarning, stacklevel=4)
    intervals = intervals_by_lead(
        prepared.lead_ids[evaluated],
        y_eval,
        {kind: predictions[kind] for kind in MODEL_KINDS},
        MAIN_MODEL,
        seed=config.training.random_state,
    )
    add_intervals(metrics, intervals)
    return metrics, alerts, no_signal, intervals


# Suspected columns shown both ways, at most (the strongest first): each costs a fit.
BOTH_WAYS_COLUMNS = 3
# A model this close to chance has no signal to rank leads with.
NO_SIGNAL_AUC = 0.55
# ... while the left-out columns would have made it useful by at least this much.
USEFUL_GAIN_AUC = 0.05


def _without_suspected(prepared: PreparedTable, config: Config, say) -> dict[str, np.ndarray]:
    """Scores of the gradient boosting without each suspected column (its first candidate,
    not calibrated, on the evaluation's splits): the model the other way, for a person to
    decide."""
    checks = prepared.checks
    suspected = checks[checks["suspected"]].sort_values("single_column_auc", ascending=False)
    found = {}
    spec = prepared.spec
    rows, splits = _comparison_splits(prepared, config)
    for column in suspected["column"].head(BOTH_WAYS_COLUMNS):
        say(f"fitting the gradient boosting WITHOUT {column}, for comparison")
        dropped = [f for f in spec.feature_names if spec.source_of(f) == column]
        scores = out_of_sample_scores(
            comparison_estimator(config, spec.category_groups(without=(column,))),
            prepared.X.iloc[rows].drop(columns=dropped),
            prepared.y[rows],
            splits,
            config.runtime.jobs or 1,
        )
        found[f"without_{column}"] = _on_all_rows(scores, rows, len(prepared.y))
    return found


def no_signal_alert(metrics: dict, checks: pd.DataFrame) -> str | None:
    """Why this model must not be used, when it ranks near chance (or no better than the
    points rule) while the left-out columns would make it useful; None otherwise."""
    auc = metrics[MAIN_MODEL]["roc_auc"]
    rule = metrics.get("points_rule", {}).get("roc_auc", 0.5)
    with_them = metrics.get(LEAKY, {}).get("roc_auc")
    if with_them is None or not (auc < NO_SIGNAL_AUC or auc <= rule):
        return None
    if with_them < auc + USEFUL_GAIN_AUC:
        return None
    left_out = checks.loc[checks["left_out"], "column"].tolist()
    keep = " ".join(f"--keep-column {_quoted(c)}" for c in left_out)
    return (
        f"NO SIGNAL: the model left after the leak checks ranks at AUC {auc:.3f} (points rule "
        f"{rule:.3f}); with the left-out column(s) {', '.join(left_out)} it would be "
        f"{with_them:.3f}. Read their evidence: if they were known before the outcome, keep "
        f"them ({keep}); not promoted"
    )


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _cv_splits(prepared: PreparedTable, config: Config) -> list[tuple[np.ndarray, np.ndarray]]:
    """The cross-validation folds of a table without creation dates (row positions): each
    scores a fold of the measured rows with models fit on the other folds and on the
    selection rows (which chose the model and are never measured). The same for the
    models and for the comparisons: stratified folds depend on the labels alone."""
    measured = np.flatnonzero(prepared.evaluation.holdout)
    chose = np.flatnonzero(prepared.evaluation.selection)
    folds = StratifiedKFold(
        config.table.evaluation_folds, shuffle=True, random_state=config.training.random_state
    )
    labels = prepared.y[measured]
    return [
        (np.sort(np.concatenate([chose, measured[train]])), measured[valid])
        for train, valid in folds.split(np.zeros(len(measured)), labels)
    ]


def _leak_alerts(metrics: dict, checks: pd.DataFrame, limit: float) -> list[str]:
    auc = metrics[MAIN_MODEL]["roc_auc"]
    if not auc > limit:
        return []
    kept = checks.loc[checks["kept"], "column"].tolist()
    suspects = (
        f"the flagged column(s) you kept ({', '.join(kept)}) are the first suspects"
        if kept
        else "look for a column filled in by sales after the outcome that the checks missed, "
        "and set its role to 'ignore' in [columns.roles]"
    )
    return [
        f"out-of-sample AUC {auc:.3f} is above {limit:g}: the model has almost surely learned "
        f"a leak, not intent; {suspects}"
    ]


def _input_example(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Five raw rows of the columns the model reads, as the pyfunc model takes them."""
    example = frame[["lead_id", *spec.source_columns]].head(5).reset_index(drop=True)
    for name in example.columns:
        if pd.api.types.is_datetime64_any_dtype(example[name]):
            example[name] = example[name].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        elif not pd.api.types.is_numeric_dtype(example[name]):
            example[name] = example[name].astype("string").fillna("").astype(object)
    return example


def _metadata(
    config: Config, prepared: PreparedTable, model: IntentModel, metrics: dict
) -> dict[str, Any]:
    table, checks, evaluation = prepared.table, prepared.checks, prepared.evaluation
    return common_metadata(model, config, TABLE_MODE) | {
        "label_col": table.label_col,
        "table_spec": prepared.spec.to_dict(),
        "training_as_of": prepared.as_of.isoformat(),
        "column_roles": prepared.roles.to_dict(orient="records"),
        "column_checks": checks.to_dict(orient="records"),
        "left_out_columns": checks.loc[checks["left_out"], "column"].tolist(),
        "kept_flagged_columns": checks.loc[checks["kept"], "column"].tolist(),
        "placeholders": prepared.placeholders.to_dict(orient="records"),
        "evaluation": {
            "method": evaluation.method,
            "description": evaluation.description,
            "n_selection": None
            if evaluation.selection is None
            else int(evaluation.selection.sum()),
        },
        "training_data": {
            "source": table.source,
            "accounting": table.checked.accounting(),
            "n_leads": int(len(table.label)),
            "n_positive": int(table.label.sum()),
            "n_development": int(evaluation.development.sum()),
            "n_evaluated": int(evaluation.holdout.sum()),
            "n_positive_evaluated": int(table.label[evaluation.holdout].sum()),
        },
        "metrics": metrics,
    }
