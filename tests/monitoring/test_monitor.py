"""Outcomes of past scores: every figure of the summary recounted from the raw events (or a
newer export), a partial window marked, the run in MLflow, --fail-below for a scheduler."""

from __future__ import annotations

import json
import warnings

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from intent_model.cli import main
from intent_model.events.taxonomy import load_taxonomy
from intent_model.monitoring.monitor import monitor
from intent_model.scoring.predict import predict

AS_OF = pd.Timestamp("2025-01-15", tz="UTC")
HORIZON = pd.Timedelta(days=30)


@pytest.fixture(scope="module")
def past_scores(trained, small_demo, tmp_path_factory):
    """The champion's scores as of AS_OF, written as predict writes them, and the events
    that followed, with a hard conversion spelled by an alias and two at the window's edges."""
    root = tmp_path_factory.mktemp("monitor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = predict(
            "models:/lead-intent@champion",
            small_demo.events,
            small_demo.leads,
            root / "scores.parquet",
            as_of=AS_OF,
            tracking_uri=trained[2],
        )
    scores = result.scores
    open_leads = scores.loc[scores["rank"].notna(), "lead_id"].tolist()
    extra = pd.DataFrame(
        {
            "lead_id": open_leads[-3:],
            "timestamp": [AS_OF, AS_OF + HORIZON, AS_OF + HORIZON - pd.Timedelta(seconds=1)],
            # An alias of demo_request, and a purchase exactly at the window's end (not in it).
            "event_type": ["Demo Requested", "purchase", "checkout_completed"],
            "channel": "web",
        }
    )
    events = pd.concat([small_demo.events, extra], ignore_index=True)
    return root, scores, events


def recount(scores: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Who converted, the plain way: a hard type (through the aliases) in [as_of, as_of + 30d)."""
    taxonomy = load_taxonomy()
    hard = events[[taxonomy.class_of(t) == "hard" for t in events["event_type"]]]
    inside = hard[(hard["timestamp"] >= AS_OF) & (hard["timestamp"] < AS_OF + HORIZON)]
    converted = scores["lead_id"].isin(set(inside["lead_id"].astype(str))).astype(int)
    return scores.assign(converted=converted)


@pytest.mark.slow
def test_the_summary_is_what_a_recount_of_the_raw_events_gives(past_scores, trained):
    root, scores, events = past_scores
    result = monitor(root / "scores.parquet", events, out=root / "out", tracking_uri=trained[2])
    truth = recount(scores, events)
    ranked = truth[truth["rank"].notna()]
    summary = json.loads((root / "out" / "summary.json").read_text())
    assert summary["n_scored"] == len(scores)
    # Converted and closed leads at scoring time are outside the ranking metrics.
    assert summary["n_leads"] == len(ranked) < len(scores)
    assert summary["n_converted"] == int(ranked["converted"].sum())
    assert summary["roc_auc"] == pytest.approx(roc_auc_score(ranked["converted"], ranked["p_hard"]))
    assert summary["average_precision"] == pytest.approx(
        average_precision_score(ranked["converted"], ranked["p_hard"])
    )
    for tier, figures in summary["tiers"].items():
        rows = ranked[ranked["tier"] == tier]
        assert (figures["leads"], figures["converted"]) == (len(rows), rows["converted"].sum())
    # The three planted events: the alias counts, the window's end does not.
    outcomes = result.outcomes.set_index("lead_id")
    planted = ranked["lead_id"].tolist()[-3:]
    assert outcomes.loc[planted[0], "converted"] == 1
    assert outcomes.loc[planted[2], "converted"] == 1
    assert summary["window_complete"] and summary["elapsed_days"] > 30
    low, high = summary["intervals"]["roc_auc"]
    assert low < summary["roc_auc"] < high
    assert set(summary["promised"]) >= {"roc_auc", "average_precision"}
    written = pd.read_parquet(root / "out" / "outcomes.parquet")
    assert len(written) == len(scores) and {"converted", "converted_at", "tier"} <= set(written)
    page = (root / "out" / "report.html").read_text()
    assert "data:image/png;base64," in page and "http" not in page.split("<body>")[1]


@pytest.mark.slow
def test_a_window_not_yet_complete_is_marked_partial(past_scores, trained):
    root, scores, events = past_scores
    early = events[events["timestamp"] < AS_OF + pd.Timedelta(days=10)]
    result = monitor(
        root / "scores.parquet", early, out=root / "partial", tracking_uri=trained[2], track=False
    )
    assert not result.summary["window_complete"]
    assert result.summary["elapsed_days"] < 10
    assert "PARTIAL" in result.summary_text()
    assert "PARTIAL" in (root / "partial" / "report.html").read_text()


@pytest.mark.slow
def test_the_monitoring_run_is_in_mlflow_under_the_model_version(past_scores, trained):
    root, scores, events = past_scores
    result = monitor(root / "scores.parquet", events, out=root / "tracked", tracking_uri=trained[2])
    run = mlflow.MlflowClient(tracking_uri=trained[2]).get_run(result.run_id)
    assert run.data.tags["model_version"] == scores["model_version"].iloc[0]
    assert run.data.tags["as_of"] == str(AS_OF)
    assert run.data.metrics["roc_auc"] == pytest.approx(result.summary["roc_auc"])
    assert run.data.metrics["promised.roc_auc"] == pytest.approx(
        result.summary["promised"]["roc_auc"]
    )


@pytest.mark.slow
def test_fail_below_exits_non_zero_for_a_scheduler(past_scores, trained, capsys):
    root, _, events = past_scores
    events.to_parquet(root / "events.parquet")
    common = [
        "monitor",
        "--scores",
        str(root / "scores.parquet"),
        "--events",
        str(root / "events.parquet"),
        "--tracking-uri",
        trained[2],
        "--no-track",
    ]
    assert main([*common, "--out", str(root / "low"), "--fail-below", "roc_auc=0.5"]) == 0
    assert main([*common, "--out", str(root / "high"), "--fail-below", "roc_auc=0.999"]) == 3
    assert "BELOW THE LINE: roc_auc" in capsys.readouterr().out


@pytest.mark.slow
def test_a_table_model_is_measured_against_a_newer_export(tmp_path):
    from intent_model import train

    rng = np.random.default_rng(2)
    n = 2500
    visits = rng.poisson(4, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + 0.35 * visits)))).astype(int)
    table = pd.DataFrame(
        {
            "lead_id": [f"T{i}" for i in range(n)],
            "created_at": pd.date_range("2024-01-01", periods=n, freq="3h", tz="UTC"),
            "visits": visits,
            "source": rng.choice(["ads", "web"], n),
            "won": y,
        }
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(leads=table, label_col="won", out=tmp_path / "m", tracking_uri=uri)
        open_now = table.assign(won=0)
        predict(tmp_path / "m", leads=open_now, out=tmp_path / "scores.csv")
    later = table.assign(won=np.where(rng.random(n) < 0.5, y, 0))
    result = monitor(
        tmp_path / "scores.csv",
        leads=later,
        out=tmp_path / "out",
        model=tmp_path / "m",
        label_col="won",
        track=False,
    )
    scores = pd.read_csv(tmp_path / "scores.csv").set_index("lead_id")
    truth = later.set_index("lead_id").loc[scores.index, "won"]
    assert result.summary["n_converted"] == int(truth.sum())
    assert result.summary["roc_auc"] == pytest.approx(roc_auc_score(truth, scores["p_hard"]))
