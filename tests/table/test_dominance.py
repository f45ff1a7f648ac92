"""The leak checks on evidence: a fill pattern or value of one class only is left out however
sparse; a column that carries the model is suspected and reported, never left out on that
alone, so a table's honest signal stays; a model left without signal says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from intent_model import build_training_set
from intent_model.io.config import Config, GuardConfig, LabelConfig
from intent_model.table.checks import ONE_CLASS_P, check_columns, describe_checks
from intent_model.table.roles import infer_roles


def _table(n: int = 4000, seed: int = 0, call: str | None = "call", pair: bool = False):
    """Honest columns that are noisy views of a lead's hidden interest, and optionally a
    column measured during the contact that produced the outcome: zero when there was no
    contact, longer when it went well (names say nothing)."""
    rng = np.random.default_rng(seed)
    interest = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.3 * interest)))).astype(int)
    columns = {"visits": np.round(np.exp(0.6 * interest + rng.normal(size=n)) * 3)}
    for j in range(7):
        columns[f"v{j}"] = np.round(np.exp(0.4 * interest + rng.normal(size=n)) * 3)
    contacted = rng.random(n) < np.where(y == 1, 0.75, 0.35)
    minutes = np.where(contacted, rng.lognormal(np.where(y == 1, 1.2, 0.6), 0.9), 0.0)
    if call:
        columns[call] = np.round(minutes, 2)
    if pair:
        # The same evidence split in two: each half alone is unremarkable.
        noise = rng.normal(scale=3.0, size=n)
        columns["part_a"] = np.round(minutes + noise, 2)
        columns["part_b"] = np.round(minutes - noise, 2)
    frame = pd.DataFrame(columns)
    roles = infer_roles(frame.assign(lead_id=[f"L{i}" for i in range(n)]), (), None, {})
    return frame, roles, y


def test_a_column_measured_during_the_outcome_contact_is_flagged_though_under_0_9_alone():
    frame, roles, y = _table()
    checks = check_columns(frame, roles, y, Config()).set_index("column")
    call = checks.loc["call"]
    assert call["single_column_auc"] < 0.9  # the single-column alarm does not see it
    assert call["flagged"] and call["suspected"] and call["drop_cost"] > 0.05
    # Dominance alone is a suspicion: reported with its figures, the decision left to a person.
    assert not call["left_out"]
    assert f"alone {call['single_column_auc']:.2f}; all the others together" in call["evidence"]
    (line,) = describe_checks(checks.reset_index().query("column == 'call'"))
    assert '[columns.roles] "call" = "ignore"' in line


def test_a_strong_honest_column_among_good_ones_is_not_flagged():
    frame, roles, y = _table(call=None)
    checks = check_columns(frame, roles, y, Config()).set_index("column")
    assert checks["single_column_auc"].idxmax() == "visits"
    assert not checks["flagged"].any()
    assert checks.loc["visits", "drop_cost"] < 0.05
    assert checks.loc["visits", "single_column_auc"] < checks.loc["visits", "others_auc"]


def test_a_leak_split_over_two_columns_is_not_caught():
    # Documented limit: leaving either half out costs little while the other remains.
    frame, roles, y = _table(call=None, pair=True)
    checks = check_columns(frame, roles, y, Config()).set_index("column")
    assert not checks.loc[["part_a", "part_b"], "flagged"].any()


def test_a_table_whose_two_honest_columns_carry_all_the_signal_keeps_them():
    rng = np.random.default_rng(3)
    n = 4000
    page = rng.choice([f"page{i}" for i in range(12)], n)
    origin = rng.choice(["search", "social", "direct", "email", "referral"], n)
    lift = pd.Series(page).map({f"page{i}": 0.25 * i for i in range(12)}).to_numpy()
    lift += pd.Series(origin).map({"search": 0.8, "social": 0.0, "direct": 0.4}).fillna(0.2)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-3.8 + lift)))).astype(int)
    # Deal fields sales fill in only for won leads, sparse: the tail of the table.
    won = np.flatnonzero(y == 1)[:30]
    deal = {f"extra_{k}": pd.Series(np.nan, index=range(n)) for k in (1, 2, 3)}
    for k, column in enumerate(deal.values()):
        column.iloc[won] = rng.integers(1, 50, len(won)) * (k + 1)
    frame = pd.DataFrame({"landing_page": page, "origin": origin, **deal})
    roles = infer_roles(frame.assign(lead_id=range(n)), (), None, {})
    checks = check_columns(frame, roles, y, Config()).set_index("column")
    assert not checks.loc[["landing_page", "origin"], "left_out"].any()
    assert checks.loc[["extra_1", "extra_2", "extra_3"], "left_out"].all()
    assert "given: 30 of 30 rows converted" in checks.loc["extra_1", "evidence"]


@settings(max_examples=25, deadline=None)
@given(
    n_rows=st.integers(200, 5000),
    base_rate=st.floats(0.02, 0.5),
    filled=st.integers(1, 60),
    seed=st.integers(0, 1000),
)
def test_a_sparse_column_filled_only_for_positives_is_left_out_wherever_chance_is_ruled_out(
    n_rows, base_rate, filled, seed
):
    rng = np.random.default_rng(seed)
    y = (rng.random(n_rows) < base_rate).astype(int)
    positives = np.flatnonzero(y == 1)
    assume(len(positives) >= filled and len(positives) < n_rows)
    column = np.full(n_rows, np.nan)
    column[rng.choice(positives, filled, replace=False)] = 1.0
    checks = check_columns(
        pd.DataFrame({"x": column}),
        pd.DataFrame({"column": ["x"], "role": ["numeric"]}),
        y,
        Config(),
    ).set_index("column")
    # Chance of a filled set that pure at this base rate, over the column's two values.
    chance = y.mean() ** filled * 2
    if chance < ONE_CLASS_P:
        assert checks.loc["x", "left_out"], (filled, y.mean())
    if chance > 1e-3:
        assert not checks.loc["x", "one_class"]


def test_the_check_runs_on_lead_columns_joined_to_event_features(small_demo):
    hard = small_demo.events["event_type"].isin(["demo_request", "free_trial_signup", "purchase"])
    bought = (
        small_demo.leads["lead_id"]
        .astype(str)
        .isin(small_demo.events.loc[hard, "lead_id"].astype(str))
    )
    rng = np.random.default_rng(1)
    contacted = rng.random(len(bought)) < np.where(bought, 0.95, 0.1)
    leads = small_demo.leads.assign(
        call=np.where(contacted, rng.lognormal(np.where(bought, 2.2, 0.2), 0.5), 0.0).round(2),
        segment=rng.choice(["SMB", "Mid-market", "Enterprise"], len(bought)),
    )
    # Monthly snapshots, as the column was planted for (finer ones repeat each lead's value).
    config = Config(
        labels=LabelConfig(step_days="month"), guards=GuardConfig(min_positives=1, min_negatives=1)
    )
    training = build_training_set(small_demo.events, leads, config)
    checks = training.report.table_checks.set_index("column")
    assert checks.loc["call", "suspected"], checks.loc["call", "evidence"]
    assert not checks.loc["segment", "flagged"]
    # Suspected, not left out: the event features' report names it and how to leave it out.
    assert "call" in training.X.columns
    assert '[columns.roles] "call" = "ignore"' in training.report.summary()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_verdicts_do_not_hang_on_one_seed(seed):
    frame, roles, y = _table(seed=seed)
    flagged = check_columns(frame, roles, y, Config()).query("flagged")["column"].tolist()
    assert flagged == ["call"]


@pytest.mark.slow
def test_a_model_near_chance_after_the_leave_outs_says_so_and_is_not_promoted(tmp_path):
    from intent_model import train
    from intent_model.modeling import tracking

    rng = np.random.default_rng(5)
    n = 3000
    y = (rng.random(n) < 0.12).astype(int)
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "created_at": pd.date_range("2024-01-01", periods=n, freq="2h", tz="UTC"),
            "visits": rng.poisson(3, n),  # no signal
            "source": rng.choice(["ads", "web", "fair"], n),  # no signal
            # Filled in by sales for every won lead: the only signal, and a leak.
            "extra": np.where(y == 1, rng.integers(1_000, 90_000, n), np.nan),
            "won": y,
        }
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train(leads=frame, label_col="won", out=tmp_path / "m", tracking_uri=uri, promote=True)
    checks = result.checks.set_index("column")
    assert checks.loc["extra", "left_out"]
    (alert,) = [w for w in result.warnings if w.startswith("NO SIGNAL")]
    assert "extra" in alert and "--keep-column extra" in alert
    assert alert in result.summary() and alert in (tmp_path / "m" / "model_card.md").read_text()
    assert result.promotion is None
    assert tracking.alias_version(uri, "lead-intent-crm", tracking.CHAMPION) is None
    import mlflow

    tags = mlflow.MlflowClient(tracking_uri=uri).get_run(result.run_id).data.tags
    assert tags["warnings"].startswith("NO SIGNAL")


def test_on_a_large_table_the_sampled_dominance_verdict_is_the_full_tables(monkeypatch):
    import intent_model.table.checks as checks_module

    frame, roles, y = _table(n=60_000, seed=3)
    sampled = check_columns(frame, roles, y, Config()).set_index("column")
    assert "measured on 20,000 of the 60,000 rows" in sampled.loc["call", "evidence"]
    monkeypatch.setattr(checks_module, "DOMINANCE_ROWS", len(y))
    full = check_columns(frame, roles, y, Config()).set_index("column")
    assert "measured on" not in full.loc["call", "evidence"]
    pd.testing.assert_series_equal(sampled["suspected"], full["suspected"])
    assert sampled.loc["call", "suspected"]
    weighed = full["drop_cost"].notna()
    assert weighed.sum() >= 2
    gap = (sampled.loc[weighed, "drop_cost"] - full.loc[weighed, "drop_cost"]).abs()
    assert gap.max() < 0.01, gap


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=2, max_size=300),
    st.booleans(),
)
def test_the_checks_auc_from_counts_is_scikit_learns_with_ties_and_any_scores(pairs, spread):
    from sklearn.metrics import roc_auc_score

    from intent_model.table.checks import discrete_auc

    scores = np.array([value for value, _ in pairs], dtype=float) / 7
    if spread:  # every score its own value
        scores = scores + np.arange(len(scores)) * 1e-3
    y = np.array([label for _, label in pairs], dtype=int)
    assume(0 < y.sum() < len(y))
    assert discrete_auc(scores, y) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
