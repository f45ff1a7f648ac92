"""Batch scoring: one row per lead, the same p_hard everywhere, reasons faithful to the score."""

from __future__ import annotations

import shutil

import mlflow
import numpy as np
import pandas as pd
import pytest

from intent_model.cli import main
from intent_model.errors import InputError, ModelError
from intent_model.events.stream import build_features
from intent_model.scoring.explain import explain, top_drivers
from intent_model.scoring.loaded import load_model
from intent_model.scoring.predict import predict

OUTPUT = [
    "lead_id",
    "as_of",
    "p_hard",
    "intent",
    "score",
    "tier",
    "rank",
    "top_reasons",
    "next_action",
    "model_version",
    "scored_from",
]


@pytest.fixture(scope="module")
def leads_with_a_silent_one(small_demo):
    silent = small_demo.leads.iloc[:1].assign(lead_id="NO-EVENTS-1", phone="+1 555 0100")
    return pd.concat([small_demo.leads, silent], ignore_index=True)


@pytest.fixture(scope="module")
def api_scores(trained, small_demo, leads_with_a_silent_one, tmp_path_factory):
    out = tmp_path_factory.mktemp("scores") / "scores.parquet"
    with pytest.warns(UserWarning, match="chat_widget_open"):
        result = predict(
            trained[1] / "models" / "first", small_demo.events, leads_with_a_silent_one, out
        )
    return result, out


def test_every_lead_in_is_one_row_out_including_leads_without_events(
    api_scores, small_demo, leads_with_a_silent_one
):
    result, out = api_scores
    scores = pd.read_parquet(out)
    expected = set(small_demo.events["lead_id"].astype(str)) | set(
        leads_with_a_silent_one["lead_id"]
    )
    assert len(scores) == len(expected) == result.n_leads_in
    assert set(scores["lead_id"]) == expected and scores["lead_id"].is_unique
    silent = scores.set_index("lead_id").loc["NO-EVENTS-1"]
    assert silent["scored_from"] == "profile only"
    assert list(scores.columns) == OUTPUT


def test_output_follows_the_contract(api_scores, trained):
    everyone = api_scores[0].scores
    # Open leads first, ranked; leads that converted in the last 30 days after them.
    ranked = everyone["rank"].notna()
    assert ranked.iloc[: ranked.sum()].all() and (~ranked).sum() > 0
    assert set(everyone.loc[~ranked, "intent"]) == {"converted"}
    assert everyone.loc[~ranked, "tier"].isna().all()
    scores = everyone[ranked]
    assert scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["p_hard"].is_monotonic_decreasing
    threshold = trained[0].threshold
    assert ((scores["p_hard"] >= threshold) == (scores["intent"] == "hard")).all()
    assert (scores["score"] == (scores["p_hard"] * 100).round().astype(int)).all()
    assert scores["as_of"].nunique() == 1
    assert scores["model_version"].unique().tolist() == ["lead-intent v1"]
    hard = scores["intent"] == "hard"
    assert scores.loc[hard, "next_action"].str.contains("sales|Sales").all()
    assert scores.loc[~hard, "next_action"].str.startswith("Nurture").all()
    assert scores["top_reasons"].str.len().gt(0).all()


def test_cli_api_and_mlflow_pyfunc_give_the_same_p_hard(
    api_scores, trained, small_demo, leads_with_a_silent_one, tmp_path, capsys
):
    _, root, uri = trained
    small_demo.events.to_parquet(tmp_path / "events.parquet")
    leads_with_a_silent_one.to_parquet(tmp_path / "leads.parquet")
    code = main(
        [
            "predict",
            "--model",
            str(root / "models" / "first"),
            "--events",
            str(tmp_path / "events.parquet"),
            "--leads",
            str(tmp_path / "leads.parquet"),
            "--out",
            str(tmp_path / "cli.csv"),
        ]
    )
    assert code == 0 and "Scored" in capsys.readouterr().out
    api = api_scores[0].scores.set_index("lead_id")["p_hard"]
    cli = pd.read_csv(tmp_path / "cli.csv", dtype={"lead_id": str}).set_index("lead_id")["p_hard"]
    np.testing.assert_allclose(cli.loc[api.index].to_numpy(), api.to_numpy(), rtol=1e-9)

    loaded = load_model(root / "models" / "first")
    features = build_features(
        small_demo.events,
        leads_with_a_silent_one,
        as_of=api_scores[0].as_of,
        spec=loaded.spec,
        taxonomy=loaded.taxonomy,
    )
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model("models:/lead-intent@champion")
    from_mlflow = pyfunc.predict(features.reset_index())
    assert {"p_hard", "intent", "score", "tier", "rank", "top_reasons", "next_action"} <= set(
        from_mlflow.columns
    )
    by_lead = from_mlflow.set_index("lead_id")["p_hard"]
    np.testing.assert_allclose(by_lead.loc[api.index].to_numpy(), api.to_numpy(), atol=1e-12)
    via_uri = load_model("models:/lead-intent/1", tracking_uri=uri)
    assert via_uri.version == "lead-intent v1"
    # One place names the model: the pyfunc's rows say what the batch rows say.
    assert from_mlflow["model_version"].unique().tolist() == [via_uri.version]


def test_reasons_add_up_to_the_score_and_name_real_features(trained, small_demo):
    loaded = load_model(trained[1] / "models" / "first")
    features = build_features(small_demo.events, small_demo.leads, spec=loaded.spec).head(400)
    explanation = explain(loaded.model, features)
    p_hard = loaded.model.predict_proba(features)
    logit = np.log(p_hard / (1 - p_hard))
    total = explanation.base_value + explanation.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, logit, atol=1e-6)
    all_drivers = top_drivers(features, explanation, loaded.spec)
    assert len(all_drivers) == len(features)
    for position, drivers in enumerate(all_drivers):
        assert drivers, "every lead gets at least one reason"
        signs = [d.contribution > 0 for d in drivers]
        assert signs == sorted(signs, reverse=True)  # ups first, then downs
        for driver in drivers:
            actual = features.iloc[position][driver.feature]
            assert actual == pytest.approx(driver.value, nan_ok=True)


def test_trend_against_the_previous_run(api_scores, trained, small_demo, leads_with_a_silent_one):
    scores = api_scores[0].scores
    previous = scores[["lead_id", "score"]].iloc[1:].copy()
    previous.loc[previous.index[:10], "score"] -= 20
    previous.loc[previous.index[10:20], "score"] += 20
    again = predict(
        trained[1] / "models" / "first",
        small_demo.events,
        leads_with_a_silent_one,
        previous=previous,
    ).scores.set_index("lead_id")["trend"]
    assert again.loc[scores["lead_id"].iloc[0]] == "new"
    assert (again.loc[previous["lead_id"].iloc[:10]] == "rising").all()
    assert (again.loc[previous["lead_id"].iloc[10:20]] == "falling").all()
    assert (again.loc[previous["lead_id"].iloc[20:]] == "steady").all()


def test_scoring_as_of_an_earlier_time_uses_only_earlier_events(trained, small_demo):
    as_of = small_demo.start + pd.Timedelta(days=200)
    result = predict(
        trained[1] / "models" / "first", small_demo.events, small_demo.leads, as_of=as_of
    )
    assert (result.scores["as_of"] == as_of).all()
    # Leads created later did not exist yet: not scored (counted in the summary).
    created_later = small_demo.leads.loc[small_demo.leads["created_at"] >= as_of, "lead_id"]
    assert not set(created_later.astype(str)) & set(result.scores["lead_id"])
    assert "created after as_of were not scored" in result.summary()


def test_a_tampered_model_is_refused_and_missing_inputs_are_named(trained, small_demo, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(trained[1] / "models" / "first", copy)
    (copy / "model.skops").write_bytes((copy / "model.skops").read_bytes() + b"x")
    with pytest.raises(ModelError, match="does not match"):
        predict(copy, small_demo.events, small_demo.leads)
    model = trained[1] / "models" / "first"
    with pytest.raises(InputError, match="pass the leads table"):
        predict(model, small_demo.events)
    with pytest.raises(InputError, match="lacks profile column.*phone"):
        predict(model, small_demo.events, small_demo.leads.drop(columns=["phone"]))


def test_cli_predict_errors_are_one_line(trained, tmp_path, capsys):
    (tmp_path / "e.csv").write_text("lead_id,timestamp,event_type\na,2024-01-01,page_view\n")
    code = main(
        [
            "predict",
            "--model",
            str(tmp_path / "nope"),
            "--events",
            str(tmp_path / "e.csv"),
            "--out",
            str(tmp_path / "s.csv"),
        ]
    )
    assert code == 2 and "no such model directory" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_the_scores_keep_the_users_name_for_the_lead_id(trained, small_demo, tmp_path):
    events = small_demo.events.rename(columns={"lead_id": "session_id"})
    leads = small_demo.leads.rename(columns={"lead_id": "session_id"})
    out = tmp_path / "scores.csv"
    first = predict(
        trained[1] / "models" / "first", events, leads, out, columns={"lead_id": "session_id"}
    )
    written = pd.read_csv(out)
    assert written.columns[0] == "session_id" and "lead_id" not in written.columns
    assert set(written["session_id"].astype(str)) == set(first.scores["lead_id"])
    # That file is the next run's previous scores, as written.
    again = predict(
        trained[1] / "models" / "first",
        events,
        leads,
        previous=out,
        columns={"lead_id": "session_id"},
    )
    assert set(again.scores["trend"]) == {"steady"}
