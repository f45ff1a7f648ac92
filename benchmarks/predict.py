"""Batch scoring speed: features, probabilities and exact tree-SHAP reasons for every lead.

Run: .venv/bin/python benchmarks/predict.py [--leads 5000 65000] [--vs-duckdb 500000]

Trains one model on the 5,000-lead demo (no MLflow), then scores demo logs of
each size from Parquet files, as the nightly job does, and prints the time of
the whole run and of the reasons alone, in leads per second. Then the same
for a model trained on the demo's CRM export (one row per lead, no events),
scoring CRM exports of each size.

``--vs-duckdb N`` times the whole predict job (read, validate, features,
scores, reasons, write) over the ~10M events of the 65,000-lead funnel dealt
among N visitors with integer ids (the shape of ``benchmarks/features.py``),
against DuckDB's query computing the same features from the same files, each
in its own process (peak memory is its own), in one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from intent_model.events.stream import build_features
from intent_model.scoring.explain import explain, reason_texts
from intent_model.scoring.loaded import load_model
from intent_model.scoring.predict import predict
from intent_model.simulate.crm import crm_export
from intent_model.simulate.funnel import simulate_funnel, write_demo_data
from intent_model.training.from_table import train_table
from intent_model.training.train import train

# The simulated funnel runs from 2024-06-01 for 548 days: as of its end, every lead exists.
END_OF_DATA = "2025-12-01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[5000, 65000])
    parser.add_argument("--vs-duckdb", type=int, nargs="*", default=[500000])
    parser.add_argument(
        "--worker", nargs=3, metavar=("MODEL", "DATA", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.worker:
        _predict_worker(*map(Path, args.worker))
        return
    if args.vs_duckdb:
        print(pd.DataFrame(duckdb_rows(args.vs_duckdb)).to_string(index=False))
        print()
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


def duckdb_rows(sizes: list[int]) -> list[dict]:
    """The whole predict job against the DuckDB feature query, integer-id visitors."""
    sys.path.insert(0, str(Path(__file__).parent))
    import features as feature_bench

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-predict-duckdb-") as tmp:
        root = Path(tmp)
        train(*_demo_frames(5000, 42), root / "model", track=False)
        funnel = simulate_funnel(n_leads=65000, seed=0)
        for n_visitors in sizes:
            data = root / f"int-{n_visitors}"
            n_leads = feature_bench._write_integer_ids(funnel, n_visitors, data, 0)
            ours = _run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    str(root / "model"),
                    str(data),
                    str(root / "scores.parquet"),
                ]
            )
            scores = pd.read_parquet(root / "scores.parquet", columns=["lead_id"])
            reference = _run(
                [
                    sys.executable,
                    feature_bench.__file__,
                    *("--worker", "duckdb", "--as-of", END_OF_DATA),
                    *("--data", str(data), "--out", str(root / "duckdb.parquet")),
                ]
            )
            rows.append(
                {
                    "events": f"{len(funnel.events):,}",
                    "leads": f"{n_leads:,}",
                    "rows_out": f"{len(scores):,}",
                    "predict_s": round(ours["seconds"], 1),
                    "duckdb_features_s": round(reference["seconds"], 1),
                    "ratio": round(ours["seconds"] / reference["seconds"], 2),
                    "predict_peak_MB": round(ours["peak_rss_mb"]),
                    "duckdb_peak_MB": round(reference["peak_rss_mb"]),
                }
            )
    print("Whole predict job vs the DuckDB feature query, same files, one run (2-core machine)")
    return rows


def _demo_frames(n_leads: int, seed: int):
    demo = simulate_funnel(n_leads=n_leads, seed=seed)
    return demo.events, demo.leads


def _run(command: list[str]) -> dict:
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _predict_worker(model: Path, data: Path, out: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from features import peak_rss_mb

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-work-") as work:
        predict(
            model,
            data / "events.parquet",
            data / "leads.parquet",
            out,
            as_of=END_OF_DATA,
            workdir=work,
        )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


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
