"""Our tree SHAP equals the ``shap`` library's exact TreeExplainer, and adds up to the output."""

from __future__ import annotations

import numpy as np
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier

from intent_model.scoring import treeshap
from intent_model.scoring.treeshap import TreeShap, product_game_shapley


def _rows(n_rows: int, n_features: int, seed: int, missing: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.gamma(1.0, 3.0, size=(n_rows, n_features)).round(1)
    X[rng.random(X.shape) < missing] = np.nan
    return X


def _booster(X: np.ndarray, seed: int, **parameters) -> HistGradientBoostingClassifier:
    rng = np.random.default_rng(seed)
    signal = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) + np.isnan(X[:, 2]) * 2
    y = (signal + rng.normal(0, 2, len(X)) > 0).astype(int)
    return HistGradientBoostingClassifier(random_state=seed, **parameters).fit(X, y)


def _assert_equals_shap(booster, X: np.ndarray) -> None:
    ours = TreeShap(booster)
    values = ours.shap_values(X)
    reference = shap.TreeExplainer(booster)
    np.testing.assert_allclose(values, reference.shap_values(X), atol=1e-10)
    assert ours.expected_value == pytest.approx(float(np.ravel(reference.expected_value)[0]))
    raw = booster._raw_predict(X).ravel()
    np.testing.assert_allclose(ours.expected_value + values.sum(axis=1), raw, atol=1e-10)


def test_equals_shap_on_the_models_gradient_boosting_with_missing_values(small_demo):
    from intent_model.events.training_set import build_training_set
    from intent_model.io.config import Config, GuardConfig, TrainingConfig
    from intent_model.modeling.pipeline import make_candidates

    config = Config(guards=GuardConfig(min_positives=1, min_negatives=1))
    X, y, _ = build_training_set(small_demo.events, small_demo.leads, config)
    # The model's own gradient boosting candidate, as training fits it.
    booster = make_candidates("model", TrainingConfig())[0].fit(X, y)[-1]
    _assert_equals_shap(booster, _rows(500, X.shape[1], seed=3, missing=0.2))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shape=st.sampled_from(
        [
            {"max_depth": 2, "max_iter": 20},
            {"max_depth": 4, "max_iter": 30},
            {"max_leaf_nodes": 31, "max_iter": 10, "min_samples_leaf": 5},
        ]
    ),
    tabulated=st.sampled_from([treeshap.MAX_TABULATED_FEATURES, 1]),
    lookup_bits=st.sampled_from([treeshap.MAX_LOOKUP_BITS, 2]),
)
def test_equals_shap_on_any_tree_shape_and_either_way_of_computing(
    seed, shape, tabulated, lookup_bits
):
    # Both ways (tabulated leaves / per-code games; lookup / sorted codes) give the same values.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(treeshap, "MAX_TABULATED_FEATURES", tabulated)
        patch.setattr(treeshap, "MAX_LOOKUP_BITS", lookup_bits)
        X = _rows(400, 6, seed)
        _assert_equals_shap(_booster(X, seed, **shape), _rows(200, 6, seed + 1))


@given(
    st.lists(st.tuples(st.booleans(), st.floats(0.01, 1.0)), min_size=1, max_size=7),
)
def test_a_product_games_shapley_values_add_up_to_all_minus_none(players):
    a = np.array([[float(known) for known, _ in players]])
    b = np.array([ratio for _, ratio in players])
    phi = product_game_shapley(a, b)
    assert phi.sum() == pytest.approx(np.prod(a) - np.prod(b), abs=1e-12)
    # A player whose a equals its b changes nothing: its value is zero.
    same = product_game_shapley(b[None, :], b)
    np.testing.assert_allclose(same, 0.0, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), missing=st.sampled_from([0.0, 0.2]))
def test_categorical_splits_add_up_to_the_output_and_follow_the_category_sets(seed, missing):
    rng = np.random.default_rng(seed)
    X = _rows(600, 4, seed, missing=missing)
    X[:, 0] = rng.integers(0, 12, len(X))
    X[rng.random(len(X)) < missing, 0] = np.nan
    effect = rng.normal(0, 2, 12)
    y = (np.nan_to_num(effect[np.nan_to_num(X[:, 0], nan=0).astype(int)]) + X[:, 1] > 2).astype(int)
    booster = HistGradientBoostingClassifier(
        categorical_features=[True, False, False, False], max_iter=15, random_state=seed
    ).fit(X, y)
    assert any(tree.nodes["is_categorical"].any() for (tree,) in booster._predictors)
    rows = _rows(300, 4, seed + 1, missing=missing)
    rows[:, 0] = rng.integers(0, 12, len(rows))
    encoded = booster._preprocessor.transform(rows)  # the categorical column first
    explainer = TreeShap(booster)
    values = explainer.shap_values(encoded)
    raw = booster._raw_predict(rows).ravel()
    np.testing.assert_allclose(explainer.expected_value + values.sum(axis=1), raw, atol=1e-10)
    # A feature no tree splits on gets nothing.
    used = {int(f) for (tree,) in booster._predictors for f in tree.nodes["feature_idx"]}
    for feature in set(range(4)) - used:
        assert (values[:, feature] == 0).all()
