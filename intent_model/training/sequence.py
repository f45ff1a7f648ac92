"""The steps every training run shares, whatever its data: fix the operating point, save the
bundle, log and register it in MLflow, and offer it for promotion.

A mode (:mod:`intent_model.training.from_events`, :mod:`intent_model.training.from_table`)
builds its features, fits and evaluates, then hands a :class:`Trained` to
:func:`save_and_register`. What differs between the modes is a named field of
:class:`Trained`, not a second copy of the sequence.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import matplotlib
import mlflow
import numpy as np
import pandas as pd
import pyarrow
import sklearn
import skops

from intent_model.events.inputs import Progress
from intent_model.io.config import Config
from intent_model.modeling import tracking
from intent_model.modeling.bundle import (
    CARD_FILE,
    PLOTS_DIR,
    staged_bundle,
    write_metadata,
    write_model,
)
from intent_model.modeling.evaluate import (
    choose_threshold,
    choose_tier_bounds,
    family_importance,
)
from intent_model.modeling.model import IntentModel
from intent_model.modeling.persist import MODEL_FORMAT
from intent_model.modeling.pipeline import MAIN_MODEL
from intent_model.modeling.plots import DPI
from intent_model.runtime import StageTimes
from intent_model.scoring.pyfunc import ENTRY_POINT, pyfunc_scores
from intent_model.training.promote import PromotionResult
from intent_model.version import __version__

IMPORTANCE_ROWS = 50_000
# The metrics a training summary prints, for every model kind.
SUMMARY_METRICS = ["roc_auc", "average_precision", "brier", "ece", "lift_top10pct"]


def add_intervals(metrics: dict, intervals: dict) -> None:
    """Each interval as two more metrics of its model (``roc_auc_low``, ``roc_auc_high``;
    the main model's lead over another as ``roc_auc_gain_over_<kind>_low``...), so the
    MLflow run holds them beside the figure."""
    for kind, bands in intervals.items():
        target = kind.removesuffix("_gain")
        owner, suffix = (
            (MAIN_MODEL, f"_gain_over_{target}")
            if kind.endswith("_gain")
            else (
                kind,
                "",
            )
        )
        for metric, band in bands.items():
            if band and owner in metrics:
                metrics[owner][f"{metric}{suffix}_low"] = band[0]
                metrics[owner][f"{metric}{suffix}_high"] = band[1]


def metrics_lines(metrics: pd.DataFrame) -> str:
    """The summary's metrics table: a row per model kind, four decimals."""
    return metrics[SUMMARY_METRICS].to_string(float_format=lambda v: f"{v:.4f}")


def sampled_importance(
    predict_proba: Callable,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: dict,
    seed: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Permutation importance of each group of features on (a sample of at most
    ``IMPORTANCE_ROWS``) rows the model did not learn from; ``n_jobs`` predictions at once."""
    sample = sample_rows(len(X), IMPORTANCE_ROWS, seed)
    return family_importance(
        lambda frame: predict_proba(frame)[:, 1],
        X.iloc[sample],
        np.asarray(y)[sample],
        groups,
        random_state=seed,
        n_jobs=n_jobs,
    )


@dataclass
class Trained:
    """A fitted and evaluated model with everything its bundle and MLflow run record.

    Attributes
    ----------
    model : IntentModel
    metadata : dict
        The bundle's ``metadata.json`` (the sequence adds the checksum and MLflow record).
    metrics : dict
        Out-of-sample metrics per model kind.
    figures : dict or list
        ``plots/<name>`` of the bundle: matplotlib Figures or PNG files' bytes, by name;
        or a list of such parts, each perhaps a future (drawn in a worker process).
    tables : dict
        CSV files of the bundle, by file name.
    card : callable
        Renders the model card from the metadata (called before and after tracking,
        so that the card names the run and version).
    input_example : pandas.DataFrame
        Rows as the MLflow pyfunc takes them (its signature is inferred from them).
    experiment, registered_model : str
        Where the run is logged and the model registered.
    params, tags : dict
        Added to the MLflow run (the config's settings are always logged).
    step_metrics : dict
        Metrics logged per step (e.g. per held-out cutoff), by step number.
    any_type_columns : tuple
        Input columns the signature lets take any type.
    request_columns : tuple
        Columns of the pyfunc's second input form (events rows with the lead's profile).
    compare : callable, optional
        ``compare(version) -> PromotionResult``: the champion comparison of this mode.
    times : StageTimes
        Seconds per stage so far; the sequence adds its own, logs them to the run
        as ``time_<stage>_s`` metrics, and the summary prints them.
    """

    model: IntentModel
    metadata: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    figures: dict[str, Any] | list[dict[str, Any] | Future]
    tables: dict[str, pd.DataFrame]
    card: Callable[[], str]
    input_example: pd.DataFrame
    experiment: str
    registered_model: str
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    step_metrics: dict[int, dict[str, float]] = field(default_factory=dict)
    any_type_columns: tuple[str, ...] = ()
    request_columns: tuple[str, ...] = ()
    compare: Callable[[str], PromotionResult] | None = None
    times: StageTimes = field(default_factory=StageTimes)


@dataclass(frozen=True)
class Registration:
    """Where a training run ended: the MLflow run, the registry version, the promotion."""

    run_id: str | None = None
    version: str | None = None
    promotion: PromotionResult | None = None


def operating_model(main: Any, feature_names: list[str], tier_shares: Any) -> IntentModel:
    """The fitted main model with its threshold and tier bounds, both chosen on its
    out-of-fold development predictions (never on the evaluation rows)."""
    return IntentModel(
        classifier=main,
        feature_names=list(feature_names),
        threshold=choose_threshold(main.oof_labels_, main.oof_proba_),
        tier_bounds=choose_tier_bounds(main.oof_proba_, tier_shares),
    )


def save_and_register(
    trained: Trained,
    out: str | Path,
    config: Config,
    tracking_uri: str,
    *,
    track: bool,
    promote: bool,
    say: Progress,
) -> Registration:
    """Write the bundle atomically; with ``track``, log the run, register the model and,
    with ``promote``, compare it with the champion.

    Everything lands in a staged copy of the bundle that replaces ``out`` only
    when the whole sequence has succeeded.
    """
    out = Path(out)
    registration = Registration()
    times = trained.times
    with staged_bundle(out) as stage, times.stage("write and register"):
        trained.metadata["model_sha256"] = write_model(stage, trained.model)
        trained.metadata["model_format"] = MODEL_FORMAT
        write_figures(stage / PLOTS_DIR, trained.figures)
        for name, table in trained.tables.items():
            table.to_csv(stage / name, index=False)
        if track:
            say(f"logging the MLflow run to {tracking_uri}")
            registration = _track(trained, stage, out.name, config, tracking_uri)
            if promote and trained.compare is not None:
                with times.stage("promotion"):
                    promotion = trained.compare(registration.version)
                say(promotion.message)
                registration = dataclasses.replace(registration, promotion=promotion)
        write_metadata(stage, trained.metadata)
        (stage / CARD_FILE).write_text(trained.card())
    say(f"saved the bundle to {out}")
    return registration


def _track(
    trained: Trained, stage: Path, run_name: str, config: Config, tracking_uri: str
) -> Registration:
    metadata = trained.metadata
    with tracking.training_run(tracking_uri, trained.experiment, run_name) as run_id:
        metadata["mlflow"] = tracking.run_record(
            run_id, tracking_uri, trained.experiment, trained.registered_model
        )
        write_metadata(stage, metadata)
        (stage / CARD_FILE).write_text(trained.card())
        tracking.log_params(flatten(dataclasses.asdict(config)) | trained.params)
        if trained.tags:
            tracking.set_tags(trained.tags)
        for kind, values in trained.metrics.items():
            tracking.log_metrics({f"{kind}.{k}": v for k, v in values.items()})
        for step, values in trained.step_metrics.items():
            tracking.log_metrics(values, step=step)
        # Every stage before this one (writing and registering is still running).
        tracking.log_metrics(trained.times.metrics())
        tracking.log_artifacts(stage)
        _, version = tracking.log_and_register_model(
            stage,
            ENTRY_POINT,
            input_example=trained.input_example,
            output_example=pyfunc_scores(trained.model, metadata, trained.input_example),
            registered_model=trained.registered_model,
            pip_requirements=requirements(),
            any_type_columns=trained.any_type_columns,
            request_columns=trained.request_columns,
        )
    metadata["mlflow"]["version"] = version
    return Registration(run_id=run_id, version=version)


def outcome_lines(result: Any) -> list[str]:
    """Threshold, tiers, where the bundle is, the MLflow run and version, the promotion,
    the time per stage."""
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
    if result.stage_seconds:
        times = StageTimes()
        times.seconds = dict(result.stage_seconds)
        lines.append(times.line())
    return lines


def common_metadata(model: IntentModel, config: Config, mode: str) -> dict[str, Any]:
    """The metadata every bundle carries, whatever it was trained on."""
    return {
        "mode": mode,
        "intent_model_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "feature_names": list(model.feature_names),
        "config": dataclasses.asdict(config),
        "calibration": config.training.calibration,
        "threshold": model.threshold,
        "threshold_rule": "maximises F1 on out-of-fold development predictions",
        "tier_bounds": model.tier_bounds,
        "tier_rule": "validation-score quantiles for shares " + str(config.training.tier_shares),
        "versions": package_versions(),
    }


def sample_rows(n: int, at_most: int, seed: int) -> np.ndarray:
    """At most ``at_most`` sorted row positions of ``n``, drawn with ``seed``."""
    if n <= at_most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, at_most, replace=False))


def write_figures(directory: Path, figures: dict | list[dict | Future]) -> None:
    """Each figure as ``directory/<name>``: a matplotlib Figure, or the PNG file's bytes
    (drawn elsewhere); ``figures`` by name, or in parts, a future of a part waited for."""
    directory.mkdir(parents=True, exist_ok=True)
    for part in figures if isinstance(figures, list) else [figures]:
        for name, figure in (part.result() if isinstance(part, Future) else part).items():
            if isinstance(figure, bytes):
                (directory / name).write_bytes(figure)
            else:
                figure.savefig(directory / name, dpi=DPI)


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
        "skops": skops.__version__,
    }


def requirements() -> list[str]:
    """The pip requirements logged with the MLflow model."""
    return [
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"joblib=={joblib.__version__}",
        f"pyarrow=={pyarrow.__version__}",
        f"mlflow=={mlflow.__version__}",
        f"skops=={skops.__version__}",
        "intent_model",
    ]


def flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``section.key`` parameters (a taxonomy's aliases stay whole)."""
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "aliases":
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def timed(progress: Progress | None) -> Progress:
    """A progress callback that prefixes each line with the seconds since training began."""
    started = time.perf_counter()

    def say(message: str) -> None:
        if progress:
            progress(f"[{time.perf_counter() - started:6.1f} s] {message}")

    return say
