"""The model against the simple answers, out of time, with intervals: on a real public event
log and on the simulator's scenarios.

Run: .venv/bin/python benchmarks/simple_answers.py [--leads 3000] [--seed 42]
(needs the bench extra: the CDNOW log ships in the ``lifetimes`` package)

* **CDNOW** (Fader & Hardie's CDNOW master file, shipped in ``lifetimes``, MIT
  licence): every purchase of the 23,570 customers who first bought in the
  first quarter of 1997, to June 1998: 69,659 rows of customer, day, CDs and
  dollars. As a user of such a log would: each row a ``purchase`` event (a hard
  conversion), the label a purchase in the 30 days after a monthly cutoff.
* the three scenarios of ``intent-model generate`` (``--leads`` each).

For each it trains with every default (``train``, no MLflow), then fits on the
same development snapshots and scores on the same held-out ones: the plain
per-type counts with a logistic regression and with a default gradient
boosting, and each one-family rule (an event class's history alone, the
recency family alone) with a logistic regression. It prints every scorer's
ROC AUC and average precision with their 90% intervals (resampling the
held-out leads), the model's gain over each with its interval, and which
candidate the tool chose.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def cdnow_events() -> pd.DataFrame:
    """The CDNOW master file as an event log, read from the lifetimes package's data."""
    where = importlib.util.find_spec("lifetimes").submodule_search_locations[0]
    raw = pd.read_csv(
        Path(where) / "datasets" / "CDNOW_master.txt",
        sep=r"\s+",
        names=["customer", "date", "cds", "dollars"],
        skiprows=1,
        dtype={"customer": str, "date": str},
    )
    return pd.DataFrame(
        {
            "lead_id": raw["customer"],
            "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d", utc=True),
            "event_type": "purchase",
            "channel": "store",
        }
    )


def compare(name: str, events: pd.DataFrame, leads: pd.DataFrame | None, config) -> list[dict]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    from intent_model.events.training_set import build_training_set
    from intent_model.modeling.evaluate import intervals_by_lead
    from intent_model.modeling.pipeline import simple_candidates
    from intent_model.modeling.split import out_of_time_split
    from intent_model.training.from_events import simple_feature_sets
    from intent_model.training.train import train

    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        result = train(events, leads, Path(tmp) / "m", config, track=False)
        X, y, keys = build_training_set(events, leads, config)
    split = out_of_time_split(keys, config.training.holdout_cutoffs, config.labels.horizon_days)
    holdout = result.holdout
    scores = {"model": holdout["p_model"].to_numpy()}
    spec_sets = simple_feature_sets(result_spec(result))
    for label, estimator in simple_candidates(spec_sets, config.training):
        fitted = estimator.fit(X[split.development], y[split.development])
        scores[label] = fitted.predict_proba(X[split.holdout])[:, 1]
    truth = holdout["label"].to_numpy()
    assert np.array_equal(truth, y[split.holdout].to_numpy())
    bands = intervals_by_lead(holdout["lead_id"].to_numpy(), truth, scores, "model")
    chosen = next(
        c["name"] for c in result.metadata["model_choices"]["candidates"] if c["selected"]
    )
    rows = []
    for scorer, p in scores.items():
        gain = bands.get(f"{scorer}_gain", {}).get("roc_auc", [])
        rows.append(
            {
                "log": name,
                "scorer": scorer,
                "ROC AUC": round(roc_auc_score(truth, p), 4),
                "90% interval": _band(bands[scorer]["roc_auc"]),
                "AP": round(average_precision_score(truth, p), 4),
                "AP 90% interval": _band(bands[scorer]["average_precision"]),
                "model's AUC gain": _band(gain, signed=True),
                "chosen by the tool": chosen if scorer == "model" else "",
            }
        )
    return rows


def result_spec(result):
    from intent_model.events.features import FeatureSpec

    return FeatureSpec.from_dict(result.metadata["feature_spec"])


def _band(values, signed: bool = False) -> str:
    if not values:
        return ""
    low, high = values
    return f"{low:+.4f} to {high:+.4f}" if signed else f"{low:.4f} to {high:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only-cdnow", action="store_true")
    args = parser.parse_args()
    from intent_model.io.config import Config, with_columns
    from intent_model.simulate.funnel import simulate_funnel
    from intent_model.simulate.scenarios import SCENARIOS

    rows = compare("CDNOW (real)", cdnow_events(), None, Config())
    if not args.only_cdnow:
        for scenario in SCENARIOS:
            demo = simulate_funnel(n_leads=args.leads, seed=args.seed, scenario=scenario)
            config = Config()
            if "account_id" in demo.leads:
                config = with_columns(config, {"account_id": "account_id"})
            rows += compare(scenario, demo.events, demo.leads, config)
    pd.set_option("display.width", 220)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
