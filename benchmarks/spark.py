"""The Spark engine against the local engine: features of every lead for one cutoff,
and the whole predict job.

Run: .venv/bin/python benchmarks/spark.py [--leads 6500 65000] [--master local[2]]
(needs the spark extra and Java)

Both engines read the same Parquet files and run the same feature and scoring
code; the Spark engine's result is written to Parquet so that all of it is
computed. For predict, the table also gives the number of tasks of the job's
last stage (the write of the ranked scores: more than one means the ranking did
not gather every lead into one task) and the threads each task's native pools
run (the scoring tasks run under a one-thread budget; PySpark also sets
OMP_NUM_THREADS to spark.task.cpus in its workers).
Spark pays a fixed cost (JVM, scheduling, Arrow transfer to Python workers)
that only many machines can repay: on one 2-core machine it cannot win.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from intent_model import build_features, predict, simulate_funnel, train, write_demo_data
from intent_model.engines.spark import (
    spark_features,
    spark_predict,
    spark_session,
    task_thread_pools,
)

AS_OF = "2025-06-01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[6500, 65000])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    spark = spark_session(args.master, "intent-model-benchmark")
    spark.range(1).collect()
    startup = time.perf_counter() - started
    feature_rows, predict_rows = [], []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        model = Path(tmp) / "model"
        train(*_demo(Path(tmp) / "train", 5000, seed=42), model, track=False)
        for n_leads in args.leads:
            data = Path(tmp) / str(n_leads)
            n_events = len(pd.read_parquet(_demo(data, n_leads, seed=0)[0], columns=["lead_id"]))
            feature_rows += _feature_rows(spark, data, n_events, args.master)
            predict_rows += _predict_rows(spark, model, data, n_leads, args.master)
    pools = task_thread_pools(spark)
    spark.stop()
    print(f"Features for one cutoff; Spark session start-up {startup:.1f} s (not included)")
    print(pd.DataFrame(feature_rows).to_string(index=False))
    print("\nThe predict job (features, score, reasons, rank, write)")
    print(pd.DataFrame(predict_rows).to_string(index=False))
    threads = pools.groupby("task")["threads"].max()
    print(
        f"\nThreads per Spark task while scoring: at most {threads.max()} "
        f"({len(threads)} tasks; pools seen: {', '.join(sorted(set(pools['library'])))})"
    )


def _demo(data: Path, n_leads: int, seed: int) -> tuple[Path, Path]:
    files = write_demo_data(simulate_funnel(n_leads=n_leads, seed=seed), data)
    return files["events"], files["leads"]


def _feature_rows(spark, data: Path, n_events: int, master: str) -> list[dict]:
    started = time.perf_counter()
    local = build_features(
        data / "events.parquet", data / "leads.parquet", as_of=AS_OF, workdir=data
    )
    local_seconds = time.perf_counter() - started
    started = time.perf_counter()
    spark_features(
        spark, data / "events.parquet", data / "leads.parquet", as_of=AS_OF, n_buckets=16
    ).write.mode("overwrite").parquet(str(data / "spark_features"))
    spark_seconds = time.perf_counter() - started
    on_spark = pd.read_parquet(data / "spark_features").set_index("lead_id").sort_index()
    same = on_spark.index.equals(local.index) and np.allclose(
        on_spark.to_numpy(), local.to_numpy(), rtol=0, atol=1e-9, equal_nan=True
    )
    return [
        {
            "events": f"{n_events:,}",
            "engine": engine,
            "seconds": round(seconds, 2),
            "events_per_s": f"{n_events / seconds:,.0f}",
            "ratio_to_local": round(seconds / local_seconds, 2),
            "same_features": "yes" if same else "NO",
        }
        for engine, seconds in (("local", local_seconds), (f"spark {master}", spark_seconds))
    ]


def _predict_rows(spark, model: Path, data: Path, n_leads: int, master: str) -> list[dict]:
    events, leads = data / "events.parquet", data / "leads.parquet"
    started = time.perf_counter()
    local = predict(model, events, leads, as_of=AS_OF).scores
    local_seconds = time.perf_counter() - started
    group = f"predict-{n_leads}"
    spark.sparkContext.setJobGroup(group, "spark predict")
    started = time.perf_counter()
    spark_predict(spark, model, events, leads, data / "spark_scores", AS_OF, n_buckets=16)
    spark_seconds = time.perf_counter() - started
    on_spark = pd.read_parquet(data / "spark_scores").set_index("lead_id")
    same_rank = on_spark.loc[local["lead_id"], "rank"].astype("Int64").tolist() == (
        local["rank"].astype("Int64").tolist()
    )
    return [
        {
            "leads": f"{n_leads:,}",
            "engine": "local",
            "seconds": round(local_seconds, 2),
            "ratio_to_local": 1.0,
            "tasks_last_stage": "",
            "same_ranks": "",
        },
        {
            "leads": f"{n_leads:,}",
            "engine": f"spark {master}",
            "seconds": round(spark_seconds, 2),
            "ratio_to_local": round(spark_seconds / local_seconds, 2),
            "tasks_last_stage": _tasks_of_last_stage(spark, group),
            "same_ranks": "yes" if same_rank else "NO",
        },
    ]


def _tasks_of_last_stage(spark, group: str) -> int:
    tracker = spark.sparkContext.statusTracker()
    last_job = max(tracker.getJobIdsForGroup(group))
    last_stage = max(tracker.getJobInfo(last_job).stageIds)
    return tracker.getStageInfo(last_stage).numTasks


if __name__ == "__main__":
    main()
