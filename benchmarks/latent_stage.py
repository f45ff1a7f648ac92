"""Would a latent buying stage, learned from the events without labels, add to the model?

Run: .venv/bin/python benchmarks/latent_stage.py [--leads 5000] [--seeds 42]
     [--scenarios demo repeat_buyers accounts] [--stages 4] [--iterations 30]

The demo's observable ceiling (``benchmarks/ceiling.py``) gets its lead over the
model from the form of the funnel: a stage that persists for weeks, engagement
that scales with a per-lead habit, hard conversions that do not. This script
tests the generic form of that idea, as a candidate feature family, before it
is built into the package. Nothing in it reads a scenario's parameters or the
simulator's event names: it sees the cleaned events (the taxonomy's types and
classes) and the leads' creation times, as training does.

The latent model is a hidden Markov chain over days with ``--stages`` states,
each emitting every known event type as a Poisson count at its own daily rate;
each lead also has a fixed activity level (a grid of nine values, learned
weights) that multiplies the rates of every type outside the taxonomy's hard
class. It is fitted by expectation-maximisation on the days before the first
held-out cutoff, with no labels. Its features at a cutoff, from the days
strictly before it, are the posterior weight of each state, the expected log
activity, and the chain's probability of a hard event in the label horizon.

Printed per scenario, on the held-out cutoffs of ``benchmarks/quality.py``: the
gradient boosting on the package's features, the same with the latent features,
the latent probability alone and the plain pipeline, as ROC AUC and average
precision, with the fit times.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from quality import add_scenario_arguments, plain_pipeline, scenario_config
from sklearn.metrics import average_precision_score, roc_auc_score

from intent_model.events.chunks import open_events
from intent_model.events.features import DAY_NS
from intent_model.events.taxonomy import load_taxonomy
from intent_model.events.training_set import build_training_set
from intent_model.modeling.pipeline import make_calibrated
from intent_model.modeling.split import out_of_time_split
from intent_model.simulate.funnel import simulate_funnel
from intent_model.training.from_events import hard_count_features

ACTIVITY = np.exp(np.linspace(-2.4, 2.4, 9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scenario_arguments(parser, seeds=(42,))
    parser.add_argument("--stages", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for seed in args.seeds:
        for name in args.scenarios:
            rows += scenario_rows(name, seed, args)
            print(f"[{name}, seed {seed}] done", flush=True)
    print(
        f"Out-of-time quality with a latent stage learned without labels "
        f"({args.leads:,} leads, seeds {', '.join(map(str, args.seeds))}, {args.stages} states)"
    )
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


@dataclass
class DailyCounts:
    """Events per (day, lead, known type) from the first lead's arrival to the last cutoff,
    and each lead's arrival (its first day, counted from ``first_day``)."""

    counts: np.ndarray  # (days, leads, types)
    arrival: np.ndarray  # (leads,)
    first_day: int
    lead_ids: pd.Index

    def until(self, day: int) -> DailyCounts:
        end = day - self.first_day
        return DailyCounts(self.counts[:end], self.arrival, self.first_day, self.lead_ids)

    def first(self, day: int) -> np.ndarray:
        return self.arrival == day

    def alive(self, day: int) -> np.ndarray:
        return self.arrival <= day


def day_number(moments: pd.Series) -> np.ndarray:
    """UTC calendar day of each moment, as days since the epoch."""
    return moments.astype("datetime64[ns, UTC]").array.asi8 // DAY_NS


def daily_counts(events: pd.DataFrame, leads: pd.DataFrame, types, last_day: int) -> DailyCounts:
    lead_ids = pd.Index(pd.unique(leads["lead_id"].astype(str)))
    lead = lead_ids.get_indexer(events["lead_id"].astype(str))
    kind = pd.Index(types).get_indexer(events["event_type"].astype(object))
    day = day_number(events["timestamp"])
    kept = (lead >= 0) & (kind >= 0) & (day < last_day)
    lead, kind, day = lead[kept], kind[kept], day[kept]
    created = leads.set_index(leads["lead_id"].astype(str)).reindex(lead_ids)["created_at"]
    start = day_number(created)
    first_event = np.full(len(lead_ids), np.iinfo(np.int64).max)
    np.minimum.at(first_event, lead, day)
    start = np.minimum(start, first_event)
    first_day = int(start.min())
    counts = np.zeros((last_day - first_day, len(lead_ids), len(types)), dtype=np.float32)
    np.add.at(counts, (day - first_day, lead, kind), 1.0)
    return DailyCounts(counts, start - first_day, first_day, lead_ids)


@dataclass
class LatentStages:
    """The chain's parameters: daily rates per state and type, transitions, initial state
    and activity weights; ``is_hard`` marks the types that activity does not scale."""

    rates: np.ndarray  # (states, types)
    transitions: np.ndarray  # (states, states)
    initial: np.ndarray  # (states,)
    activity_weights: np.ndarray  # (activity,)
    is_hard: np.ndarray  # (types,)

    @property
    def prior(self) -> np.ndarray:
        return self.activity_weights[:, None] * self.initial[None, :]

    def likelihood(self, counts: np.ndarray) -> np.ndarray:
        """Each day's likelihood per (activity, state), up to a factor per (day, lead)."""
        hard, other = self.is_hard, ~self.is_hard
        log_rates = np.log(self.rates + 1e-12)
        by_state = counts @ log_rates.T - self.rates[:, hard].sum(axis=1)
        scaled_events = counts[:, :, other].sum(axis=2)
        log_activity = np.log(ACTIVITY)
        scaled_total = ACTIVITY[:, None] * self.rates[:, other].sum(axis=1)[None, :]
        log_like = (
            by_state[:, :, None, :]
            + scaled_events[:, :, None, None] * log_activity[None, None, :, None]
            - scaled_total[None, None, :, :]
        )
        log_like -= log_like.max(axis=(2, 3), keepdims=True)
        return np.exp(log_like)

    def forward(self, data: DailyCounts, likelihood: np.ndarray) -> tuple[np.ndarray, float]:
        """Filtered weights per day (after that day's events) and the log-likelihood."""
        prior = self.prior
        weights = np.empty(likelihood.shape)
        state = np.broadcast_to(prior, likelihood.shape[1:]).copy()
        total_log = 0.0
        for day in range(len(likelihood)):
            predicted = np.where(data.first(day)[:, None, None], prior, state @ self.transitions)
            joint = predicted * likelihood[day]
            norm = joint.sum(axis=(1, 2))
            alive = data.alive(day)
            state = np.where(alive[:, None, None], joint / norm[:, None, None], prior)
            total_log += float(np.log(norm[alive]).sum())
            weights[day] = state
        return weights, total_log

    def horizon_probability(self, horizon_days: int) -> np.ndarray:
        """P(at least one hard event in the next ``horizon_days`` | state the day before)."""
        stay_quiet = self.transitions * np.exp(-self.rates[:, self.is_hard].sum(axis=1))[None, :]
        quiet = np.ones(len(self.initial))
        for _ in range(horizon_days):
            quiet = stay_quiet @ quiet
        return 1.0 - quiet


def initial_model(data: DailyCounts, is_hard: np.ndarray, n_states: int) -> LatentStages:
    lead_days = np.clip(len(data.counts) - data.arrival, 0, None).sum()
    mean_rate = data.counts.sum(axis=(0, 1)) / max(1, int(lead_days))
    noise = np.random.default_rng(0).normal(0.0, 0.5, (n_states, len(mean_rate)))
    rates = mean_rate[None, :] * np.exp(noise) * np.geomspace(0.2, 5.0, n_states)[:, None]
    transitions = np.full((n_states, n_states), 0.02 / (n_states - 1))
    np.fill_diagonal(transitions, 0.98)
    activity = np.exp(-0.5 * np.log(ACTIVITY) ** 2)
    initial = np.full(n_states, 1 / n_states)
    return LatentStages(rates + 1e-6, transitions, initial, activity / activity.sum(), is_hard)


def em_step(model: LatentStages, data: DailyCounts) -> tuple[LatentStages, float]:
    """One expectation-maximisation step: forward-backward over every lead at once."""
    likelihood = model.likelihood(data.counts)
    weights, log_likelihood = model.forward(data, likelihood)
    n_leads, n_activity, n_states = likelihood.shape[1:]
    backward = np.ones((n_leads, n_activity, n_states))
    moves = np.zeros((n_states, n_states))
    per_type = np.zeros((n_states, data.counts.shape[2]))
    exposure_scaled, exposure, at_start = np.zeros(n_states), np.zeros(n_states), 0.0
    for day in range(len(likelihood) - 1, -1, -1):
        posterior = weights[day] * backward
        posterior /= posterior.sum(axis=(1, 2), keepdims=True)
        posterior *= data.alive(day)[:, None, None]
        by_state = posterior.sum(axis=1)
        per_type += by_state.T @ data.counts[day]
        exposure += by_state.sum(axis=0)
        exposure_scaled += (posterior * ACTIVITY[None, :, None]).sum(axis=(0, 1))
        at_start = at_start + posterior[data.first(day)].sum(axis=0)
        if day == 0:
            break
        emitted = likelihood[day] * backward
        moving = data.arrival < day
        pair = weights[day - 1][:, :, :, None] * model.transitions * emitted[:, :, None, :]
        pair /= pair.sum(axis=(1, 2, 3), keepdims=True)
        moves += pair[moving].sum(axis=(0, 1))
        step_back = emitted @ model.transitions.T
        step_back /= step_back.sum(axis=(1, 2), keepdims=True)
        backward = np.where(moving[:, None, None], step_back, 1.0)
    rates = np.where(
        model.is_hard[None, :], per_type / exposure[:, None], per_type / exposure_scaled[:, None]
    )
    fitted = LatentStages(
        rates + 1e-7,
        moves / moves.sum(axis=1, keepdims=True),
        at_start.sum(axis=0) / at_start.sum(),
        at_start.sum(axis=1) / at_start.sum(),
        model.is_hard,
    )
    return fitted, log_likelihood


def fit_latent(data: DailyCounts, is_hard: np.ndarray, n_states: int, iterations: int):
    model = initial_model(data, is_hard, n_states)
    for _ in range(iterations):
        model, _ = em_step(model, data)
    order = np.argsort(model.rates[:, is_hard].sum(axis=1))
    return LatentStages(
        model.rates[order],
        model.transitions[order][:, order],
        model.initial[order],
        model.activity_weights,
        is_hard,
    )


def latent_features(model: LatentStages, data: DailyCounts, keys: pd.DataFrame, horizon: int):
    """Per snapshot, from the days strictly before its cutoff: the predicted state weights,
    the expected log activity and the chain's probability of a hard event in the horizon."""
    weights, _ = model.forward(data, model.likelihood(data.counts))
    cutoff_day = day_number(keys["cutoff"])
    lead = data.lead_ids.get_indexer(keys["lead_id"].astype(str))
    predicted = weights[cutoff_day - data.first_day - 1, lead] @ model.transitions
    by_state = predicted.sum(axis=1)
    names = [f"latent_state_{k}" for k in range(by_state.shape[1])]
    features = pd.DataFrame(by_state, columns=names)
    features["latent_log_activity"] = predicted.sum(axis=2) @ np.log(ACTIVITY)
    features["latent_p_hard"] = by_state @ model.horizon_probability(horizon)
    return features.astype(np.float32)


def scenario_rows(name: str, seed: int, args) -> list[dict]:
    demo = simulate_funnel(n_leads=args.leads, seed=seed, scenario=name)
    config = scenario_config(demo)
    taxonomy = load_taxonomy(config.taxonomy)
    training_set = build_training_set(demo.events, demo.leads, config)
    keys = training_set.keys.reset_index(drop=True).astype({"lead_id": str})
    y = training_set.y.reset_index(drop=True)
    split = out_of_time_split(keys, config.training.holdout_cutoffs, config.labels.horizon_days)
    chunks = open_events(demo.events, config, taxonomy)
    events = pd.concat([chunks.chunk(i) for i in range(chunks.n_chunks)])
    types = training_set.spec.event_types
    is_hard = np.isin(types, taxonomy.types_of("hard"))
    cutoff_days = day_number(keys["cutoff"])
    data = daily_counts(events, demo.leads, types, int(cutoff_days.max()))
    started = time.perf_counter()
    held_out_first = int(cutoff_days[split.holdout].min())
    model = fit_latent(data.until(held_out_first), is_hard, args.stages, args.iterations)
    latent = latent_features(model, data, keys, config.labels.horizon_days)
    latent_seconds = time.perf_counter() - started
    X = training_set.X.reset_index(drop=True)
    scores = {
        "model's features": fit_and_score(X, y, keys, split, training_set.spec, taxonomy, config),
        "model's features + latent": fit_and_score(
            pd.concat([X, latent], axis=1), y, keys, split, training_set.spec, taxonomy, config
        ),
        "latent p_hard alone": latent["latent_p_hard"].to_numpy()[split.holdout],
    }
    plain = plain_pipeline(demo.events, keys[["lead_id", "cutoff"]], y.to_numpy(), config)
    held = keys.loc[split.holdout, ["lead_id", "cutoff"]].merge(plain, on=["lead_id", "cutoff"])
    scores["plain pipeline"] = held["p_plain"].to_numpy()
    labels = y[split.holdout].to_numpy()
    return [
        {
            "scenario": name,
            "seed": seed,
            "scorer": scorer,
            "roc_auc": roc_auc_score(labels, p),
            "average_precision": average_precision_score(labels, p),
            "latent_fit_seconds": round(latent_seconds, 1),
        }
        for scorer, p in scores.items()
    ]


def fit_and_score(X, y, keys, split, spec, taxonomy, config) -> np.ndarray:
    """The model's gradient boosting (its candidate settings, calibration and grouping by
    lead), fitted on the development snapshots; its held-out probabilities."""
    monotone = hard_count_features(spec, taxonomy)
    groups = keys.loc[split.development, "lead_id"].to_numpy()
    model = make_calibrated("gradient_boosting", config.training, monotone, n_jobs=2)
    model.fit(X[split.development], y[split.development], groups)
    return model.predict_proba(X[split.holdout])[:, 1]


if __name__ == "__main__":
    main()
