"""The post-outcome column checks (dominance included) against the whole table training.

Run: .venv/bin/python benchmarks/column_checks.py [--rows 10000] [--columns 30]

Builds a table of ``--rows`` leads and ``--columns`` columns: honest columns
that are noisy views of each lead's hidden interest (one strong, the rest of
varied strength) and one column measured during the contact that produced the
outcome (zero when there was none, longer when it went well). It times
``check_columns`` alone and a whole ``train`` from the table (without MLflow),
and prints, per seed, the planted column's and the strongest honest column's
figures: the evidence behind ``[table] dominance_margin``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def planted_table(n_rows: int, n_columns: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    interest = rng.normal(size=n_rows)
    converted = rng.random(n_rows) < 1 / (1 + np.exp(-(-2.2 + 1.3 * interest)))
    columns = {"lead_id": [f"L{i:06d}" for i in range(n_rows)], "converted": converted.astype(int)}
    for j in range(n_columns - 1):
        strength = 0.6 if j == 0 else rng.uniform(0.05, 0.35)
        columns[f"c{j:02d}"] = np.round(np.exp(strength * interest + rng.normal(size=n_rows)) * 3)
    contacted = rng.random(n_rows) < np.where(converted, 0.75, 0.35)
    minutes = rng.lognormal(np.where(converted, 1.2, 0.6), 0.9)
    columns["x"] = np.round(np.where(contacted, minutes, 0.0), 2)
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    from intent_model import train
    from intent_model.io.config import Config
    from intent_model.table.checks import check_columns
    from intent_model.table.roles import infer_roles

    evidence, timing = [], []
    for seed in args.seeds:
        table = planted_table(args.rows, args.columns, seed)
        features = table.drop(columns=["lead_id", "converted"])
        roles = infer_roles(table.drop(columns="converted"), (), None, {})
        started = time.perf_counter()
        checks = check_columns(features, roles, table["converted"].to_numpy(), Config())
        checks_seconds = time.perf_counter() - started
        checks = checks.set_index("column")
        honest = checks.drop(index="x")
        strongest = honest["single_column_auc"].idxmax()
        for name, label in (("x", "planted (during the contact)"), (strongest, "strongest honest")):
            row = checks.loc[name]
            evidence.append(
                {
                    "seed": seed,
                    "column": f"{name}: {label}",
                    "alone_auc": round(row["single_column_auc"], 3),
                    "others_auc": round(row["others_auc"], 3),
                    "drop_cost": round(row["drop_cost"], 3),
                    "flagged": bool(row["flagged"]),
                }
            )
        evidence.append(
            {
                "seed": seed,
                "column": "largest drop cost of any honest column",
                "drop_cost": round(honest["drop_cost"].max(), 3),
                "flagged": bool(honest["flagged"].any()),
            }
        )
        with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
            path = Path(tmp) / "table.parquet"
            table.to_parquet(path)
            started = time.perf_counter()
            train(leads=path, label_col="converted", out=Path(tmp) / "model", track=False)
            train_seconds = time.perf_counter() - started
        timing.append(
            {
                "seed": seed,
                "rows": args.rows,
                "columns": args.columns,
                "column_checks_s": round(checks_seconds, 2),
                "whole_training_s": round(train_seconds, 2),
                "share": f"{checks_seconds / train_seconds:.0%}",
            }
        )
    print("Dominance evidence (margin 0.05 of AUC; flagged also when alone >= others)")
    print(pd.DataFrame(evidence).to_string(index=False))
    print()
    print("Time of the column checks (all four) against a whole training from the table")
    print(pd.DataFrame(timing).to_string(index=False))


if __name__ == "__main__":
    main()
