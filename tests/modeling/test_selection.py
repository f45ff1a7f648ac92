"""The model choice on a sample of whole leads, and the final fit on every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_model.io.config import TrainingConfig
from intent_model.modeling.pipeline import make_calibrated, selection_sample
from intent_model.training.from_events import model_choices


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=60),
    at_most=st.integers(0, 400),
    seed=st.integers(0, 2**16),
)
def test_the_selection_sample_takes_whole_leads_and_at_most_the_rows_asked(sizes, at_most, seed):
    groups = np.repeat([f"L{i}" for i in range(len(sizes))], sizes)
    rows = np.random.default_rng(seed).permutation(groups)  # a lead's rows need not be adjacent
    chosen = selection_sample(rows, at_most, seed)
    assert np.all(np.diff(chosen) > 0)  # sorted positions, each once
    if at_most == 0 or len(rows) <= at_most:
        assert np.array_equal(chosen, np.arange(len(rows)))
        return
    kept = set(rows[chosen])
    # Whole leads: every row of a drawn lead is in, no row of another.
    assert set(np.flatnonzero(np.isin(rows, list(kept)))) == set(chosen)
    # At most the rows asked, unless a single lead alone has more (then that lead).
    assert len(chosen) <= at_most or len(kept) == 1
    assert len(chosen) > 0


def _table(n_leads: int, per_lead: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_leads), per_lead).astype(str)
    X = pd.DataFrame(rng.normal(size=(n_leads * per_lead, 4)), columns=list("abcd"))
    logit = 1.5 * X["a"] - X["b"] - 1.0
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, groups


def test_the_choice_folds_a_sample_and_the_chosen_model_learns_from_every_row():
    X, y, groups = _table(n_leads=600, per_lead=5)
    training = TrainingConfig(selection_rows=1000)
    model = make_calibrated("model", training).fit(X, y, groups)
    sampled = selection_sample(groups, 1000, training.random_state)
    # The threshold and tiers are chosen on the folded rows' labels, scored out of fold.
    assert len(model.oof_labels_) == len(model.oof_proba_) == len(sampled) <= 1000
    assert np.array_equal(model.oof_labels_, y[sampled])
    # The final model's starting point is the log-odds of every row's label rate, not the
    # sample's: it was fit on all 3,000 rows.
    assert y[sampled].mean() != y.mean()
    baseline = float(np.ravel(model.estimator_[-1]._baseline_prediction)[0])
    assert np.isclose(baseline, np.log(y.mean() / (1 - y.mean())))
    # The model card's rule says on how many rows the choice was made.
    rule = model_choices(model, ())["rule"]
    assert f"on {len(sampled):,} development rows" in rule and "learned from all 3,000" in rule


def test_without_a_cap_every_row_is_folded():
    X, y, groups = _table(n_leads=200, per_lead=3)
    model = make_calibrated("model", TrainingConfig(selection_rows=0)).fit(X, y, groups)
    assert np.array_equal(model.oof_labels_, y)
    assert "drawn at random" not in model_choices(model, ())["rule"]


def test_the_fits_give_one_model_whichever_pool_runs_them(monkeypatch):
    # Small tables run fit tasks here and in jobs-1 workers, large ones in joblib's jobs
    # workers; both pools are the one process-wide executor, so a run that uses both
    # (event-mode training, then another) must find it usable each time.
    import intent_model.modeling.pipeline as pipeline

    X, y, groups = _table(n_leads=300, per_lead=4)
    training = TrainingConfig()

    def fit(small_table_rows: int):
        monkeypatch.setattr(pipeline, "SMALL_TABLE_ROWS", small_table_rows)
        model = make_calibrated("model", training, n_jobs=2).fit(X, y, groups)
        return model.oof_proba_, model.predict_proba(X)[:, 1]

    here_and_worker = fit(pipeline.SMALL_TABLE_ROWS)
    joblib_workers = fit(10)  # every table counts as large
    again_here = fit(10**9)
    for scores in (joblib_workers, again_here):
        np.testing.assert_allclose(scores[0], here_and_worker[0])
        np.testing.assert_allclose(scores[1], here_and_worker[1])


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(2, 300),
    n_folds=st.integers(2, 5),
    as_text=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_one_row_per_lead_folds_are_group_k_folds(n_rows, n_folds, as_text, seed):
    from sklearn.model_selection import GroupKFold

    from intent_model.modeling.split import _one_row_per_group_folds

    n_folds = min(n_folds, n_rows)
    groups = np.random.default_rng(seed).permutation(n_rows) * 7
    groups = groups.astype(str) if as_text else groups
    ours = _one_row_per_group_folds(groups, n_folds)
    theirs = list(GroupKFold(n_folds).split(groups, groups, groups))
    assert len(ours) == len(theirs)
    for (train, valid), (their_train, their_valid) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(train, their_train)
        np.testing.assert_array_equal(valid, their_valid)
