"""Model quality out of time: the model, its baselines and the simulation's oracle side by side.

Run: .venv/bin/python benchmarks/quality.py [--leads 5000] [--seed 42]

For each size it simulates the demo funnel, trains exactly as `make demo`
does (MLflow into a temporary store), and prints, on the held-out cutoffs:
ROC AUC, average precision and Brier score of the gradient boosting model,
the logistic-regression and points-rule baselines, and the oracle (the exact
probability under the simulation given the hidden buying stage, which no
model can see), plus the model's gap to the oracle and the training time.

Then the CRM-table case on the same leads: their one-row-per-lead export
(`intent-model generate --crm`), trained from the table alone, once out of
time (with its creation date) and once by cross-validation (without it):
the model, the baselines, and the gradient boosting with the columns written
after the outcome that the checks refused, i.e. the leaky figure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from intent_model.io.config import Config
from intent_model.simulate.crm import crm_export
from intent_model.simulate.funnel import simulate_funnel
from intent_model.training.from_table import train_table
from intent_model.training.train import train

CRM_SCORERS = {
    "gradient_boosting": "gradient_boosting (model)",
    "logistic_regression": "logistic_regression",
    "points_rule": "points_rule (from the table)",
    "with_left_out_columns": "WITH the left-out columns (refused)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[5000])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows, timings, crm_rows, crm_timings = [], [], [], []
    for n_leads in args.leads:
        demo = simulate_funnel(n_leads=n_leads, seed=args.seed)
        crm_case(crm_export(demo, args.seed), crm_rows, crm_timings)
        with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
            started = time.perf_counter()
            result = train(
                demo.events,
                demo.leads,
                Path(tmp) / "model",
                Config(),
                tracking_uri=f"sqlite:///{tmp}/mlflow.db",
            )
            seconds = time.perf_counter() - started
        holdout = result.holdout.merge(
            demo.truth[["lead_id", "cutoff", "p_hard_30d"]].astype({"lead_id": str}),
            on=["lead_id", "cutoff"],
            how="left",
        )
        if holdout["p_hard_30d"].isna().any():
            raise RuntimeError("a held-out snapshot has no oracle probability")
        y = holdout["label"].to_numpy()
        scores = {
            "gradient_boosting (model)": holdout["p_gradient_boosting"],
            "logistic_regression": holdout["p_logistic_regression"],
            "points_rule": holdout["p_points_rule"],
            "oracle (hidden stage)": holdout["p_hard_30d"],
        }
        for name, p in scores.items():
            rows.append(
                {
                    "events": f"{len(demo.events):,}",
                    "scorer": name,
                    "roc_auc": roc_auc_score(y, p),
                    "average_precision": average_precision_score(y, p),
                    "brier": brier_score_loss(y, p),
                }
            )
        table = pd.DataFrame(rows[-4:]).set_index("scorer")[
            ["roc_auc", "average_precision", "brier"]
        ]
        gap = table.loc["oracle (hidden stage)"] - table.loc["gradient_boosting (model)"]
        timings.append(
            {
                "events": f"{len(demo.events):,}",
                "leads": n_leads,
                "snapshots": int(result.metadata["training_data"]["n_snapshots"]),
                "held_out_snapshots": len(holdout),
                "train_seconds": round(seconds, 1),
                "auc_gap_to_oracle": round(gap["roc_auc"], 4),
                "ap_gap_to_oracle": round(gap["average_precision"], 4),
            }
        )
    print("Out-of-time quality on the held-out cutoffs (demo data, seed", args.seed, ")")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print()
    print(pd.DataFrame(timings).to_string(index=False))
    print()
    print("CRM table alone (one row per lead, no events), same leads:")
    print(pd.DataFrame(crm_rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print()
    print(pd.DataFrame(crm_timings).to_string(index=False))


def crm_case(table: pd.DataFrame, rows: list, timings: list) -> None:
    """Train from the CRM export with and without its creation date; collect the figures."""
    for evaluation, frame in (
        ("out of time", table),
        ("cross-validation", table.drop(columns="created_at")),
    ):
        with tempfile.TemporaryDirectory(prefix="bench-crm-") as tmp:
            started = time.perf_counter()
            result = train_table(
                frame,
                Path(tmp) / "model",
                Config(),
                label_col="converted",
                tracking_uri=f"sqlite:///{tmp}/mlflow.db",
            )
            seconds = time.perf_counter() - started
        for kind, name in CRM_SCORERS.items():
            metrics = result.metrics.loc[kind]
            rows.append(
                {
                    "leads": f"{len(table):,}",
                    "evaluation": evaluation,
                    "scorer": name,
                    "roc_auc": metrics["roc_auc"],
                    "average_precision": metrics["average_precision"],
                    "brier": metrics["brier"],
                }
            )
        timings.append(
            {
                "leads": f"{len(table):,}",
                "evaluation": evaluation,
                "evaluated_leads": int(result.metrics.loc["gradient_boosting", "n"]),
                "left_out": ", ".join(result.checks.loc[result.checks["left_out"], "column"]),
                "train_seconds": round(seconds, 1),
            }
        )


if __name__ == "__main__":
    main()
