"""Training end to end: bundle, MLflow run and registry, pyfunc parity, determinism, promotion."""

from __future__ import annotations

import json
import warnings

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from intent_model.errors import ModelError
from intent_model.events.training_set import build_training_set
from intent_model.modeling.bundle import load_bundle, sha256_of, staged_bundle
from intent_model.scoring.predict import predict
from intent_model.training.promote import promote
from intent_model.training.train import train
from tests.conftest import training_config as _config

warnings.filterwarnings("ignore", message=".*provided_at.*")


def test_training_writes_a_complete_bundle_with_a_matching_checksum(trained):
    result, root, _ = trained
    bundle = root / "models" / "first"
    names = {p.name for p in bundle.iterdir()}
    assert {"model.skops", "metadata.json", "model_card.md", "plots"} <= names
    assert {p.name for p in (bundle / "plots").iterdir()} >= {
        "roc_pr.png",
        "reliability.png",
        "lift_gain.png",
        "importance_by_family.png",
        "label_rate.png",
    }
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata["model_sha256"] == sha256_of(bundle / "model.skops")
    assert len(metadata["feature_names"]) == len(metadata["feature_dtypes"]) > 100
    assert metadata["threshold"] == result.threshold and set(metadata["tier_bounds"]) == set("ABC")
    assert metadata["mlflow"]["version"] == "1"
    # Nothing beside the bundle: no "latest" link following every training, no leftovers.
    assert [p.name for p in (root / "models").iterdir()] == ["first"]


def test_the_model_card_shows_the_model_beside_both_baselines(trained):
    card = (trained[1] / "models" / "first" / "model_card.md").read_text()
    for name in ("model (the chosen candidate)", "logistic regression", "points rule"):
        assert name in card
    assert "held-out (out-of-time) cutoffs" in card


def test_metrics_are_out_of_time_and_reported_for_all_three_models(trained):
    result, _, _ = trained
    assert list(result.metrics.index) == ["model", "logistic_regression", "points_rule"]
    holdout_cutoffs = set(result.holdout["cutoff"].dt.strftime("%Y-%m-%d"))
    assert holdout_cutoffs == set(result.metadata["training_data"]["holdout_cutoffs"])
    development = pd.to_datetime(result.metadata["training_data"]["development_cutoffs"], utc=True)
    assert development.max() + pd.Timedelta(days=30) <= result.holdout["cutoff"].min()
    for column in ("roc_auc", "average_precision", "log_loss", "brier", "ece", "lift_top10pct"):
        assert result.metrics[column].notna().all()
    assert result.metrics.loc["model", "roc_auc"] > 0.7
    assert len(result.per_cutoff["model"]) == 2


def test_mlflow_run_has_params_metrics_and_a_registered_challenger(trained):
    result, _, uri = trained
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(result.run_id)
    assert run.data.params["labels.horizon_days"] == "30"
    assert run.data.metrics["model.roc_auc"] == pytest.approx(
        result.metrics.loc["model", "roc_auc"]
    )
    assert "points_rule.average_precision" in run.data.metrics
    version = client.get_model_version_by_alias("lead-intent", "challenger")
    assert str(version.version) == "1" and version.run_id == result.run_id
    assert str(client.get_model_version_by_alias("lead-intent", "champion").version) == "1"
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"model_card.md", "metadata.json", "plots"} <= artifacts


def test_pyfunc_from_the_registry_gives_the_bundles_probabilities(trained, small_demo):
    result, root, uri = trained
    model, metadata = load_bundle(root / "models" / "first")
    X = build_training_set(small_demo.events, small_demo.leads, _config(uri)).X.head(300)
    mlflow.set_tracking_uri(uri)
    scored = mlflow.pyfunc.load_model("models:/lead-intent/1").predict(X)
    assert list(scored.columns) == [
        "p_hard",
        "intent",
        "score",
        "tier",
        "top_reasons",
        "next_action",
        "rank",
        "model_version",
    ]
    np.testing.assert_allclose(
        scored["p_hard"].to_numpy(), model.predict_proba(X), rtol=0, atol=1e-12
    )
    assert set(scored["intent"]) <= {"hard", "soft"} and set(scored["tier"]) <= set("ABCD")
    assert scored["score"].between(0, 100).all()


def test_same_data_and_seed_give_the_same_model_and_metrics(small_demo, tmp_path):
    config = _config("unused")
    first = train(small_demo.events, small_demo.leads, tmp_path / "a", config, track=False)
    second = train(small_demo.events, small_demo.leads, tmp_path / "b", config, track=False)
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    pd.testing.assert_frame_equal(first.holdout, second.holdout)
    assert first.threshold == second.threshold and first.tier_bounds == second.tier_bounds


def test_a_challenger_that_does_not_beat_the_champion_is_not_promoted(trained, small_demo):
    _, root, uri = trained
    second = train(
        small_demo.events, small_demo.leads, root / "models" / "second", _config(uri), promote=True
    )
    assert second.model_version == "2"
    # Same data, same seed: equal, so not better.
    assert second.promotion is not None and not second.promotion.promoted
    assert "short by 0.0000" in second.promotion.message
    client = MlflowClient(tracking_uri=uri)
    assert str(client.get_model_version_by_alias("lead-intent", "champion").version) == "1"
    # What the nightly job loads is still the champion, and the summary says how to promote.
    from intent_model.scoring.loaded import load_model

    served = load_model("models:/lead-intent@champion", uri)
    assert served.metadata["mlflow"]["version"] == "1"
    assert "intent-model promote --version 2" in second.summary()
    again = promote(small_demo.events, small_demo.leads, _config(uri), version="2")
    assert not again.promoted and again.champion_version == "1"
    assert again.challenger_score == pytest.approx(again.champion_score)


def test_the_monotone_constraint_is_a_choice_the_card_states_with_its_evidence(trained, small_demo):
    bundle = trained[1] / "models" / "first"
    model, _ = load_bundle(bundle)
    choices = json.loads((bundle / "metadata.json").read_text())["model_choices"]
    constraint = choices["monotone_constraint"]
    assert any(c["monotone_constraints"] for c in choices["candidates"])
    assert any(not c["monotone_constraints"] for c in choices["candidates"])
    selected = [c for c in choices["candidates"] if c["selected"]]
    assert len(selected) == 1
    # The simplest candidate not distinguishably behind the best: every simpler one was.
    position = choices["candidates"].index(selected[0])
    assert selected[0]["behind_the_best"][0] <= 0
    assert all(c["behind_the_best"][0] > 0 for c in choices["candidates"][:position])
    assert constraint["kept"] == selected[0]["monotone_constraints"]
    card = (bundle / "model_card.md").read_text()
    verdict = "kept" if constraint["kept"] else "dropped"
    assert f"was **{verdict}**" in card
    assert (
        f"{constraint['best_with']:.4f} with it, {constraint['best_without']:.4f} without" in card
    )
    X = build_training_set(small_demo.events, small_demo.leads, _config(trained[2])).X.tail(200)
    more = X.copy()
    for column in constraint["features"]:
        more[column] = more[column] + 1
    if constraint["kept"]:
        # Kept: one more hard conversion never lowers p_hard.
        assert (model.predict_proba(more) >= model.predict_proba(X) - 1e-12).all()


def test_a_tampered_model_file_is_refused(trained, tmp_path):
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(trained[1] / "models" / "first", copy)
    with (copy / "model.skops").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelError, match="does not match"):
        load_bundle(copy)
    (copy / "model.skops").unlink()
    with pytest.raises(ModelError, match="no model.skops"):
        load_bundle(copy)
    with pytest.raises(ModelError, match="no such model directory"):
        load_bundle(tmp_path / "missing")


def test_a_crash_while_writing_a_bundle_leaves_the_old_one_whole(tmp_path):
    target = tmp_path / "model"
    with staged_bundle(target) as stage:
        (stage / "model.skops").write_text("old")
    with pytest.raises(RuntimeError), staged_bundle(target) as stage:
        (stage / "model.skops").write_text("new, half")
        raise RuntimeError("killed")
    assert (target / "model.skops").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_promotion_compares_models_with_other_taxonomies_like_with_like(tmp_path):
    from intent_model.events.taxonomy import load_taxonomy
    from intent_model.io.config import TaxonomyConfig
    from intent_model.modeling import tracking
    from intent_model.simulate.funnel import simulate_funnel

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = _config(uri)
    demo = simulate_funnel(n_leads=700, seed=21, n_days=270)
    events, leads = demo.events, demo.leads
    train(events, leads, tmp_path / "v1", config, promote=True)
    # Version 2 counts webinars as engagement, not soft: labels are the same, features differ.
    quieter = load_taxonomy(TaxonomyConfig(engagement=("webinar_registration",)))
    train(events, leads, tmp_path / "v2", config, quieter)
    forward = promote(events, leads, config, version="2")
    tracking.set_alias(uri, "lead-intent", tracking.CHAMPION, "2")
    backward = promote(events, leads, config, version="1")
    # Each model sees features built with its own taxonomy: the same two figures both ways.
    assert forward.challenger_score == pytest.approx(backward.champion_score, abs=1e-12)
    assert forward.champion_score == pytest.approx(backward.challenger_score, abs=1e-12)
    # Version 3 counts webinars as hard: the same data gives it other labels. Refused.
    harder = load_taxonomy(TaxonomyConfig(hard=("webinar_registration",)))
    third = train(events, leads, tmp_path / "v3", config, harder, promote=True)
    assert not third.promotion.promoted
    assert "cannot be compared" in third.promotion.message and "hard" in third.promotion.message
    refused = promote(events, leads, config, version="3")
    assert not refused.promoted and "webinar_registration" in refused.message


def test_training_and_scoring_say_where_their_time_went(trained, small_demo):
    result, root, uri = trained
    stages = result.stage_seconds
    assert {"read and features", "fit", "calibration", "evaluation", "write and register"} <= set(
        stages
    )
    assert all(seconds >= 0 for seconds in stages.values()) and stages["fit"] > 0
    assert "time per stage: read and features" in result.summary()
    run = MlflowClient(tracking_uri=uri).get_run(result.run_id)
    assert run.data.metrics["time_fit_s"] == pytest.approx(stages["fit"])
    scored = predict(root / "models" / "first", small_demo.events, small_demo.leads)
    assert list(scored.stage_seconds)[:3] == ["load model", "read", "features"]
    assert {"scores", "reasons", "rank"} <= set(scored.stage_seconds)
    assert "time per stage: load model" in scored.summary()
