"""Training time on a shared machine, and against a plain cross-validation of one model.

Run: .venv/bin/python benchmarks/training.py [--leads 6500]

On the demo's CRM export (one row per lead, ``--leads`` of them), in one run,
each measurement in a fresh process:

* ``train`` alone (``intent-model train --leads ... --label-col converted``,
  without MLflow), with the default jobs (every core this process may use);
* the same while one other single-threaded busy process runs on the machine
  (the situation of a nightly job sharing its machine);
* a plain 5-fold cross-validation of one ``HistGradientBoostingClassifier``
  with default settings on the same encoded table (what an analyst runs first),
  alone.

Prints the seconds and the ratios the issue asked about: training loaded /
alone (at most 1.5x), training / plain cross-validation (at most 3x).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=6500)
    parser.add_argument("--worker", choices=["train", "cv"], help=argparse.SUPPRESS)
    parser.add_argument("--table", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        seconds = _train(args.table) if args.worker == "train" else _plain_cv(args.table)
        print(json.dumps({"seconds": seconds}))
        return
    from intent_model.simulate.crm import crm_export
    from intent_model.simulate.funnel import simulate_funnel

    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        table = Path(tmp) / "crm.parquet"
        crm_export(simulate_funnel(n_leads=args.leads, seed=42), seed=42).to_parquet(table)
        alone = _run("train", table)
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)
            loaded = _run("train", table)
        finally:
            busy.kill()
            busy.wait()
        cv = _run("cv", table)
    rows = [
        {"run": "train, alone", "seconds": round(alone, 1), "ratio": 1.0},
        {
            "run": "train, one busy process beside it",
            "seconds": round(loaded, 1),
            "ratio": round(loaded / alone, 2),
        },
        {
            "run": "plain 5-fold CV of one HistGradientBoosting",
            "seconds": round(cv, 1),
            "ratio": round(cv / alone, 2),
        },
    ]
    print(f"Training from a CRM table of {args.leads:,} rows (2-core machine, one run)")
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"training / plain CV: {alone / cv:.1f}x; loaded / alone: {loaded / alone:.2f}x")


def _run(worker: str, table: Path) -> float:
    command = [sys.executable, __file__, "--worker", worker, "--table", str(table)]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])["seconds"]


def _train(table: Path) -> float:
    import warnings

    from intent_model.training.train import train

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="bench-model-") as out:
        started = time.perf_counter()
        train(leads=table, label_col="converted", out=Path(out) / "m", track=False)
        return time.perf_counter() - started


def _plain_cv(table: Path) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from intent_model.io.config import Config
    from intent_model.table.encoding import TableSpec, latest_moment
    from intent_model.table.roles import infer_roles, load_lead_table

    config = Config()
    lead_table = load_lead_table(table, config, "converted")
    frame = lead_table.frame
    placeholders = config.features.placeholders()
    roles = infer_roles(frame, placeholders, "converted", {})
    spec = TableSpec.fit(frame, roles, placeholders, 30, 10)
    X = spec.encode(frame, latest_moment(frame, spec))
    started = time.perf_counter()
    cross_val_score(
        HistGradientBoostingClassifier(random_state=0),
        X,
        lead_table.label,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
