"""Named scenarios: each unlike the others, each with an oracle that matches its own labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intent_model.events.log import load_events
from intent_model.simulate.funnel import simulate_funnel
from intent_model.simulate.scenarios import SCENARIOS, Scenario


def _labelled_truth(demo) -> pd.DataFrame:
    """The oracle's snapshots with what happened: a hard event in the 30 days after."""
    events = load_events(demo.events).events
    hard = events.loc[events["event_class"] == "hard", ["lead_id", "timestamp"]]
    truth = demo.truth.astype({"lead_id": str})
    pairs = truth.merge(hard.astype({"lead_id": str}), on="lead_id", how="left")
    pairs["inside"] = (pairs["timestamp"] >= pairs["cutoff"]) & (
        pairs["timestamp"] < pairs["cutoff"] + pd.Timedelta(days=30)
    )
    happened = pairs.groupby(["lead_id", "cutoff"])["inside"].any().rename("label").reset_index()
    return truth.merge(happened, on=["lead_id", "cutoff"])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_oracle_is_calibrated_on_its_own_scenario(name):
    demo = simulate_funnel(n_leads=2500, seed=9, n_days=300, scenario=name)
    truth = _labelled_truth(demo)
    expected, observed = truth["p_hard_30d"].sum(), truth["label"].sum()
    # Poisson-binomial: the count of hard snapshots has sd below sqrt(expected).
    assert abs(observed - expected) < 4 * np.sqrt(expected), (observed, expected)
    # Within deciles of the oracle too, not only on average.
    deciles = pd.qcut(truth["p_hard_30d"].rank(method="first"), 5, labels=False)
    by_decile = truth.groupby(deciles).agg(p=("p_hard_30d", "sum"), y=("label", "sum"))
    assert (abs(by_decile["y"] - by_decile["p"]) < 4 * np.sqrt(by_decile["p"] + 1)).all()


def test_repeat_buyers_become_customers_who_rarely_buy_again():
    demo = simulate_funnel(n_leads=2500, seed=9, n_days=300, scenario="repeat_buyers")
    truth = _labelled_truth(demo)
    customers = truth[truth["stage"] == "customer"]
    deciding = truth[truth["stage"] == "deciding"]
    assert len(customers) > 200
    assert customers["p_hard_30d"].mean() < deciding["p_hard_30d"].mean() / 5
    customer_events = (demo.event_stage == "customer").sum()
    assert customer_events > 0.1 * len(demo.events)  # they use the product


def test_contacts_of_an_account_share_its_company_and_stage():
    demo = simulate_funnel(n_leads=1500, seed=9, n_days=300, scenario="accounts")
    leads = demo.leads
    assert leads.groupby("account_id")["lead_id"].size().mean() > 2
    shared = leads.dropna(subset=["company"]).groupby("account_id")["company"].nunique()
    assert (shared == 1).all()
    stage = demo.truth.merge(leads[["lead_id", "account_id"]].astype(str), on="lead_id")
    stage = stage[~stage["is_bot"]]
    assert (stage.groupby(["account_id", "cutoff"])["stage"].nunique() == 1).all()
    assert "account_id" not in simulate_funnel(n_leads=50, seed=9, n_days=60).leads


def test_the_demo_scenario_is_the_default_and_unknown_names_list_the_known():
    default = simulate_funnel(n_leads=120, seed=3, n_days=90)
    named = simulate_funnel(n_leads=120, seed=3, n_days=90, scenario="demo")
    pd.testing.assert_frame_equal(default.events, named.events)
    with pytest.raises(ValueError, match="repeat_buyers"):
        simulate_funnel(n_leads=10, scenario="nope")
    with pytest.raises(ValueError, match="do not mix"):
        Scenario("both", "", customer_share=0.5, contacts_per_account=3)
