"""The demo-data simulator: determinism, behaviour by hidden stage, and its exact oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from intent_model.events.log import load_events
from intent_model.events.taxonomy import load_taxonomy
from intent_model.io.load import load_leads
from intent_model.simulate.funnel import simulate_funnel, write_demo_data


def test_same_seed_gives_identical_data_and_another_seed_does_not():
    first = simulate_funnel(n_leads=150, seed=3, n_days=90)
    again = simulate_funnel(n_leads=150, seed=3, n_days=90)
    other = simulate_funnel(n_leads=150, seed=4, n_days=90)
    pd.testing.assert_frame_equal(first.events, again.events)
    pd.testing.assert_frame_equal(first.leads, again.leads)
    pd.testing.assert_frame_equal(first.truth, again.truth)
    assert len(first.events) != len(other.events) or not first.events.equals(other.events)


def test_files_hold_no_hidden_state(demo):
    assert list(demo.events.columns) == ["lead_id", "timestamp", "event_type", "channel"]
    hidden = {"stage", "fit", "is_bot", "activity"}
    assert hidden.isdisjoint(demo.leads.columns)


def _classes(demo) -> pd.Series:
    return load_taxonomy().classify(demo.events["event_type"].astype(str))["event_class"]


def test_event_mix_moves_towards_hard_and_pricing_as_the_stage_advances(demo):
    classes = _classes(demo)
    stage = pd.Series(demo.event_stage)
    hard_share = classes.eq("hard").groupby(stage).mean()
    assert (
        hard_share["cold"]
        < hard_share["aware"]
        < hard_share["considering"]
        < hard_share["deciding"]
    )
    pricing = demo.events["event_type"].eq("pricing_page_view").groupby(stage).mean()
    assert pricing["aware"] < pricing["considering"] < pricing["deciding"]
    assert hard_share.get("bot", 0.0) == 0.0


def test_hard_conversions_come_mostly_from_the_deciding_stage(demo):
    hard_stages = pd.Series(demo.event_stage[_classes(demo).eq("hard").to_numpy()])
    assert hard_stages.eq("deciding").mean() > 0.6
    assert hard_stages.isin(["deciding", "considering"]).mean() > 0.9


def test_truth_probabilities_are_valid_and_zero_for_bots(demo):
    truth = demo.truth
    assert truth["p_hard_30d"].between(0.0, 1.0).all()
    assert truth.loc[truth["is_bot"], "p_hard_30d"].eq(0.0).all()
    assert truth["cutoff"].dt.day.eq(1).all()
    assert (truth["cutoff"] + pd.Timedelta(days=30) <= demo.end).all()
    mean_by_stage = truth.groupby("stage")["p_hard_30d"].mean()
    assert (
        mean_by_stage["cold"]
        < mean_by_stage["aware"]
        < mean_by_stage["considering"]
        < mean_by_stage["deciding"]
    )


def _realised_labels(demo) -> np.ndarray:
    hard = demo.events.loc[_classes(demo).eq("hard").to_numpy(), ["lead_id", "timestamp"]]
    hard = hard.assign(lead_id=hard["lead_id"].astype(str))
    pairs = demo.truth[["lead_id", "cutoff"]].reset_index().merge(hard, on="lead_id")
    in_window = (pairs["timestamp"] >= pairs["cutoff"]) & (
        pairs["timestamp"] < pairs["cutoff"] + pd.Timedelta(days=30)
    )
    positive = pairs.loc[in_window, "index"].unique()
    labels = np.zeros(len(demo.truth), dtype=bool)
    labels[positive] = True
    return labels


def test_truth_matches_the_realised_30_day_hard_conversion_rate(demo):
    truth = demo.truth["p_hard_30d"].to_numpy()
    realised = _realised_labels(demo)
    # Overall, and within deciles of the oracle, within four standard errors.
    standard_error = np.sqrt((truth * (1 - truth)).sum()) / len(truth)
    assert abs(realised.mean() - truth.mean()) < 4 * standard_error
    bins = pd.qcut(truth, 10, labels=False, duplicates="drop")
    for b in np.unique(bins):
        p, y = truth[bins == b], realised[bins == b]
        error = np.sqrt((p * (1 - p)).sum()) / len(p)
        assert abs(y.mean() - p.mean()) < 4 * error + 1e-3, f"decile {b}"


def test_profile_fields_are_point_in_time_and_created_at_is_the_first_event(demo):
    leads = demo.leads
    first_event = demo.events.groupby("lead_id", observed=True)["timestamp"].min()
    assert (
        first_event.reindex(leads["lead_id"]).to_numpy() == leads["created_at"].to_numpy()
    ).all()
    for field in ["email", "phone", "company", "budget"]:
        given_at = leads[f"{field}_provided_at"]
        assert (leads[field].isna() == given_at.isna()).all()
        assert (given_at.dropna() >= leads.loc[given_at.notna(), "created_at"]).all()
    assert leads["email_provided_at"].eq(leads["created_at"]).all()


def test_leads_who_converted_hard_gave_their_phone_more_often(demo):
    classes = _classes(demo)
    converted = set(demo.events.loc[classes.eq("hard").to_numpy(), "lead_id"].astype(str))
    has_phone = demo.leads.set_index("lead_id")["phone"].notna()
    in_converted = has_phone.index.isin(list(converted))
    assert has_phone[in_converted].mean() > 2 * has_phone[~in_converted].mean()


def test_demo_files_round_trip_through_validation_without_rejects(demo, tmp_path):
    paths = write_demo_data(demo, tmp_path)
    log = load_events(paths["events"])
    leads = load_leads(paths["leads"])
    assert log.checked.n_rejected == 0 and log.checked.n_used == len(demo.events)
    assert leads.n_rejected == 0 and leads.n_used == len(demo.leads)
    assert log.unknown_types["event_type"].tolist() == ["chat_widget_open"]
    assert set(log.events["event_class"]) == {"hard", "soft", "engagement"}
    truth = pd.read_parquet(paths["truth"])
    assert len(truth) == len(demo.truth)


def test_crm_export_has_one_row_per_lead_placeholders_and_planted_post_outcome_columns(demo):
    from sklearn.metrics import roc_auc_score

    from intent_model.simulate.crm import PLANTED_COLUMNS, crm_export

    table = crm_export(demo, seed=1)
    assert len(table) == len(demo.leads) and table["lead_id"].is_unique
    assert set(table["converted"]) == {0, 1}
    assert table["job_title"].isin(["Select", "-- select --", "", "N/A"]).any()
    won_status = table["lead_status"].isin(["Closed - Won", "Converted"])
    assert roc_auc_score(table["converted"], won_status) > 0.9  # a leak, as planted
    assert 0.6 < roc_auc_score(table["converted"], table["total_visits"]) < 0.9  # honest signal
    assert set(PLANTED_COLUMNS) <= set(table.columns)
