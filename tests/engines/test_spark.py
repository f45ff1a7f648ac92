"""The Spark engine computes what the local engine computes, row for row.

Runs a real local Spark session (local[2]); skipped with the reason when
PySpark or Java is missing.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java; none is installed"),
]


@pytest.fixture(scope="module")
def spark():
    from intent_model.engines.spark import spark_session

    session = spark_session("local[2]", "intent-model-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def demo_files(small_demo, tmp_path_factory):
    from intent_model import write_demo_data

    return write_demo_data(small_demo, tmp_path_factory.mktemp("spark-demo"))


def test_spark_features_equal_local_features(spark, demo_files):
    from intent_model import build_features

    local = build_features(demo_files["events"], demo_files["leads"], as_of="2024-12-01")
    on_spark = build_features(
        demo_files["events"], demo_files["leads"], as_of="2024-12-01", engine="spark", spark=spark
    )
    assert list(on_spark.index) == list(local.index)
    np.testing.assert_allclose(on_spark.to_numpy(), local.to_numpy(), rtol=0, atol=1e-9)


def test_spark_training_set_equals_local(spark, demo_files):
    from intent_model import Config, GuardConfig, build_training_set

    config = Config(guards=GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = build_training_set(demo_files["events"], demo_files["leads"], config)
    on_spark = build_training_set(
        demo_files["events"], demo_files["leads"], config, engine="spark", spark=spark
    )
    pd.testing.assert_frame_equal(on_spark.keys, local.keys)
    pd.testing.assert_series_equal(on_spark.y, local.y)
    np.testing.assert_allclose(on_spark.X.to_numpy(), local.X.to_numpy(), rtol=0, atol=1e-9)


def test_spark_predictions_equal_local_predictions(spark, demo_files, trained, tmp_path):
    from intent_model import predict
    from intent_model.engines.spark import spark_predict

    model = trained[1] / "models" / "first"
    # A backfill: some leads were created later (not scored), some had just converted.
    as_of = "2025-02-01"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = predict(model, demo_files["events"], demo_files["leads"], as_of=as_of)
    assert "created after as_of were not scored" in local.summary()
    local = local.scores
    spark_predict(
        spark, model, demo_files["events"], demo_files["leads"], tmp_path / "scores", as_of
    )
    # Ranked leads first, then the converted ones by p_hard, as the local engine orders them.
    on_spark = pd.read_parquet(tmp_path / "scores").sort_values(
        ["rank", "p_hard", "lead_id"], ascending=[True, False, True], ignore_index=True
    )
    assert (local["intent"] == "converted").any()
    assert list(on_spark.columns) == list(local.columns)
    assert on_spark["lead_id"].tolist() == local["lead_id"].tolist()
    np.testing.assert_allclose(on_spark["p_hard"], local["p_hard"], rtol=0, atol=1e-9)
    assert on_spark["rank"].astype("Int64").tolist() == local["rank"].astype("Int64").tolist()
    for column in ("intent", "score", "tier", "top_reasons", "next_action", "scored_from"):
        assert on_spark[column].tolist() == local[column].tolist(), column


def test_cli_predict_on_spark_writes_parquet(spark, demo_files, trained, tmp_path, capsys):
    from intent_model.cli import main

    out = tmp_path / "scores.parquet"
    code = main(
        [
            "predict",
            "--engine",
            "spark",
            "--spark-master",
            "local[2]",
            "--model",
            str(trained[1] / "models" / "first"),
            "--events",
            str(demo_files["events"]),
            "--leads",
            str(demo_files["leads"]),
            "--out",
            str(out),
        ]
    )
    assert code == 0 and "Scored" in capsys.readouterr().out
    assert len(pd.read_parquet(out)) == pd.read_parquet(demo_files["leads"])["lead_id"].nunique()


def test_spark_ranks_with_a_distributed_sort_equal_to_local_ranks(spark):
    from intent_model.engines.spark import SCORED_SCHEMA, _ranked
    from intent_model.scoring.output import add_rank

    rng = np.random.default_rng(3)
    n = 2000
    scored = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in rng.permutation(n)],
            # Few distinct values: most ranks are decided by the lead id.
            "p_hard": rng.integers(0, 40, n) / 40,
            "intent": "soft",
            "score": 1,
            "tier": "D",
            "top_reasons": "",
            "next_action": "",
            "scored_from": "events",
            "is_open": rng.random(n) < 0.8,
        }
    )
    frame = spark.createDataFrame(scored, SCORED_SCHEMA).repartition(7)
    ranked = _ranked(spark, frame)
    # A window over all open leads would hold them in one partition (one task).
    open_per_partition = ranked.rdd.glom().map(lambda rows: sum(r.is_open for r in rows))
    assert sum(1 for count in open_per_partition.collect() if count) > 1
    on_spark = ranked.toPandas().set_index("lead_id")
    expected = add_rank(scored[scored["is_open"]]).set_index("lead_id")["rank"]
    assert len(on_spark) == n
    assert on_spark.loc[expected.index, "rank"].astype(int).tolist() == expected.tolist()
    assert on_spark.loc[~scored.set_index("lead_id")["is_open"], "rank"].isna().all()
