"""Loading a model never runs code from its files: forged, foreign and old bundles are refused."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import joblib
import mlflow
import numpy as np
import pandas as pd
import pytest
import skops.io
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_model.cli import main
from intent_model.errors import ModelError
from intent_model.modeling import persist
from intent_model.modeling.bundle import load_bundle, sha256_of
from intent_model.modeling.pipeline import CategoryEncoding
from intent_model.scoring.loaded import load_model
from intent_model.scoring.predict import predict


class WritesAFile:
    """A pickle payload: unpickling it runs a shell command that creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Gadget:
    """A type no intent_model model is made of."""


def _bundle_copy(trained, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(trained[1] / "models" / "first", copy)
    return copy


def _rewrite_checksum(bundle: Path, model_file: str) -> None:
    """What a forger who can write the folder does: make the metadata match the file."""
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata["model_sha256"] = sha256_of(bundle / model_file)
    (bundle / "metadata.json").write_text(json.dumps(metadata))


@pytest.fixture(scope="module")
def tree_model(small_demo):
    """A model whose chosen candidate is the gradient boosting, trained as training fits
    it (the small fixture data may choose a simpler candidate)."""
    from intent_model.events.training_set import build_training_set
    from intent_model.io.config import Config, GuardConfig, TrainingConfig
    from intent_model.modeling.model import IntentModel
    from intent_model.modeling.pipeline import CalibratedIntentClassifier, make_candidates

    config = Config(guards=GuardConfig(min_positives=1, min_negatives=1))
    X, y, keys = build_training_set(small_demo.events, small_demo.leads, config)
    classifier = CalibratedIntentClassifier([make_candidates("model", TrainingConfig())[0]])
    classifier.fit(X, y, keys["lead_id"].astype(str).to_numpy())
    return IntentModel(classifier, list(X.columns), 0.5, {"A": 0.5, "B": 0.3, "C": 0.1})


def _features(model, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = rng.gamma(1.0, 3.0, size=(n, len(model.feature_names)))
    return pd.DataFrame(values, columns=model.feature_names)


@pytest.mark.parametrize("model_file", [persist.MODEL_FILE, persist.LEGACY_MODEL_FILE])
def test_a_forged_bundle_is_refused_by_cli_and_api_and_never_runs(
    trained, small_demo, tmp_path, capsys, model_file
):
    bundle = _bundle_copy(trained, tmp_path)
    marker = tmp_path / "pwned"
    (bundle / persist.MODEL_FILE).unlink()
    (bundle / model_file).write_bytes(pickle.dumps(WritesAFile(marker)))
    _rewrite_checksum(bundle, model_file)

    with pytest.raises(ModelError, match="not a model file written by intent_model|previous"):
        load_model(bundle)
    small_demo.events.to_parquet(tmp_path / "events.parquet")
    code = main(
        [
            *("predict", "--model", str(bundle)),
            *("--events", str(tmp_path / "events.parquet"), "--out", str(tmp_path / "s.csv")),
        ]
    )
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.startswith("error:") and len(error.splitlines()) == 1
    assert not marker.exists()
    assert not (tmp_path / "s.csv").exists()


def test_a_forged_mlflow_model_is_refused_by_the_pyfunc_and_never_runs(trained, tmp_path):
    _, _, uri = trained
    mlflow.set_tracking_uri(uri)
    local = Path(mlflow.artifacts.download_artifacts("models:/lead-intent/1", dst_path=tmp_path))
    files = local / "artifacts"
    marker = tmp_path / "pwned"
    (files / persist.MODEL_FILE).write_bytes(pickle.dumps(WritesAFile(marker)))
    _rewrite_checksum(files, persist.MODEL_FILE)
    with pytest.raises(Exception, match="not a model file written by intent_model"):
        mlflow.pyfunc.load_model(str(local))
    assert not marker.exists()


def test_a_model_holding_a_foreign_type_is_refused_naming_it(trained, tmp_path):
    bundle = _bundle_copy(trained, tmp_path)
    model = load_bundle(bundle)[0]
    model.classifier.gadget_ = Gadget()
    persist.dump_model(model, bundle / persist.MODEL_FILE)
    _rewrite_checksum(bundle, persist.MODEL_FILE)
    assert f"{__name__}.Gadget" not in persist.MODEL_TYPES
    with pytest.raises(
        ModelError, match=rf"type\(s\) no intent_model model is made of: {__name__}"
    ):
        load_bundle(bundle)


def _packed_copy(model):
    """What a forger edits: the model as it would be saved, and its trees' node records."""
    saved = persist._with_packed_trees(model)
    packed = saved.classifier.estimator_[-1]._predictors
    packed.nodes = packed.nodes.copy()
    return saved, packed.nodes


def _assert_refused(saved, path: Path, problem: str) -> None:
    skops.io.dump(saved, path)
    with pytest.raises(ModelError, match=problem):
        persist.load_model_file(path)


def test_malformed_trees_are_refused_before_scikit_learn_reads_them(tree_model, tmp_path):
    model = tree_model
    saved, nodes = _packed_copy(model)
    split = np.flatnonzero(nodes["is_leaf"] == 0)[0]
    nodes["left"][split] = 10**6
    _assert_refused(saved, tmp_path / "model.skops", "a child outside its tree")
    nodes["left"][split] = model.classifier.estimator_[-1]._predictors[0][0].nodes["left"][0]
    nodes["feature_idx"][split] = len(model.feature_names)
    _assert_refused(saved, tmp_path / "model.skops", "a feature the model does not have")


def test_a_model_round_trips_with_identical_p_hard_and_is_not_changed_by_saving(
    tree_model, tmp_path
):
    model = tree_model
    features = _features(model)
    before = model.predict_proba(features)
    persist.dump_model(model, tmp_path / "model.skops")
    # Saving packs a copy: the model in memory keeps scikit-learn's own trees.
    assert isinstance(model.classifier.estimator_[-1]._predictors, list)
    again = persist.load_model_file(tmp_path / "model.skops")
    np.testing.assert_array_equal(again.predict_proba(features), before)
    assert set(persist.types_in(tmp_path / "model.skops")) <= persist.MODEL_TYPES


def test_an_old_bundle_is_refused_with_how_to_convert_and_converts(
    trained, small_demo, tmp_path, capsys
):
    bundle = _bundle_copy(trained, tmp_path)
    model = load_bundle(bundle)[0]
    (bundle / persist.MODEL_FILE).unlink()
    joblib.dump(model, bundle / persist.LEGACY_MODEL_FILE)
    _rewrite_checksum(bundle, persist.LEGACY_MODEL_FILE)
    with pytest.raises(ModelError, match="previous format.*convert-bundle"):
        load_model(bundle)

    assert main(["convert-bundle", str(bundle)]) == 0
    assert "model.skops" in capsys.readouterr().out
    assert not (bundle / persist.LEGACY_MODEL_FILE).exists()
    converted = load_model(bundle)
    features = _features(model)
    np.testing.assert_array_equal(
        converted.model.predict_proba(features), model.predict_proba(features)
    )
    scores = predict(bundle, small_demo.events, small_demo.leads).scores
    assert len(scores) == small_demo.leads["lead_id"].nunique()


@pytest.fixture(scope="module")
def category_model():
    """A model whose gradient boosting splits a categorical column's categories."""
    from intent_model.io.config import TrainingConfig
    from intent_model.modeling.model import IntentModel
    from intent_model.modeling.pipeline import CalibratedIntentClassifier, make_candidates

    rng = np.random.default_rng(4)
    n = 3000
    category = rng.integers(0, 6, n)
    X = pd.DataFrame({"visits": rng.gamma(1.0, 3.0, n), "has_plan": 1.0})
    for k in range(6):
        X[f"plan={k}"] = (category == k).astype(float)
    X.loc[rng.random(n) < 0.1, ["has_plan", *(f"plan={k}" for k in range(6))]] = 0.0
    y = (rng.random(n) < np.array([0.1, 0.6, 0.2, 0.7, 0.3, 0.5])[category]).astype(int)
    groups = (("plan", ("has_plan", *(f"plan={k}" for k in range(6)))),)
    candidate = make_candidates("model", TrainingConfig(), categories=groups)[0]
    classifier = CalibratedIntentClassifier([candidate])
    classifier.fit(X, y, np.arange(n).astype(str))
    return IntentModel(classifier, list(X.columns), 0.5, {"A": 0.5, "B": 0.3, "C": 0.1}), X


def test_a_model_with_category_splits_round_trips_and_a_bad_category_set_is_refused(
    category_model, tmp_path
):
    model, X = category_model
    booster = model.classifier.estimator_[-1]
    assert any(tree.nodes["is_categorical"].any() for (tree,) in booster._predictors)
    before = model.predict_proba(X)
    persist.dump_model(model, tmp_path / "model.skops")
    again = persist.load_model_file(tmp_path / "model.skops")
    assert isinstance(again.classifier.estimator_[-1]._preprocessor, CategoryEncoding)
    np.testing.assert_array_equal(again.predict_proba(X), before)
    # A category the model never saw scores as a lead that did not say.
    unseen = X.head(50).assign(**{f"plan={k}": 0.0 for k in range(6)})
    not_given = unseen.assign(has_plan=0.0)
    np.testing.assert_array_equal(again.predict_proba(unseen), model.predict_proba(not_given))
    assert set(persist.types_in(tmp_path / "model.skops")) <= persist.MODEL_TYPES

    saved, nodes = _packed_copy(model)
    split = np.flatnonzero(nodes["is_categorical"] == 1)[0]
    nodes["bitset_idx"][split] = 10**4
    _assert_refused(saved, tmp_path / "forged.skops", "a category set the tree does not have")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_categories=st.integers(1, 12))
def test_the_saved_category_encoding_is_scikit_learns_column_transformer(seed, n_categories):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 3))
    X[:, 1] = rng.integers(0, n_categories, 400) * 1.0
    X[rng.random(400) < 0.1, 1] = np.nan
    y = rng.integers(0, 2, 400)
    booster = HistGradientBoostingClassifier(
        categorical_features=[False, True, False], max_iter=3
    ).fit(X, y)
    rows = rng.normal(size=(200, 3))
    # Seen, unseen (negative, too large, fractional) and missing categories.
    rows[:, 1] = rng.choice([*range(n_categories), -1, n_categories + 3, 0.5, np.nan], 200)
    np.testing.assert_array_equal(
        CategoryEncoding.of(booster._preprocessor).transform(rows),
        booster._preprocessor.transform(rows),
    )
