"""The Spark engine against the local engine: features of every lead for one cutoff.

Run: .venv/bin/python benchmarks/spark.py [--leads 6500 65000] [--master local[2]]
(needs the spark extra and Java)

Both engines read the same Parquet files and run the same feature code; the
Spark engine's result is written to Parquet so that all of it is computed.
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

from intent_model import build_features, simulate_funnel, write_demo_data
from intent_model.engines.spark import spark_features, spark_session

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
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        for n_leads in args.leads:
            data = Path(tmp) / str(n_leads)
            demo = simulate_funnel(n_leads=n_leads, seed=0)
            write_demo_data(demo, data)
            n_events = len(demo.events)
            del demo
            started = time.perf_counter()
            local = build_features(
                data / "events.parquet", data / "leads.parquet", as_of=AS_OF, workdir=tmp
            )
            local_seconds = time.perf_counter() - started
            started = time.perf_counter()
            spark_features(
                spark,
                data / "events.parquet",
                data / "leads.parquet",
                as_of=AS_OF,
                n_buckets=16,
            ).write.mode("overwrite").parquet(str(data / "spark_features"))
            spark_seconds = time.perf_counter() - started
            on_spark = pd.read_parquet(data / "spark_features").set_index("lead_id").sort_index()
            same = on_spark.index.equals(local.index) and np.allclose(
                on_spark.to_numpy(), local.to_numpy(), rtol=0, atol=1e-9, equal_nan=True
            )
            for engine, seconds in (
                ("local", local_seconds),
                (f"spark {args.master}", spark_seconds),
            ):
                rows.append(
                    {
                        "events": f"{n_events:,}",
                        "engine": engine,
                        "seconds": round(seconds, 2),
                        "events_per_s": f"{n_events / seconds:,.0f}",
                        "ratio_to_local": round(seconds / local_seconds, 2),
                        "same_features": "yes" if same else "NO",
                    }
                )
    spark.stop()
    print(f"Features for one cutoff; Spark session start-up {startup:.1f} s (not included)")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
