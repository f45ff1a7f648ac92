"""The simple answers compete with the model: where one family carries all the signal, the
simple candidate is chosen, and the card says why with its figures."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intent_model.io.config import Config, GuardConfig, TrainingConfig
from intent_model.training.train import train


def _repeat_buying_log(n_leads: int = 900, seed: int = 4) -> pd.DataFrame:
    """Leads whose only signal is how often they bought before: every other event is noise
    of the same rate for everyone."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    habit = rng.gamma(0.6, 0.015, n_leads)  # purchases per day, a habit of each lead
    for lead in range(n_leads):
        for day in range(330):
            moment = start + pd.Timedelta(days=day, hours=int(rng.integers(0, 24)))
            if rng.random() < habit[lead]:
                rows.append((f"L{lead}", moment, "purchase"))
            for kind in ("page_view", "email_open"):
                if rng.random() < 0.08:
                    rows.append((f"L{lead}", moment, kind))
    return pd.DataFrame(rows, columns=["lead_id", "timestamp", "event_type"]).assign(channel="web")


@pytest.mark.slow
def test_where_one_family_carries_the_signal_the_simple_candidate_is_chosen(tmp_path):
    events = _repeat_buying_log()
    config = Config(
        guards=GuardConfig(min_positives=20, min_negatives=50),
        training=TrainingConfig(holdout_cutoffs=2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train(events, None, tmp_path / "m", config, track=False)
    candidates = result.metadata["model_choices"]["candidates"]
    chosen = next(c for c in candidates if c["selected"])
    best = max(candidates, key=lambda c: c["average_precision"])
    # A simpler candidate than the best one, within the uncertainty of the gap.
    assert candidates.index(chosen) <= candidates.index(best)
    assert chosen["name"].startswith(("rule:", "plain:")), chosen["name"]
    assert chosen["behind_the_best"][0] <= 0
    card = (tmp_path / "m" / "model_card.md").read_text()
    assert "the simplest candidate whose average precision is not distinguishably" in card
    assert chosen["name"] in card
