"""Batch scoring speed: features, probabilities and exact tree-SHAP reasons for every lead.

Run: .venv/bin/python benchmarks/predict.py [--leads 5000 65000]

Trains one model on the 5,000-lead demo (no MLflow), then scores demo logs of
each size from Parquet files, as the nightly job does, and prints the time of
the whole run and of the reasons alone, in leads per second. Then the same
for a model trained on the demo's CRM export (one row per lead, no events),
scoring CRM exports of each size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from intent_model.events.training_set import build_features
from intent_model.scoring.explain import explain, reason_texts
from intent_model.scoring.predict import load_model, predict
from intent_model.simulate.crm import crm_export
from intent_model.simulate.funnel import simulate_funnel, write_demo_data
from intent_model.training.from_table import train_table
from intent_model.training.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[5000, 65000])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        root = Path(tmp)
        demo = simulate_funnel(n_leads=5000, seed=42)
        train(demo.events, demo.leads, root / "model", track=False)
        loaded = load_model(root / "model")
        for n_leads in args.leads:
            data = root / f"data-{n_leads}"
            sized = simulate_funnel(n_leads=n_leads, seed=7)
            write_demo_data(sized, data)
            started = time.perf_counter()
            result = predict(
                loaded,
                data / "events.parquet",
                data / "leads.parquet",
                root / "scores.parquet",
                workdir=root,
            )
            total = time.perf_counter() - started
            features = build_features(
                data / "events.parquet",
                data / "leads.parquet",
                spec=loaded.spec,
                taxonomy=loaded.taxonomy,
                workdir=root,
            )
            started = time.perf_counter()
            reason_texts(features, explain(loaded.model, features), loaded.spec)
            reasons = time.perf_counter() - started
            rows.append(
                {
                    "events": f"{len(sized.events):,}",
                    "leads": f"{len(result.scores):,}",
                    "predict_seconds": round(total, 1),
                    "leads_per_s": f"{len(result.scores) / total:,.0f}",
                    "reasons_seconds": round(reasons, 1),
                    "reasons_share": f"{reasons / total:.0%}",
                }
            )
    print("Batch scoring from Parquet, every lead with reasons (2-core machine)")
    print(pd.DataFrame(rows).to_string(index=False))
    print()
    print("Scoring a CRM table alone (one row per lead, no events), with reasons")
    print(pd.DataFrame(crm_rows(args.leads)).to_string(index=False))


def crm_rows(sizes: list[int]) -> list[dict]:
    """Train on the 5,000-lead CRM export, then score exports of each size from Parquet."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-predict-crm-") as tmp:
        root = Path(tmp)
        demo = simulate_funnel(n_leads=5000, seed=42)
        train_table(crm_export(demo, 42), root / "model", label_col="converted", track=False)
        loaded = load_model(root / "model")
        for n_leads in sizes:
            table = crm_export(simulate_funnel(n_leads=n_leads, seed=7), 7)
            table.to_parquet(root / "crm.parquet")
            started = time.perf_counter()
            result = predict(loaded, None, root / "crm.parquet", root / "scores.parquet")
            total = time.perf_counter() - started
            rows.append(
                {
                    "leads": f"{len(result.scores):,}",
                    "predict_seconds": round(total, 1),
                    "leads_per_s": f"{len(result.scores) / total:,.0f}",
                }
            )
    return rows


if __name__ == "__main__":
    main()
