"""The observable ceiling of the demo scenario: how well anything that sees only the exported
events and leads could rank its held-out snapshots.

Run: .venv/bin/python benchmarks/ceiling.py [--leads 5000] [--seed 42]

The oracle of ``benchmarks/quality.py`` knows each lead's hidden buying stage; a
model sees only the events and the leads table. Between the two lies the best any
model can do: the probability of a hard conversion in the 30 days after a cutoff
given everything observable before it. For the ``demo`` scenario (one contact per
lead, no customers) this computes it with a forward filter over the simulator's
own chain, reading its parameters (stage rates, transitions, seasonality, habit
spread, hidden fit), so that it stays in step with the simulator:

* each lead's stage, fit and habit (activity) are unknown; fit and activity are
  integrated over grids (37 log-fit values, 11 activity values);
* each day, the chain moves, then the day's events of each type are Poisson with
  the stage's rates (engagement and soft ones scaled by the lead's activity) times
  the day's seasonality; exact duplicates are dropped and old spellings read back;
* the lead's first form (``created_at``) is a hard conversion exactly when it
  arrived deciding; its arrival stage depends on its fit;
* the fit's prior at a cutoff is its acquisition channel's effect plus the effect
  of each of job title, company size and industry that the lead had given before
  the cutoff (the others' spread, and the hidden part, as a normal).

What it leaves out can only lower its figures, except bots: those are told apart
by the simulator's flag (seven page views a day and nothing else, plain to any
model); the figures without the flag are printed too. Left out: when the profile
fields were given (leads further along give more), and e-mail domains.

To show where the filter's margin over the model comes from, it is run again with
one piece of the funnel's form taken away at a time: the profile fields, the
season (the span's mean rhythm every day), the spread of fit (every lead at the
population's mean fit, so one transition matrix for all) and the spread of habit
(one activity level for all). Last, the model's gradient boosting (as training
fits it) is fitted twice on the development snapshots: on the package's
features, and with the filter's probability as one more feature, which tells
whether the learner could use the filter's statistic if the features held it.
On the same held-out snapshots as ``benchmarks/quality.py`` it prints ROC AUC
and average precision of each.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from latent_stage import fit_and_score
from sklearn.metrics import average_precision_score, roc_auc_score

import intent_model.simulate.funnel as funnel
from intent_model.events.taxonomy import load_taxonomy
from intent_model.events.training_set import build_training_set
from intent_model.io.config import Config
from intent_model.modeling.split import out_of_time_split
from intent_model.simulate.scenarios import scenario_named

LOG_FIT_GRID = np.linspace(-3.8, 3.4, 37)
ACTIVITY_Z = np.linspace(-2.75, 2.75, 11)
PROFILE_EFFECTS = {
    "job_title": funnel.JOB_TITLES,
    "company_size": funnel.COMPANY_SIZES,
    "industry": funnel.INDUSTRIES,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    demo = funnel.simulate_funnel(n_leads=args.leads, seed=args.seed)
    scenario, start = scenario_named("demo"), pd.Timestamp(demo.start)
    snapshots = demo_snapshots(demo)
    held = snapshots.held_out()
    every, held_cutoffs = sorted(snapshots.keys["cutoff"].unique()), sorted(held["cutoff"].unique())
    chain = Chain(scenario, start)
    # No switch changes the rates or the start, so every variant reads the same days.
    observed = observe(demo, chain)
    filtered = forward_filter(observed, chain, [chain.day_of(c) for c in every])
    scores = {
        "observable filter": filter_probability(demo, chain, filtered, every),
        "without the profile fields": filter_probability(
            demo, chain, filtered, held_cutoffs, profile=False
        ),
    }
    del filtered
    for name, variant in (
        ("with a flat season", Chain(scenario, start, seasonal=False)),
        ("with one fit for every lead", Chain(scenario, start, one_fit=True)),
        ("with one habit for every lead", Chain(scenario, start, habit=False)),
    ):
        days = [variant.day_of(c) for c in held_cutoffs]
        filtered = forward_filter(observed, variant, days)
        scores[name] = filter_probability(demo, variant, filtered, held_cutoffs)
    for name, p in scores.items():
        held = held.merge(p.rename(columns={"p": name}), on=["lead_id", "cutoff"], how="left")
    held["model"] = snapshots.model_probability(extra=None)
    held["model + filter"] = snapshots.model_probability(extra=scores["observable filter"])
    report(held, list(scores), args, time.perf_counter() - started)


class Chain:
    """The demo scenario's chain on the grids: transitions and initial stages per log-fit,
    activity values with their prior weights, rates per stage, seasonality per day.

    The switches take one piece of the funnel's form away, to show what it is worth:
    ``seasonal=False`` puts the span's mean in place of each day's rhythm, ``one_fit``
    gives every lead the population's mean log-fit (one transition matrix for all),
    ``habit=False`` one activity level for all.
    """

    def __init__(
        self, scenario, start: pd.Timestamp, seasonal=True, one_fit=False, habit=True
    ) -> None:
        self.scenario, self.start = scenario, start.floor("D")
        days = pd.date_range(self.start, periods=funnel.DEFAULT_DAYS, freq="D")
        self.season = funnel._seasonality(days, scenario.seasonality)
        if not seasonal:
            self.season = np.full_like(self.season, self.season.mean())
        self.log_fit = np.array([mean_log_fit()]) if one_fit else LOG_FIT_GRID
        self.rates = funnel._stage_rates()[: funnel.N_BUYING_STAGES]
        self.is_hard = np.array([spec[1] == "hard" for spec in funnel.EVENT_SPECS])
        self.nonhard_total = self.rates[:, ~self.is_hard].sum(axis=1)
        self.hard_total = self.rates[:, self.is_hard].sum(axis=1)
        fit = np.exp(self.log_fit)
        stages = funnel.N_BUYING_STAGES
        self.transitions = funnel._transition_matrices(fit, scenario)[:, :stages, :stages]
        weights = np.array([0.15, 0.6, 0.2, 0.05])[None, :] * np.column_stack(
            [fit**-0.5, np.ones_like(fit), fit**0.5, fit]
        )
        self.initial = weights / weights.sum(axis=1, keepdims=True)
        spread, z = (scenario.habit_spread, ACTIVITY_Z) if habit else (0.0, np.zeros(1))
        self.activity = np.exp(-(spread**2) / 2 + spread * z)
        density = np.exp(-(z**2) / 2)
        self.activity_prior = density / density.sum()

    def day_of(self, moment) -> int:
        return int((pd.Timestamp(moment) - self.start) // pd.Timedelta(days=1))

    def hard_within_horizon(self, cutoff) -> np.ndarray:
        """P(a hard conversion in the horizon | stage the day before ``cutoff``, log-fit)."""
        first = self.day_of(cutoff)
        stages = funnel.N_BUYING_STAGES
        no_hard = np.tile(np.eye(stages), (len(self.log_fit), 1, 1))  # (fit, start, now)
        for day in range(first, first + funnel.TRUTH_HORIZON_DAYS):
            no_hard = np.einsum("gis,gst->git", no_hard, self.transitions)
            no_hard *= np.exp(-self.hard_total * self.season[day])[None, None, :]
        return 1.0 - no_hard.sum(axis=2)


def observe(demo, chain: Chain) -> dict:
    """Per lead and day what the filter reads: the sum over the day's events of each
    stage's log rate, and the number of events that scale with activity; the arrival
    day and whether the first form was a hard conversion."""
    leads = demo.leads.reset_index(drop=True)
    lead_index = {lead: i for i, lead in enumerate(leads["lead_id"].astype(str))}
    code = {name: i for i, name in enumerate(funnel.EVENT_TYPES)}
    code |= {legacy: code[name] for name, legacy in funnel.LEGACY_SPELLINGS.items()}
    events = pd.DataFrame(
        {
            "lead": demo.events["lead_id"].astype(str).map(lead_index).to_numpy(),
            "timestamp": demo.events["timestamp"].to_numpy(),
            "type": demo.events["event_type"].astype(str).map(code).to_numpy(),
        }
    ).drop_duplicates()
    created = leads["created_at"].to_numpy()
    first_form = events["timestamp"].to_numpy() == created[events["lead"].to_numpy()]
    n_leads = len(leads)
    entry_hard = np.zeros(n_leads, dtype=bool)
    entry_hard[events.loc[first_form, "lead"]] = chain.is_hard[events.loc[first_form, "type"]]
    events = events[~first_form]
    day = ((events["timestamp"] - chain.start) // pd.Timedelta(days=1)).to_numpy()
    lead, kind = events["lead"].to_numpy(), events["type"].to_numpy()
    positive = chain.rates > 0
    log_rate = np.where(positive, np.log(np.where(positive, chain.rates, 1.0)), -1e4)
    log_rates = np.zeros((funnel.DEFAULT_DAYS, n_leads, funnel.N_BUYING_STAGES))
    np.add.at(log_rates, (day, lead), log_rate[:, kind].T)
    scaled = np.zeros((funnel.DEFAULT_DAYS, n_leads))
    np.add.at(scaled, (day, lead), (~chain.is_hard[kind]).astype(float))
    return {
        "lead_ids": leads["lead_id"].astype(str).to_numpy(),
        "arrival": ((leads["created_at"] - chain.start) // pd.Timedelta(days=1)).to_numpy(),
        "entry_hard": entry_hard,
        "log_rates": log_rates,
        "scaled": scaled,
    }


def forward_filter(observed: dict, chain: Chain, snapshot_days: list[int]) -> dict:
    """Each lead's joint weight of (log-fit, activity, stage), with a flat prior on log-fit,
    after the events of the days before each snapshot day (normalised per lead)."""
    arrival, log_rates, scaled = observed["arrival"], observed["log_rates"], observed["scaled"]
    n_leads = len(arrival)
    alpha = np.zeros((n_leads, len(chain.log_fit), len(chain.activity), funnel.N_BUYING_STAGES))
    first_form = np.where(
        observed["entry_hard"][:, None], np.array([0, 0, 0, 1.0]), np.array([1.0, 1, 1, 0])
    )
    log_activity = np.log(chain.activity)[None, :, None]
    snapshots = {}
    for day in range(funnel.DEFAULT_DAYS):
        if day in snapshot_days:
            snapshots[day] = alpha.copy()
        alpha = np.einsum("lgas,gst->lgat", alpha, chain.transitions, optimize=True)
        arriving = np.flatnonzero(arrival == day)
        alpha[arriving] = (
            chain.initial[None, :, None, :]
            * chain.activity_prior[None, None, :, None]
            * first_form[arriving][:, None, None, :]
        )
        live = np.flatnonzero(arrival <= day)
        rate = chain.activity[:, None] * chain.nonhard_total + chain.hard_total  # (a, s)
        log_likelihood = (
            log_rates[day, live][:, None, :]
            + scaled[day, live][:, None, None] * log_activity
            - chain.season[day] * rate[None, :, :]
        )
        log_likelihood -= log_likelihood.max(axis=(1, 2), keepdims=True)
        alpha[live] *= np.exp(log_likelihood)[:, None, :, :]
        total = alpha[live].sum(axis=(1, 2, 3), keepdims=True)
        alpha[live] /= np.where(total > 0, total, 1.0)
    return snapshots


def effect_moments(table: dict) -> tuple[float, float]:
    """Mean and variance of the log-fit effect of one of the simulator's tables of
    ``{value: (share, effect)}``, over the population's shares."""
    shares = np.array([share for share, _ in table.values()])
    shares = shares / shares.sum()
    effects = np.array([effect for _, effect in table.values()])
    expected = (shares * effects).sum()
    return float(expected), float((shares * (effects - expected) ** 2).sum())


def mean_log_fit() -> float:
    """The population's mean log-fit: the channels' and profile fields' expected effects."""
    tables = (funnel.SOURCES, *PROFILE_EFFECTS.values())
    return sum(effect_moments(table)[0] for table in tables)


def filter_probability(demo, chain: Chain, filtered: dict, cutoffs, profile=True) -> pd.DataFrame:
    """P(hard conversion in the horizon) per lead at each cutoff, from the filter's weights
    times the fit's prior (with ``profile=False`` the prior ignores the profile fields)."""
    lead_ids = demo.leads["lead_id"].astype(str).to_numpy()
    scores = []
    for cutoff in cutoffs:
        weights = filtered[chain.day_of(cutoff)] * fit_prior(demo.leads, cutoff, chain, profile)
        weights /= np.maximum(weights.sum(axis=(1, 2, 3), keepdims=True), 1e-300)
        p_hard = np.einsum("lgas,gs->l", weights, chain.hard_within_horizon(cutoff))
        scores.append(pd.DataFrame({"lead_id": lead_ids, "cutoff": cutoff, "p": p_hard}))
    return pd.concat(scores, ignore_index=True)


def fit_prior(leads: pd.DataFrame, cutoff, chain: Chain, profile=True) -> np.ndarray:
    """Each lead's prior weight over the chain's log-fit grid at ``cutoff``, shaped for the
    filter's weights: the channel's effect, the given profile fields' effects, a normal
    for the rest."""
    leads = leads.reset_index(drop=True)
    sources = {name: effect for name, (_, effect) in funnel.SOURCES.items()}
    mean = leads["lead_source"].map(sources).to_numpy(dtype=float)
    variance = np.full(len(leads), chain.scenario.hidden_fit**2)
    for field, table in PROFILE_EFFECTS.items():
        expected, spread = effect_moments(table)
        given = (leads[f"{field}_provided_at"] < cutoff).to_numpy() & leads[field].notna()
        given &= profile
        value = leads[field].map({name: effect for name, (_, effect) in table.items()})
        mean += np.where(given, value.to_numpy(dtype=float), expected)
        variance += np.where(given, 0.0, spread)
    grid = chain.log_fit[None, :]
    weight = np.exp(-((grid - mean[:, None]) ** 2) / (2 * variance[:, None]))
    return (weight / weight.sum(axis=1, keepdims=True))[:, :, None, None]


@dataclass
class DemoSnapshots:
    """The training set `make demo` builds, split out of time as training splits it."""

    demo: object
    training_set: object
    keys: pd.DataFrame
    split: object
    config: Config

    def held_out(self) -> pd.DataFrame:
        """The held-out snapshots with their labels, the oracle and the bot flag (the
        same rows as ``benchmarks/quality.py``)."""
        holdout = self.split.holdout
        held = self.keys.loc[holdout, ["lead_id", "cutoff"]].assign(
            label=self.training_set.y.to_numpy()[holdout]
        )
        truth = self.demo.truth[["lead_id", "cutoff", "p_hard_30d", "is_bot"]]
        return held.merge(truth.astype({"lead_id": str}), on=["lead_id", "cutoff"], how="left")

    def model_probability(self, extra: pd.DataFrame | None) -> np.ndarray:
        """The model's gradient boosting on its features (and ``extra``'s ``p`` as one
        more), fitted on the development snapshots; its held-out probabilities."""
        X = self.training_set.X.reset_index(drop=True)
        if extra is not None:
            extra = self.keys[["lead_id", "cutoff"]].merge(
                extra, how="left", on=["lead_id", "cutoff"]
            )
            if extra["p"].isna().any():
                raise RuntimeError("a snapshot has no filter probability")
            X = X.assign(filter_p_hard=extra["p"].to_numpy())
        y = self.training_set.y.reset_index(drop=True)
        taxonomy = load_taxonomy(self.config.taxonomy)
        spec = self.training_set.spec
        return fit_and_score(X, y, self.keys, self.split, spec, taxonomy, self.config)


def demo_snapshots(demo) -> DemoSnapshots:
    config = Config()
    training_set = build_training_set(demo.events, demo.leads, config)
    keys = training_set.keys.reset_index(drop=True).astype({"lead_id": str})
    split = out_of_time_split(keys, config.training.holdout_cutoffs, config.labels.horizon_days)
    return DemoSnapshots(demo, training_set, keys, split, config)


def report(held: pd.DataFrame, variants: list[str], args, seconds: float) -> None:
    y, bot = held["label"].to_numpy(), held["is_bot"].fillna(False).to_numpy(dtype=bool)
    if held[variants].isna().any().any():
        raise RuntimeError("a held-out snapshot has no filter probability")
    scorers = {
        "oracle (hidden stage)": held["p_hard_30d"].to_numpy(),
        "observable filter, bots not told apart": held["observable filter"].to_numpy(),
    }
    for name in variants:
        label = name if name == "observable filter" else f"observable filter {name}"
        scorers[label] = np.where(bot, 0.0, held[name].to_numpy())
    scorers["model (gradient boosting on the package's features)"] = held["model"].to_numpy()
    scorers["model + the filter's probability as a feature"] = held["model + filter"].to_numpy()
    table = pd.DataFrame(
        [
            {
                "scorer": name,
                "roc_auc": roc_auc_score(y, p),
                "average_precision": average_precision_score(y, p),
            }
            for name, p in scorers.items()
        ]
    )
    print(
        f"Observable ceiling of the demo scenario ({args.leads:,} leads, seed {args.seed}): "
        f"{len(held):,} held-out snapshots, {int(y.sum()):,} positive, {seconds:.0f} s"
    )
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
