"""The dominance check: a column measured during the outcome's own contact, found from the
data alone, while strong honest columns stay in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intent_model import build_training_set
from intent_model.io.config import Config, GuardConfig
from intent_model.table.checks import check_columns
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
    assert call["left_out"] and call["drop_cost"] > 0.05
    assert f"alone {call['single_column_auc']:.2f}; all the others together" in call["evidence"]


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


def test_keep_column_keeps_a_dominant_column():
    frame, roles, y = _table()
    config = Config().replace(table=Config().table.__class__(keep_columns=("call",)))
    checks = check_columns(frame, roles, y, config).set_index("column")
    assert checks.loc["call", "kept"] and not checks.loc["call", "left_out"]


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
    config = Config(guards=GuardConfig(min_positives=1, min_negatives=1))
    training = build_training_set(small_demo.events, leads, config)
    checks = training.report.table_checks.set_index("column")
    assert checks.loc["call", "left_out"], checks.loc["call", "evidence"]
    assert not checks.loc["segment", "flagged"]
    assert not [c for c in training.X.columns if c.startswith(("call", "has_call"))]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_verdicts_do_not_hang_on_one_seed(seed):
    frame, roles, y = _table(seed=seed)
    flagged = check_columns(frame, roles, y, Config()).query("flagged")["column"].tolist()
    assert flagged == ["call"]
