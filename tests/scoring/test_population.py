"""Who is ranked: leads that already bought or are closed keep their row but are not ranked;
leads created after as_of are not scored in a backfill, and are counted."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from intent_model import crm_export, predict, train
from intent_model.events.taxonomy import load_taxonomy
from intent_model.io.config import Config

HARD = [name for name, kind in load_taxonomy().classes.items() if kind == "hard"]


@pytest.fixture(scope="module")
def table_model(small_demo, tmp_path_factory):
    table = crm_export(small_demo)
    root = tmp_path_factory.mktemp("crm")
    table.to_parquet(root / "crm.parquet")
    result = train(leads=root / "crm.parquet", label_col="converted", out=root / "m", track=False)
    return result, root / "crm.parquet", table


def test_no_lead_whose_label_says_converted_is_in_a_tier(table_model):
    result, path, table = table_model
    scores = predict(result.bundle_dir, leads=path).scores
    assert len(scores) == len(table) and scores["lead_id"].is_unique
    merged = scores.merge(table[["lead_id", "converted"]].astype({"lead_id": str}), on="lead_id")
    converted = merged["converted"] == 1
    assert converted.any()
    assert merged.loc[converted, "tier"].isna().all() and merged.loc[converted, "rank"].isna().all()
    assert set(merged.loc[converted, "intent"]) == {"converted"}
    assert merged.loc[~converted, "tier"].notna().all()
    ranks = merged.loc[~converted, "rank"].sort_values().tolist()
    assert ranks == list(range(1, (~converted).sum() + 1))
    assert merged.loc[converted, "next_action"].str.startswith("Hand over").all()


def test_score_all_ranks_every_lead_again(table_model):
    result, path, table = table_model
    config = Config().replace(predict=dataclasses.replace(Config().predict, score="all"))
    scores = predict(result.bundle_dir, leads=path, config=config).scores
    assert scores["rank"].notna().all() and "converted" not in set(scores["intent"])


def test_closed_values_mark_leads_closed(table_model):
    result, path, table = table_model
    predict_config = dataclasses.replace(
        Config().predict, closed_values={"lead_status": ("closed - lost",)}
    )
    scores = predict(
        result.bundle_dir, leads=path, config=Config().replace(predict=predict_config)
    ).scores
    lost = table.loc[table["lead_status"] == "Closed - Lost", "lead_id"].astype(str)
    lost_rows = scores.set_index("lead_id").loc[lost]
    assert len(lost) and lost_rows["intent"].isin(["closed", "converted"]).all()
    assert (lost_rows["intent"] == "closed").any() and lost_rows["rank"].isna().all()


def test_no_lead_with_a_recent_hard_conversion_is_ranked(trained, small_demo):
    result, _, _ = trained
    prediction = predict(result.bundle_dir, small_demo.events, small_demo.leads)
    scores, as_of = prediction.scores, prediction.as_of
    events = small_demo.events
    recent = events[
        events["event_type"].astype(str).isin(HARD)
        & (events["timestamp"] >= as_of - pd.Timedelta(days=30))
        & (events["timestamp"] < as_of)
    ]["lead_id"].astype(str)
    assert len(recent)
    by_lead = scores.set_index("lead_id")
    assert by_lead.loc[recent.unique(), "rank"].isna().all()
    assert set(by_lead.loc[recent.unique(), "intent"]) == {"converted"}
    ranked = by_lead[by_lead["rank"].notna()]
    assert not set(ranked.index) & set(recent)
    assert "already converted in the last 30 days" in prediction.summary()
    assert scores["lead_id"].is_unique


def test_a_backfill_skips_and_counts_leads_created_later(trained, small_demo):
    result, _, _ = trained
    as_of = small_demo.leads["created_at"].quantile(0.7)
    prediction = predict(result.bundle_dir, small_demo.events, small_demo.leads, as_of=as_of)
    first_event = small_demo.events.groupby(small_demo.events["lead_id"].astype(str))[
        "timestamp"
    ].min()
    leads = small_demo.leads.assign(lead_id=small_demo.leads["lead_id"].astype(str))
    active_before = first_event.reindex(leads["lead_id"]).lt(as_of).to_numpy()
    later = leads["created_at"].ge(as_of).to_numpy() & ~active_before
    assert later.sum() > 0
    assert not set(prediction.scores["lead_id"]) & set(leads.loc[later, "lead_id"])
    assert f"{later.sum():,} lead(s) created after as_of were not scored" in prediction.summary()


def test_the_python_api_maps_column_names_like_the_cli_flags(table_model, tmp_path):
    result, path, table = table_model
    renamed = table.rename(columns={"lead_id": "Prospect ID", "created_at": "Created On"})
    renamed.to_csv(tmp_path / "export.csv", index=False)
    columns = {"lead_id": "Prospect ID", "created_at": "Created On"}
    scores = predict(result.bundle_dir, leads=tmp_path / "export.csv", columns=columns).scores
    assert len(scores) == len(table) and set(scores["lead_id"]) == set(table["lead_id"])
    with pytest.raises(Exception, match="unknown key"):
        predict(result.bundle_dir, leads=tmp_path / "export.csv", columns={"leadid": "x"})


def test_a_table_model_is_promoted_from_the_lead_table_alone(small_demo, tmp_path, capsys):
    from intent_model import promote
    from intent_model.cli import main
    from intent_model.io.config import TrainingConfig

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = Config(training=TrainingConfig(tracking_uri=uri))
    path = tmp_path / "crm.parquet"
    crm_export(small_demo).to_parquet(path)
    first = train(leads=path, label_col="converted", out=tmp_path / "v1", config=config)
    assert first.model_version == "1" and first.promotion is None
    second = train(leads=path, label_col="converted", out=tmp_path / "v2", config=config)
    assert "intent-model promote --version 2" in second.summary()
    result = promote(None, path, config, version="1")
    assert result.promoted and "now the champion" in result.message
    again = promote(None, path, config, version="2")
    assert again.champion_version == "1" and again.challenger_score == pytest.approx(
        again.champion_score
    )
    code = main(["promote", "--leads", str(path), "--version", "2", "--tracking-uri", uri])
    assert code == 0 and "version 2" in capsys.readouterr().out
