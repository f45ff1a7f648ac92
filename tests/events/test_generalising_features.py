"""Features for funnels unlike the demo: change against the lead's own habit, profile values
seen only once given, account roll-ups that keep the point-in-time rule, and one code path
whatever scenario made the data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intent_model.events.families.account import _min_of_others, _sum_of_others
from intent_model.events.features import FeatureSpec, add_account_features, compute_features
from intent_model.events.log import load_events
from intent_model.events.stream import build_features
from intent_model.events.taxonomy import load_taxonomy
from intent_model.events.training_set import build_training_set
from intent_model.io.config import Config, FeatureConfig, GuardConfig, with_columns
from intent_model.simulate.funnel import simulate_funnel
from intent_model.simulate.scenarios import SCENARIOS

CUTOFF = pd.Timestamp("2024-06-01", tz="UTC")
TAXONOMY = load_taxonomy()
LOOSE = Config(guards=GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1))


def _events(rows) -> pd.DataFrame:
    raw = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event_type"]).assign(channel="web")
    raw["timestamp"] = pd.to_datetime(raw["timestamp"], utc=True)
    return load_events(raw).events


def test_change_features_are_blind_to_how_active_a_lead_always_is():
    # Two leads with the same rhythm at ten times the level: the same change; a third
    # whose visits tripled in the last week: warmer than usual.
    days = pd.date_range(CUTOFF - pd.Timedelta(days=180), CUTOFF - pd.Timedelta(days=1))
    steady = [("quiet", d, "page_view") for d in days[::10]]
    steady += [("busy", d + pd.Timedelta(minutes=m), "page_view") for d in days for m in (0, 1)]
    steady += [
        ("busy", d + pd.Timedelta(minutes=5 * i), "page_view")
        for d in days[::10]
        for i in range(1, 2)
    ]
    warming = [("warming", d, "page_view") for d in days[::10]]
    warming += [("warming", d, "page_view") for d in days[-7:]]
    keys = pd.DataFrame({"lead_id": ["quiet", "busy", "warming"], "cutoff": CUTOFF})
    spec = FeatureSpec.from_config(FeatureConfig(), TAXONOMY)
    features = compute_features(_events(steady + warming), keys, spec).set_axis(keys["lead_id"])
    change = features["rate_vs_usual_events_30d"]
    assert abs(change["quiet"]) < 0.5 and abs(change["busy"]) < 0.1
    assert features.loc["warming", "rate_vs_usual_events_7d"] > 1.0
    assert features.loc["busy", "n_events_30d"] > 10 * features.loc["quiet", "n_events_30d"]


def test_profile_values_are_seen_only_once_given():
    ids = [f"a{i}" for i in range(12)] + [f"b{i}" for i in range(12)]
    events = _events([(lead, "2024-05-01", "page_view") for lead in ids])
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "job_title": ["VP"] * 12 + ["Student"] * 12,
            # The b leads gave their title after the cutoff.
            "job_title_provided_at": pd.to_datetime(
                ["2024-05-15"] * 12 + ["2024-06-15"] * 12, utc=True
            ),
        }
    )
    features = build_features(events, leads, as_of=CUTOFF, config=LOOSE)
    profile = [c for c in features.columns if c.startswith("job_title=")]
    assert "job_title=VP" in profile and "job_title=Student" in profile
    assert (features.loc[ids[:12], "job_title=VP"] == 1.0).all()
    assert (features.loc[ids[12:], profile].sum(axis=1) == 0.0).all()
    assert "has_job_title" in features.columns  # the information feature, not duplicated
    # Scored after the b leads gave it, the value is there.
    later = build_features(events, leads, as_of="2024-07-01", config=LOOSE)
    assert (later.loc[ids[12:], "job_title=Student"] == 1.0).all()


def test_feature_code_is_the_same_whatever_scenario_made_the_data():
    names = {}
    for name in SCENARIOS:
        demo = simulate_funnel(n_leads=300, seed=2, n_days=200, scenario=name)
        training_set = build_training_set(demo.events, demo.leads, LOOSE, check=False)
        names[name] = training_set.spec.names_of
    families = ["information", "counts", "recency", "intensity", "change", "decay"]
    for family in families:
        assert len({tuple(names[n](family)) for n in SCENARIOS}) == 1, family
    # Account roll-ups come from the configuration (an account id mapped), never the data.
    assert all(names[n]("account") == [] for n in SCENARIOS)


@pytest.fixture(scope="module")
def accounts_data():
    return simulate_funnel(n_leads=600, seed=4, n_days=240, scenario="accounts")


def test_account_rollups_sum_what_the_colleagues_did_before_the_cutoff(accounts_data):
    config = with_columns(LOOSE, {"account_id": "account_id"})
    training_set = build_training_set(
        accounts_data.events, accounts_data.leads, config, check=False
    )
    X, keys = training_set.X, training_set.keys
    account = (
        keys["lead_id"].astype(str).map(accounts_data.leads.set_index("lead_id")["account_id"])
    )
    frame = X.assign(account=account.to_numpy(), cutoff=keys["cutoff"].to_numpy())
    totals = frame.groupby(["account", "cutoff"])["n_events_30d"].transform("sum")
    expected = (totals - frame["n_events_30d"]).to_numpy()
    np.testing.assert_allclose(
        X["account_n_engagement_30d"] + X["account_n_soft_30d"] + X["account_n_hard_30d"],
        expected,
        rtol=1e-5,
    )
    # Per event type too: the colleagues' own per-type counts at the same cutoff.
    pricing = frame.groupby(["account", "cutoff"])["n_pricing_page_view_30d"].transform("sum")
    np.testing.assert_allclose(
        X["account_n_pricing_page_view_30d"],
        (pricing - frame["n_pricing_page_view_30d"]).to_numpy(),
        rtol=1e-5,
    )
    assert X["account_n_pricing_page_view_30d"].gt(0).any()
    contacts = frame.groupby(["account", "cutoff"])["n_events_30d"].transform("size") - 1
    np.testing.assert_array_equal(X["account_contacts"], contacts.to_numpy())
    assert (X["account_contacts"] > 0).mean() > 0.5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    minutes_after=st.lists(st.integers(0, 60 * 24 * 40), min_size=1, max_size=6),
    kinds=st.lists(
        st.sampled_from(["page_view", "demo_request", "whitepaper_download"]),
        min_size=6,
        max_size=6,
    ),
)
def test_a_colleagues_event_at_or_after_the_cutoff_changes_nothing(minutes_after, kinds):
    history = [
        ("a", "2024-05-20", "page_view"),
        ("b", "2024-05-02", "demo_request"),
        ("b", "2024-05-28", "pricing_page_view"),
        ("c", "2024-04-01", "page_view"),
    ]
    leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "account_id": ["X", "X", "Y"]})
    config = with_columns(LOOSE, {"account_id": "account_id"})
    reference = build_features(_events(history), leads, as_of=CUTOFF, config=config)
    later = [
        ("b", CUTOFF + pd.Timedelta(minutes=m), kinds[i % len(kinds)])
        for i, m in enumerate(minutes_after)
    ]
    after = build_features(_events(history + later), leads, as_of=CUTOFF, config=config)
    pd.testing.assert_frame_equal(after, reference, check_exact=True)
    assert reference.loc["a", "account_n_hard_all"] == 1.0  # b's demo request, before
    assert reference.loc["a", "account_n_pricing_page_view_all"] == 1.0  # b's, before
    assert reference.loc["a", "account_days_since_last_hard"] == pytest.approx(30.0)
    assert reference.loc["c", "account_contacts"] == 0.0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1, 4), st.one_of(st.none(), st.floats(0, 100, width=32))),
        min_size=1,
        max_size=25,
    )
)
def test_others_in_the_group_match_a_brute_force_count(rows):
    group = np.array([g for g, _ in rows])
    values = np.array([np.nan if v is None else v for _, v in rows], dtype=float)
    got_min, got_sum = _min_of_others(values, group), _sum_of_others(np.nan_to_num(values), group)
    for i, g in enumerate(group):
        others = [values[j] for j in range(len(rows)) if j != i and g >= 0 and group[j] == g]
        present = [v for v in others if not np.isnan(v)]
        assert got_min[i] == min(present) if present else np.isnan(got_min[i])
        assert got_sum[i] == pytest.approx(sum(np.nan_to_num(others)))


def test_a_mapped_account_column_the_leads_lack_is_named():
    events = _events([("a", "2024-05-01", "page_view")])
    leads = pd.DataFrame({"lead_id": ["a"], "company": ["Acme"]})
    config = with_columns(LOOSE, {"account_id": "Account"})
    with pytest.raises(Exception, match="account_id = 'Account'"):
        build_features(events, leads, as_of=CUTOFF, config=config)


def test_add_account_features_leaves_a_spec_without_accounts_alone():
    spec = dataclasses.replace(FeatureSpec.from_config(FeatureConfig(), TAXONOMY), accounts=False)
    X = pd.DataFrame({"n_events_7d": [1.0]})
    keys = pd.DataFrame({"lead_id": ["a"], "cutoff": [CUTOFF]})
    assert add_account_features(X, keys, pd.Series({"a": "X"}), spec) is X


def test_reasons_tell_the_change_and_account_features_in_their_raw_counts():
    spec = dataclasses.replace(FeatureSpec.from_config(FeatureConfig(), TAXONOMY), accounts=True)
    row = {
        "rate_vs_usual_events_30d": np.log(3.0),
        "n_events_30d": 6.0,
        "n_events_all": 20.0,
        "days_since_created": 199.6,
    }
    assert spec.say("rate_vs_usual_events_30d", row).text == (
        "6 events in the last 30 days, 20 in the lead's 200 days in all"
    )
    row = {"rate_vs_usual_hard_30d": -0.7, "n_hard_30d": 0.0, "n_hard_all": 2.0}
    assert spec.say("rate_vs_usual_hard_30d", {**row, "days_since_created": 80.0}).text == (
        "no hard conversions in the last 30 days, 2 in the lead's 80 days in all"
    )
    assert spec.say("account_n_hard_90d", {"account_n_hard_90d": 2}).text == (
        "2 hard conversions by colleagues at the account in the last 90 days"
    )
    assert spec.say("account_days_since_last_hard", (5.4,)).text == (
        "a colleague's last hard conversion 5 days ago"
    )


def test_an_account_model_scored_without_the_account_mapping_says_so(accounts_data):
    config = with_columns(LOOSE, {"account_id": "account_id"})
    spec = build_training_set(accounts_data.events, accounts_data.leads, config, check=False).spec
    renamed = accounts_data.leads.rename(columns={"account_id": "Account"})
    with pytest.raises(Exception, match=r"\[columns\] account_id"):
        build_features(accounts_data.events, renamed, config=LOOSE, spec=spec)
    mapped = with_columns(LOOSE, {"account_id": "Account"})
    features = build_features(accounts_data.events, renamed, config=mapped, spec=spec)
    assert (features["account_contacts"] > 0).mean() > 0.5
