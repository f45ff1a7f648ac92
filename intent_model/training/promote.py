"""The promotion gate: the ``champion`` alias moves only to a model that beats it
on the same out-of-time data, by the metric named in ``[training] promotion_metric``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError, ModelError
from intent_model.events.inputs import EventsInput, LeadsInput
from intent_model.events.training_set import build_training_set
from intent_model.io.config import Config, LabelConfig, with_columns
from intent_model.modeling import tracking
from intent_model.modeling.evaluate import classification_metrics
from intent_model.modeling.metadata import ModelInfo
from intent_model.modeling.model import IntentModel
from intent_model.modeling.split import TableEvaluation, choose_evaluation
from intent_model.table.roles import load_lead_table

LOWER_IS_BETTER = {"log_loss", "brier", "ece"}


@dataclass(frozen=True)
class PromotionResult:
    """Whether the challenger became champion, with both scores and a sentence for people."""

    promoted: bool
    metric: str
    challenger_version: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    message: str


def beats(metric: str, challenger: float, champion: float) -> bool:
    """True when ``challenger`` is strictly better than ``champion`` on ``metric``."""
    return challenger < champion if metric in LOWER_IS_BETTER else challenger > champion


def not_comparable(challenger: dict, champion: dict, features_rebuilt: bool) -> str | None:
    """Why two event models' figures cannot be compared on one evaluation, or None.

    Labels come from the hard event types and the label settings: when the two
    models disagree on those, the same data gives each different labels. When
    only the rest of the taxonomy differs, each model's features must be built
    with its own (``features_rebuilt``), as ``intent-model promote`` does.
    """
    mine, theirs = challenger.get("taxonomy"), champion.get("taxonomy")
    if mine is None or theirs is None:
        return None
    hard = {t for t, c in mine["classes"].items() if c == "hard"}
    their_hard = {t for t, c in theirs["classes"].items() if c == "hard"}
    if hard != their_hard:
        differ = sorted(hard ^ their_hard)
        return (
            "their taxonomies count different event types as hard ("
            + ", ".join(differ[:5])
            + "), so the same data gives each other labels"
        )
    labels = ("horizon_days", "label_col", "exclude_recent_hard_days", "stop_after_first_positive")
    mine_labels = challenger.get("config", {}).get("labels", {})
    their_labels = champion.get("config", {}).get("labels", {})
    changed = [k for k in labels if mine_labels.get(k) != their_labels.get(k)]
    if changed:
        return f"their label settings differ ({', '.join(changed)})"
    if not features_rebuilt and dict(mine["classes"]) != dict(theirs["classes"]):
        return (
            "their taxonomies differ, and each model must see features built with its own: "
            "run `intent-model promote`, which builds them so"
        )
    return None


def compare_with_champion(
    tracking_uri: str,
    registered_model: str,
    challenger_version: str,
    challenger: IntentModel,
    X_holdout: pd.DataFrame,
    y_holdout: pd.Series | np.ndarray,
    metric: str,
    champion_features: pd.DataFrame | None = None,
    champion: IntentModel | None = None,
    *,
    challenger_metadata: dict | None = None,
    champion_metadata: dict | None = None,
    features_rebuilt: bool = False,
) -> PromotionResult:
    """Score challenger and champion on the same held-out snapshots; move the alias if earned.

    ``champion_features`` are the same snapshots built with the champion's own
    feature spec and taxonomy, when they differ from the challenger's.
    ``champion`` is the champion's model when the caller has loaded it already.
    Event models whose figures cannot be compared (see :func:`not_comparable`)
    are refused with the reason.
    """
    score = classification_metrics(y_holdout, challenger.predict_proba(X_holdout))[metric]
    champion_version = tracking.alias_version(tracking_uri, registered_model, tracking.CHAMPION)
    result = partial(PromotionResult, metric=metric, challenger_version=challenger_version)
    result = partial(result, challenger_score=score, champion_version=champion_version)
    if champion_version == challenger_version:
        message = f"version {challenger_version} is already the champion ({metric} {score:.4f})"
        return result(promoted=False, champion_score=score, message=message)
    if champion_version is None:
        tracking.set_alias(tracking_uri, registered_model, tracking.CHAMPION, challenger_version)
        message = (
            f"version {challenger_version} is now the champion (there was none to beat; "
            f"{metric} {score:.4f})"
        )
        return result(promoted=True, champion_score=None, message=message)
    if champion is None or champion_metadata is None:
        champion, champion_metadata = tracking.registered_bundle(
            tracking_uri, f"models:/{registered_model}@{tracking.CHAMPION}"
        )
    features = champion_features if champion_features is not None else X_holdout
    reason = _why_not_comparable(
        challenger_metadata, champion_metadata, features_rebuilt, champion, features
    )
    if reason:
        message = (
            f"not promoted: version {challenger_version} and champion version "
            f"{champion_version} cannot be compared: {reason}"
        )
        return result(promoted=False, champion_score=None, message=message)
    champion_score = classification_metrics(y_holdout, champion.predict_proba(features))[metric]
    gap = score - champion_score
    if not beats(metric, score, champion_score):
        message = (
            f"not promoted: version {challenger_version} {metric} {score:.4f} against champion "
            f"version {champion_version} {champion_score:.4f}: short by {abs(gap):.4f}"
        )
        return result(promoted=False, champion_score=champion_score, message=message)
    tracking.set_alias(tracking_uri, registered_model, tracking.CHAMPION, challenger_version)
    message = (
        f"promoted: version {challenger_version} {metric} {score:.4f} beats champion "
        f"version {champion_version} {champion_score:.4f} ({gap:+.4f}); it is now the champion"
    )
    return result(promoted=True, champion_score=champion_score, message=message)


def _why_not_comparable(
    challenger_metadata: dict | None,
    champion_metadata: dict,
    features_rebuilt: bool,
    champion: IntentModel,
    features: pd.DataFrame,
) -> str | None:
    if challenger_metadata is not None:
        reason = not_comparable(challenger_metadata, champion_metadata, features_rebuilt)
        if reason:
            return reason
    missing = [name for name in champion.feature_names if name not in features.columns]
    if missing:
        return (
            f"the champion needs features this data lacks ({', '.join(missing[:5])}); run "
            "`intent-model promote` with the raw data"
        )
    return None


def promote(
    events: EventsInput | None,
    leads: LeadsInput = None,
    config: Config | None = None,
    *,
    version: str | None = None,
    tracking_uri: str | None = None,
    columns: dict[str, str] | None = None,
) -> PromotionResult:
    """Compare a registered version (default: the ``challenger``) with the ``champion``
    on the challenger's held-out data, and promote it if it wins.

    With events: the challenger's held-out cutoffs; each model scores features
    built with its own feature spec and taxonomy, so models trained with other
    windows or taxonomies are compared like with like (or refused, when the
    same data would give them different labels). Without events, a lead table
    model (``[table] registered_model``): the newest leads, as in training,
    each model encoding them its own way.

    Raises
    ------
    ModelError
        When there is no such version, or no challenger.
    """
    config = with_columns(config, columns)
    if events is None:
        if leads is None:
            raise ConfigError("nothing to compare on: give events, or a lead table (--leads)")
        return _promote_table(leads, config, version, tracking_uri)
    training = config.training
    uri = tracking_uri or training.tracking_uri
    name = training.registered_model
    version, challenger, metadata = _challenger(uri, name, version)
    holdout_of = _holdout_builder(events, leads, config, version, metadata)
    X_holdout, y_holdout = holdout_of(metadata)
    champion_features = champion = champion_metadata = None
    champion_version = tracking.alias_version(uri, name, tracking.CHAMPION)
    if champion_version not in (None, version):
        champion, champion_metadata = tracking.registered_bundle(
            uri, f"models:/{name}/{champion_version}"
        )
        same_inputs = champion_metadata["feature_spec"] == metadata["feature_spec"] and (
            champion_metadata.get("taxonomy") == metadata.get("taxonomy")
        )
        if not same_inputs and not not_comparable(metadata, champion_metadata, True):
            champion_features, _ = holdout_of(champion_metadata)
    return compare_with_champion(
        uri,
        name,
        version,
        challenger,
        X_holdout,
        y_holdout,
        training.promotion_metric,
        champion_features,
        champion,
        challenger_metadata=metadata,
        champion_metadata=champion_metadata,
        features_rebuilt=True,
    )


def _holdout_builder(
    events: EventsInput, leads: LeadsInput, config: Config, version: str, metadata: dict
) -> Callable[[dict], tuple[pd.DataFrame, pd.Series]]:
    """``holdout_of(model_metadata)``: the challenger's held-out snapshots, with features
    built with that model's own spec and taxonomy, and labelled as the challenger was."""
    labels = LabelConfig(
        **{
            k: v
            for k, v in metadata["config"]["labels"].items()
            if k in LabelConfig.__dataclass_fields__
        }
    )
    data_config = config.replace(labels=labels)
    held_out = pd.to_datetime(metadata["training_data"]["holdout_cutoffs"], utc=True)

    def holdout_of(model_metadata: dict) -> tuple[pd.DataFrame, pd.Series]:
        info = ModelInfo(model_metadata)
        snapshots = build_training_set(
            events, leads, data_config, taxonomy=info.taxonomy, spec=info.feature_spec, check=False
        )
        rows = snapshots.keys["cutoff"].isin(held_out).to_numpy()
        if not rows.any():
            raise ModelError(
                f"the data has none of version {version}'s held-out cutoffs "
                f"({', '.join(metadata['training_data']['holdout_cutoffs'])})"
            )
        return snapshots.X[rows], snapshots.y[rows]

    return holdout_of


def _challenger(uri: str, name: str, version: str | None) -> tuple[str, IntentModel, dict]:
    """The version to promote (default: the ``challenger`` alias), its model and metadata."""
    version = version or tracking.alias_version(uri, name, tracking.CHALLENGER)
    if version is None:
        raise ModelError(f"no version of {name} has the alias challenger in {uri}; train first")
    model, metadata = tracking.registered_bundle(uri, f"models:/{name}/{version}")
    return version, model, metadata


def _promote_table(
    leads: LeadsInput, config: Config, version: str | None, tracking_uri: str | None
) -> PromotionResult:
    uri = tracking_uri or config.training.tracking_uri
    name = config.table.registered_model
    version, challenger, metadata = _challenger(uri, name, version)
    info = ModelInfo(metadata)
    if not info.is_table_model:
        raise ModelError(f"version {version} of {name} was not trained on a lead table")
    table = load_lead_table(leads, config, info.label_col)
    evaluation = choose_evaluation(table.frame, table.label, config)
    if evaluation.method != "out-of-time":
        raise ConfigError(
            "promoting a lead table model needs an out-of-time comparison: give the creation "
            "date column (--created-at-col)"
        )
    as_of = pd.Timestamp(metadata["training_as_of"])
    features = info.table_spec.encode(table.frame, as_of)
    return compare_table_with_champion(
        uri, version, challenger, table.frame, features, table.label, evaluation, as_of, config
    )


def compare_table_with_champion(
    tracking_uri: str,
    version: str,
    model: IntentModel,
    frame: pd.DataFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    evaluation: TableEvaluation,
    as_of: pd.Timestamp,
    config: Config,
) -> PromotionResult:
    """Compare a table model with the champion on the newest leads, each model encoding them
    its own way."""
    name = config.table.registered_model
    out = evaluation.holdout
    champion = champion_features = champion_metadata = None
    champion_version = tracking.alias_version(tracking_uri, name, tracking.CHAMPION)
    if champion_version not in (None, version):
        champion, champion_metadata = tracking.registered_bundle(
            tracking_uri, f"models:/{name}@{tracking.CHAMPION}"
        )
        if not ModelInfo(champion_metadata).is_table_model:
            metric = config.training.promotion_metric
            score = classification_metrics(y[out], model.predict_proba(X[out]))[metric]
            return PromotionResult(
                False,
                metric,
                version,
                score,
                champion_version,
                None,
                f"not promoted: the champion of {name} (version {champion_version}) was not "
                "trained on a lead table; register table models under their own name "
                "([table] registered_model)",
            )
        champion_features = ModelInfo(champion_metadata).table_spec.encode(frame[out], as_of)
    return compare_with_champion(
        tracking_uri,
        name,
        version,
        model,
        X[out],
        y[out],
        config.training.promotion_metric,
        champion_features=champion_features,
        champion=champion,
        champion_metadata=champion_metadata,
    )
