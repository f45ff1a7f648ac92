"""Snapshot cadence: what ``[labels] step_days = "auto"`` chooses, and what it is worth.

Run: .venv/bin/python benchmarks/cadence.py [--leads 1000 2000] [--customers 1000 3000]
(the CDNOW cases need the bench extra: the log ships in the ``lifetimes`` package)

For each log it holds out the last horizon: every model is trained on the
events before ``T`` (the last event less one horizon), scores every lead as
of ``T`` with ``predict``, and is measured on what the leads did in the
horizon after ``T`` (a hard conversion), the way a monitoring run measures a
past scoring. So every cadence is judged on the same leads and the same
outcomes, which its own out-of-time cutoffs could not give. It prints, per
log and cadence: the cadence "auto" chose and its development positives, the
training snapshots, the realized ROC AUC and average precision with 90%
intervals, and the gain of each cadence over month starts with its interval
(the same resamples of the leads).

Logs: the simulator's scenarios at ``--leads`` (test fixtures, not targets), and
CDNOW (Fader & Hardie's CDNOW master file, in ``lifetimes``, MIT licence: the
purchases of 23,570 customers, each a hard conversion) cut to the first
``--customers`` customers by id, a real small log.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from quality import band, cdnow_events
from sklearn.metrics import average_precision_score, roc_auc_score

from intent_model.events.taxonomy import load_taxonomy
from intent_model.io.config import Config, LabelConfig, with_columns
from intent_model.modeling.evaluate import intervals_by_lead
from intent_model.monitoring.outcomes import event_outcomes
from intent_model.scoring.predict import predict
from intent_model.simulate.funnel import simulate_funnel
from intent_model.simulate.scenarios import SCENARIOS
from intent_model.training.train import train

CADENCES = ("month", "auto")


def measure(name: str, events: pd.DataFrame, leads: pd.DataFrame | None, config: Config) -> list:
    horizon = pd.Timedelta(days=config.labels.horizon_days)
    as_of = (events["timestamp"].max() - horizon).floor("D")
    before = events[events["timestamp"] < as_of]
    hard_types = load_taxonomy(config.taxonomy).classify(events["event_type"])["event_class"]
    hard = events.loc[(hard_types == "hard").to_numpy(), ["lead_id", "timestamp"]]
    scores, facts = {}, {}
    for cadence in CADENCES:
        labels = LabelConfig(**{**vars(config.labels), "step_days": cadence})
        run_config = config.replace(labels=labels)
        with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            result = train(before, leads, Path(tmp) / "m", run_config, track=False)
            seconds = time.perf_counter() - started
            scored = predict(Path(tmp) / "m", before, leads, as_of=as_of).scores
        ranked = scored[scored["rank"].notna()]
        outcome = event_outcomes(ranked, hard, as_of, config.labels.horizon_days)
        scores[cadence] = outcome.set_index(outcome["lead_id"].astype(str))["p_hard"]
        facts[cadence] = {
            "chosen": result.metadata["cadence"]["step"],
            "seconds": round(seconds, 1),
            "converted": outcome.set_index(outcome["lead_id"].astype(str))["converted"],
            "training_rows": result.metadata["training_data"]["n_snapshots"],
        }
    leads_scored = scores["month"].index.intersection(scores["auto"].index)
    y = facts["month"]["converted"].reindex(leads_scored).to_numpy()
    p = {c: scores[c].reindex(leads_scored).to_numpy() for c in CADENCES}
    bands = intervals_by_lead(leads_scored.to_numpy(), y, p, "auto")
    rows = []
    for cadence in CADENCES:
        rows.append(
            {
                "log": name,
                "cadence": cadence,
                "chose": facts[cadence]["chosen"],
                "training rows": facts[cadence]["training_rows"],
                "scored leads": len(leads_scored),
                "converted": int(y.sum()),
                "ROC AUC": round(roc_auc_score(y, p[cadence]), 4),
                "90%": band(bands[cadence]["roc_auc"]),
                "AP": round(average_precision_score(y, p[cadence]), 4),
                "AP 90%": band(bands[cadence]["average_precision"]),
                "auto's AUC gain": band(bands.get("month_gain", {}).get("roc_auc", []), True)
                if cadence == "month"
                else "",
                "train s": facts[cadence]["seconds"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = []
    cdnow = cdnow_events()
    ids = np.sort(cdnow["lead_id"].astype(int).unique())
    for n in args.customers:
        kept = cdnow[cdnow["lead_id"].astype(int) <= ids[n - 1]]
        rows += measure(f"CDNOW, {n:,} customers", kept, None, Config())
        print(pd.DataFrame(rows).tail(2).to_string(index=False), flush=True)
    for n in args.leads:
        for scenario in SCENARIOS:
            demo = simulate_funnel(n_leads=n, seed=args.seed, scenario=scenario)
            config = Config()
            if "account_id" in demo.leads:
                config = with_columns(config, {"account_id": "account_id"})
            rows += measure(f"{scenario}, {n:,} leads", demo.events, demo.leads, config)
            print(pd.DataFrame(rows).tail(2).to_string(index=False), flush=True)
    pd.set_option("display.width", 250)
    print()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
