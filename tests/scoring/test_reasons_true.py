"""No false sentence on the simulated funnels: every feature of every lead said and recounted
on each scenario, and every reason a trained model gives on the demo data."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from intent_model.events.stream import build_features
from intent_model.events.training_set import build_training_set
from intent_model.io.config import Config, with_columns
from intent_model.scoring.explain import explain, top_drivers
from intent_model.scoring.loaded import load_model
from intent_model.simulate.funnel import simulate_funnel
from intent_model.simulate.scenarios import SCENARIOS
from tests.recount import Recount, assert_every_sentence_true, assert_true


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_sentence_about_any_lead_of_a_scenario_is_false(scenario):
    demo = simulate_funnel(n_leads=60, seed=5, n_days=300, scenario=scenario)
    config = Config()
    if "account_id" in demo.leads:
        config = with_columns(config, {"account_id": "account_id"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = build_training_set(demo.events, demo.leads, config, check=False).spec
    as_of = demo.end - pd.Timedelta(days=45)
    features = build_features(demo.events, demo.leads, as_of, config, spec, jobs=1)
    recount = Recount(demo.events, demo.leads, spec, as_of)
    assert assert_every_sentence_true(features, recount, spec) == len(features) * len(
        spec.feature_names
    )


@pytest.mark.slow
def test_every_reason_the_demo_model_gives_is_true(trained, small_demo):
    loaded = load_model(trained[1] / "models" / "first")
    as_of = pd.Timestamp("2025-02-01", tz="UTC")
    features = build_features(
        small_demo.events, small_demo.leads, as_of, spec=loaded.spec, taxonomy=loaded.taxonomy
    )
    drivers = top_drivers(features, explain(loaded.model, features), loaded.spec)
    recount = Recount(small_demo.events, small_demo.leads, loaded.spec, as_of, loaded.taxonomy)
    truths: dict = {}
    n_reasons = 0
    for lead, reasons in zip(features.index, drivers, strict=True):
        for reason in reasons:
            said = loaded.spec.say(reason.feature, features.loc[lead])
            assert said.text == reason.text
            assert_true(str(lead), reason.feature, said, recount, truths)
            n_reasons += 1
    assert n_reasons > 4 * len(features)
