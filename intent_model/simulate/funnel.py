"""Demo data: a simulated B2B funnel with a hidden buying stage, and its exact oracle.

Each lead arrives through a channel of some quality and carries a hidden
buying stage (cold -> aware -> considering -> deciding) that moves day by day
as a Markov chain whose upward pull grows with the lead's fit (channel,
company size, seniority, industry, noise). Every stage emits engagement, soft
and hard events as Poisson processes at its own rates, scaled by weekly and
yearly seasonality; hard conversions come mostly from the deciding stage.
Leads give profile fields point in time, on the forms of their conversions,
and give more of them the further they are along. Noise: bots, duplicated
tracking events, old spellings of event types, an event type the taxonomy
does not know, leads that drift back to cold.

Because the simulation is a Markov chain with Poisson emissions, the
probability that a lead makes a hard conversion in the 30 days after a
cutoff, given its hidden state at the cutoff, can be computed exactly by a
forward recursion over days; :func:`simulate_funnel` returns it as ``truth``
so that trained models can be compared with this oracle. The hidden stage is
never written into events or leads.

Named scenarios (:mod:`intent_model.simulate.scenarios`) change the cycle
speed, the spread of the leads' habits, how much fit the profile hides,
seasonality and bots, and add customers (a hard conversion may make a lead a
customer, who uses the product and rarely converts again) or accounts (several
contacts share one account's stage); the oracle stays exact in each.

Everything is vectorised over leads and events; the only Python loop is over
the days of the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from intent_model.io.files import atomic_path
from intent_model.io.validate import as_utc
from intent_model.simulate.scenarios import DEFAULT_SCENARIO, Scenario, scenario_named

STAGES = ("cold", "aware", "considering", "deciding")
N_BUYING_STAGES = len(STAGES)
# Extra stage codes: a customer (after a purchase, in scenarios that have them), an
# active bot, and a bot that has stopped. The chain moves the buying stages and the
# customer stage; bots do not move.
CUSTOMER, BOT, GONE = 4, 5, 6
N_CHAIN_STAGES = CUSTOMER + 1
STAGE_NAMES = (*STAGES, "customer", "bot", "gone")
TRUTH_HORIZON_DAYS = 30
DEFAULT_START = "2024-06-01"
DEFAULT_DAYS = 548  # about 18 months

# name, class, default channel, daily rate in (cold, aware, considering, deciding, bot).
# "chat_widget_open" is deliberately missing from the default taxonomy, so the
# demo shows how unknown event types are counted and reported.
EVENT_SPECS: tuple[tuple[str, str, str, tuple[float, ...]], ...] = (
    ("page_view", "engagement", "web", (0.03, 0.35, 0.70, 0.90, 7.0)),
    ("product_page_view", "engagement", "web", (0.005, 0.08, 0.20, 0.25, 2.5)),
    ("pricing_page_view", "engagement", "web", (0.0005, 0.010, 0.050, 0.12, 0.3)),
    ("case_study_view", "engagement", "web", (0.0005, 0.010, 0.040, 0.05, 0.0)),
    ("site_search", "engagement", "web", (0.002, 0.020, 0.040, 0.04, 1.0)),
    ("add_to_cart", "engagement", "web", (0.0, 0.001, 0.005, 0.02, 0.0)),
    ("email_open", "engagement", "email", (0.08, 0.20, 0.25, 0.25, 0.0)),
    ("email_click", "engagement", "email", (0.004, 0.040, 0.080, 0.10, 0.0)),
    ("chat_widget_open", "engagement", "web", (0.0, 0.004, 0.010, 0.02, 0.0)),
    ("newsletter_signup", "soft", "web", (0.0002, 0.004, 0.002, 0.001, 0.0)),
    ("whitepaper_download", "soft", "web", (0.0003, 0.010, 0.015, 0.008, 0.0)),
    ("ebook_download", "soft", "web", (0.0002, 0.006, 0.008, 0.004, 0.0)),
    ("webinar_registration", "soft", "email", (0.0001, 0.004, 0.008, 0.005, 0.0)),
    ("social_share", "soft", "social", (0.0005, 0.003, 0.003, 0.002, 0.0)),
    ("blog_subscribe", "soft", "web", (0.0001, 0.002, 0.001, 0.0005, 0.0)),
    ("demo_request", "hard", "web", (0.0, 0.0002, 0.0020, 0.012, 0.0)),
    ("free_trial_signup", "hard", "web", (0.0, 0.0002, 0.0015, 0.008, 0.0)),
    ("contact_form_submit", "hard", "web", (0.0, 0.0002, 0.0010, 0.006, 0.0)),
    ("price_quote_request", "hard", "web", (0.0, 0.0, 0.0005, 0.006, 0.0)),
    ("sales_call", "hard", "sales", (0.0, 0.0, 0.0003, 0.004, 0.0)),
    ("purchase", "hard", "web", (0.0, 0.0, 0.0001, 0.003, 0.0)),
)
EVENT_TYPES = tuple(spec[0] for spec in EVENT_SPECS)
# Daily rates of a customer: uses the product (many visits and e-mails), rarely
# converts again; types not named emit nothing.
CUSTOMER_RATES = {
    "page_view": 1.2,
    "product_page_view": 0.5,
    "pricing_page_view": 0.01,
    "case_study_view": 0.005,
    "site_search": 0.15,
    "email_open": 0.3,
    "email_click": 0.05,
    "chat_widget_open": 0.03,
    "newsletter_signup": 0.0005,
    "whitepaper_download": 0.002,
    "webinar_registration": 0.004,
    "contact_form_submit": 0.0004,
    "sales_call": 0.0003,
}
EVENT_CLASS_OF = {spec[0]: spec[1] for spec in EVENT_SPECS}

# Spellings of older tracking plans, used for a small share of events of these types.
LEGACY_SPELLINGS = {
    "page_view": "Page View",
    "demo_request": "Demo Requested",
    "webinar_registration": "Webinar Registered",
    "contact_form_submit": "Contact Us Form",
    "whitepaper_download": "white-paper-download",
}
LEGACY_SHARE = 0.03
DUPLICATE_SHARE = 0.015
BOT_SHARE = 0.03

# Acquisition channel: share of leads and effect on log-fit.
SOURCES = {
    "web": (0.30, 0.0),
    "paid": (0.25, -0.3),
    "social": (0.15, -0.5),
    "referral": (0.10, 0.5),
    "email": (0.10, -0.2),
    "event": (0.10, 0.3),
}
COMPANY_SIZES = {
    "1-10": (0.25, -0.5),
    "11-50": (0.25, -0.2),
    "51-200": (0.20, 0.1),
    "201-1000": (0.15, 0.3),
    "1001-5000": (0.10, 0.35),
    "5000+": (0.05, 0.3),
}
JOB_TITLES = {
    "Student": (0.08, -0.8),
    "Consultant": (0.10, -0.3),
    "Analyst": (0.18, -0.2),
    "Engineer": (0.20, -0.1),
    "Manager": (0.20, 0.2),
    "Director": (0.12, 0.4),
    "VP": (0.07, 0.5),
    "CEO": (0.05, 0.3),
}
INDUSTRIES = {
    "Software": (0.25, 0.2),
    "Financial Services": (0.15, 0.1),
    "Manufacturing": (0.15, 0.0),
    "Healthcare": (0.10, 0.0),
    "Retail": (0.12, -0.1),
    "Education": (0.08, -0.3),
    "Government": (0.05, -0.2),
    "Media": (0.10, -0.1),
}
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA", "AU", "IN", "BR", "ES")
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
BUDGETS = ("<10k", "10k-50k", "50k-200k", ">200k")
TIMELINES = ("this quarter", "next 6 months", "next year", "just researching")
COMPANY_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Gringotts",
    "Wonka",
    "Oscorp",
    "Aperture",
    "Monarch",
    "Nakatomi",
    "Massive",
    "Dynamic",
    "Blue",
    "North",
    "Bright",
    "Silver",
    "Summit",
    "Pioneer",
)
COMPANY_SUFFIXES = ("Labs", "Systems", "Group", "Industries", "Partners", "Analytics", "Logistics")

# Probability that a conversion form collects a field: (on the lead's first
# form, on a soft conversion, on a hard conversion). Soft-form probabilities
# grow with the stage (SOFT_FORM_STAGE_FACTOR): leads further along tell more.
PROFILE_FIELDS = {
    "email": (1.0, 0.0, 0.0),
    "country": (0.6, 0.3, 0.8),
    "company": (0.35, 0.4, 0.9),
    "job_title": (0.3, 0.4, 0.85),
    "company_size": (0.1, 0.2, 0.7),
    "industry": (0.1, 0.25, 0.6),
    "website": (0.1, 0.1, 0.5),
    "phone": (0.03, 0.06, 0.85),
    "budget": (0.0, 0.02, 0.5),
    "timeline": (0.0, 0.02, 0.5),
    "message": (0.0, 0.0, 0.6),
}
SOFT_FORM_STAGE_FACTOR = np.array([0.6, 1.0, 1.4, 1.8, 1.0, 1.0, 1.0])


@dataclass(frozen=True)
class DemoData:
    """A simulated funnel.

    Attributes
    ----------
    events : pandas.DataFrame
        ``lead_id, timestamp, event_type, channel``, sorted by time, as a
        tracking system would export them (duplicates and old spellings included).
    leads : pandas.DataFrame
        One row per lead: ``lead_id, created_at, lead_source``, the profile
        fields as of the end of the data, and ``<field>_provided_at``.
    truth : pandas.DataFrame
        ``lead_id, cutoff, p_hard_30d, stage, is_bot`` for every lead that
        exists before each month-start cutoff whose 30-day window ends inside
        the data: the exact probability of a hard conversion in
        ``[cutoff, cutoff + 30 days)`` given the hidden state at the cutoff.
    event_stage : numpy.ndarray
        The hidden stage name of each row of ``events``, for tests; never written.
    start, end : pandas.Timestamp
        The simulated span ``[start, end)``.
    """

    events: pd.DataFrame
    leads: pd.DataFrame
    truth: pd.DataFrame
    event_stage: np.ndarray
    start: pd.Timestamp
    end: pd.Timestamp


def simulate_funnel(
    n_leads: int = 5000,
    seed: int = 0,
    start: str | pd.Timestamp = DEFAULT_START,
    n_days: int = DEFAULT_DAYS,
    scenario: str | Scenario = DEFAULT_SCENARIO,
) -> DemoData:
    """Simulate a B2B funnel; deterministic for a seed and scenario.

    Parameters
    ----------
    n_leads : int
        Leads to simulate (about 95 events each on the defaults).
    seed : int
        Seed of the random generator; same seed, same data.
    start : str or Timestamp
        First day of the data (UTC midnight).
    n_days : int
        Length of the data in days (the default is about 18 months).
    scenario : str or Scenario
        Which funnel (see :data:`intent_model.simulate.scenarios.SCENARIOS`);
        ``"demo"`` is the quick start's.

    Returns
    -------
    DemoData

    Examples
    --------
    >>> demo = simulate_funnel(n_leads=200, seed=1, n_days=120)
    >>> sorted(demo.truth.columns)
    ['cutoff', 'is_bot', 'lead_id', 'p_hard_30d', 'stage']
    """
    if n_leads < 1:
        raise ValueError(f"n_leads must be at least 1, got {n_leads}")
    if n_days < TRUTH_HORIZON_DAYS + 2:
        raise ValueError(f"n_days must be at least {TRUTH_HORIZON_DAYS + 2}, got {n_days}")
    if isinstance(scenario, str):
        scenario = scenario_named(scenario)
    rng = np.random.default_rng(seed)
    start = as_utc(start).floor("D")
    days = pd.date_range(start, periods=n_days, freq="D")
    season = _seasonality(days, scenario.seasonality)

    leads = _draw_leads(rng, n_leads, season, scenario)
    transitions = _transition_matrices(leads["unit_fit"], scenario)
    cutoff_days = np.flatnonzero(
        (days.day == 1)
        & (np.arange(n_days) >= 1)
        & (np.arange(n_days) + TRUTH_HORIZON_DAYS <= n_days)
    )
    rates = _stage_rates()
    is_hard_type = np.array([spec[1] == "hard" for spec in EVENT_SPECS])

    lead_days, stage_at_cutoff = _run_chain(
        rng, leads, transitions, rates, is_hard_type, season, cutoff_days, scenario
    )
    event_lead, event_day, event_stage, event_type = _expand_events(
        rng, lead_days, leads, rates, is_hard_type
    )
    timestamp_ns = _timestamps(rng, leads, event_lead, event_day, start)
    entry_type = _entry_types(rng, leads)
    all_lead = np.concatenate([np.arange(n_leads), event_lead])
    all_type = np.concatenate([entry_type, event_type])
    all_stage = np.concatenate([leads["initial_stage"], event_stage])
    is_entry = np.arange(len(all_lead)) < n_leads
    provided_at = _profile_provided_at(rng, leads, all_lead, all_type, all_stage, timestamp_ns)
    channel = _event_channels(rng, leads, all_lead, all_type, is_entry)
    lead_ids = np.char.add("L", np.char.zfill(np.arange(1, n_leads + 1).astype(str), 6))

    events, stage_of_row = _event_table(
        rng, lead_ids, all_lead, timestamp_ns, all_type, channel, all_stage
    )
    lead_table = _lead_table(rng, leads, lead_ids, timestamp_ns[:n_leads], provided_at, scenario)
    truth = _oracle(
        leads,
        transitions,
        rates,
        is_hard_type,
        season,
        cutoff_days,
        stage_at_cutoff,
        days,
        lead_ids,
    )
    return DemoData(
        events=events,
        leads=lead_table,
        truth=truth,
        event_stage=np.asarray(STAGE_NAMES, dtype=object)[stage_of_row],
        start=start,
        end=start + pd.Timedelta(days=n_days),
    )


def _timestamps(
    rng: np.random.Generator,
    leads: dict,
    event_lead: np.ndarray,
    event_day: np.ndarray,
    start: pd.Timestamp,
) -> np.ndarray:
    """UTC nanoseconds of every row: the leads' first forms, then their events."""
    event_seconds = _time_of_day(rng, leads["is_bot"][event_lead])
    entry_seconds = _time_of_day(rng, leads["is_bot"])
    # Events on the arrival day come after the lead's first form, so that the
    # lead exists (created_at) before anything it does.
    same_day = event_day == leads["arrival_day"][event_lead]
    entry_of_event = entry_seconds[event_lead]
    event_seconds = np.where(
        same_day,
        entry_of_event + event_seconds / 86400.0 * (86400.0 - entry_of_event),
        event_seconds,
    )
    all_day = np.concatenate([leads["arrival_day"], event_day])
    all_seconds = np.concatenate([entry_seconds, event_seconds])
    return (
        start.value
        + all_day.astype(np.int64) * 86_400_000_000_000
        + np.round(all_seconds * 1e3).astype(np.int64) * 1_000_000
    )


def write_demo_data(demo: DemoData, out_dir: str | Path) -> dict[str, Path]:
    """Write ``events.parquet``, ``leads.parquet`` and ``truth.parquet`` atomically.

    Returns
    -------
    dict
        ``{"events": path, "leads": path, "truth": path}``.
    """
    out_dir = Path(out_dir)
    paths = {}
    for name, frame in (("events", demo.events), ("leads", demo.leads), ("truth", demo.truth)):
        path = out_dir / f"{name}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # Plain strings on disk, as a tracking export would have them.
        table = table.cast(
            pa.schema(
                [
                    f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                    for f in table.schema
                ]
            )
        )
        with atomic_path(path) as tmp:
            # Microseconds: the unit Spark, DuckDB and most warehouses read natively.
            pa.parquet.write_table(table, tmp, coerce_timestamps="us")
        paths[name] = path
    return paths


def _seasonality(days: pd.DatetimeIndex, strength: float) -> np.ndarray:
    weekly = np.array([1.1, 1.15, 1.1, 1.05, 0.9, 0.4, 0.3])[days.dayofweek]
    yearly = np.ones(13)
    yearly[[1, 7, 8, 12]] = [0.95, 0.9, 0.8, 0.7]
    season = weekly * yearly[days.month]
    return season if strength == 1 else season**strength


def _stage_rates() -> np.ndarray:
    """Daily rate of each event type (columns) in each stage code (rows)."""
    buying = np.array([spec[3][:N_BUYING_STAGES] for spec in EVENT_SPECS]).T
    customer = np.array([CUSTOMER_RATES.get(name, 0.0) for name in EVENT_TYPES])
    bot = np.array([spec[3][N_BUYING_STAGES] for spec in EVENT_SPECS])
    return np.vstack([buying, customer, bot, np.zeros(len(EVENT_SPECS))])  # GONE emits nothing


def _choose(rng: np.random.Generator, table: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw categories by share; return their indices and log-fit effects."""
    shares = np.array([v[0] for v in table.values()])
    effects = np.array([v[1] for v in table.values()])
    index = rng.choice(len(table), size=size, p=shares / shares.sum())
    return index, effects[index]


def _draw_leads(
    rng: np.random.Generator, n_leads: int, season: np.ndarray, scenario: Scenario
) -> dict:
    n_days = len(season)
    source, source_effect = _choose(rng, SOURCES, n_leads)
    size, size_effect = _choose(rng, COMPANY_SIZES, n_leads)
    title, title_effect = _choose(rng, JOB_TITLES, n_leads)
    industry, industry_effect = _choose(rng, INDUSTRIES, n_leads)
    hidden = rng.normal(0.0, scenario.hidden_fit, n_leads)
    fit = np.exp(source_effect + size_effect + title_effect + industry_effect + hidden)
    is_bot = rng.random(n_leads) < scenario.bot_share
    # Arrivals grow over the span and follow the weekly rhythm; none on the last day.
    arrival_weight = (1.0 + 0.5 * np.arange(n_days) / n_days) * season
    arrival_weight[-1] = 0.0
    arrival_day = rng.choice(n_days, size=n_leads, p=arrival_weight / arrival_weight.sum())
    stage_weight = np.array([0.15, 0.6, 0.2, 0.05]) * np.column_stack(
        [fit**-0.5, np.ones(n_leads), fit**0.5, fit]
    )
    cumulative = np.cumsum(stage_weight / stage_weight.sum(axis=1, keepdims=True), axis=1)
    initial_stage = (rng.random(n_leads)[:, None] >= cumulative).sum(axis=1).clip(0, 3)
    initial_stage = np.where(is_bot, BOT, initial_stage)
    bot_end_day = arrival_day + rng.integers(20, 121, n_leads)
    spread = scenario.habit_spread
    activity = np.exp(rng.normal(-(spread**2) / 2, spread, n_leads))
    leads = {
        "source": source,
        "size": size,
        "title": title,
        "industry": industry,
        "fit": fit,
        "is_bot": is_bot,
        "arrival_day": arrival_day,
        "initial_stage": initial_stage.astype(np.int8),
        "bot_end_day": bot_end_day,
        "activity": activity,
        "country": rng.integers(0, len(COUNTRIES), n_leads),
    }
    if scenario.has_accounts:
        effects = (source_effect, size_effect, title_effect, industry_effect, hidden)
        _join_accounts(rng, leads, effects, scenario.contacts_per_account, n_days)
    else:
        leads["account"] = np.arange(n_leads)
    # The chain moves units: an account's contacts share one stage (each lead is its own
    # unit without accounts); the unit's first contact gives its fit, arrival and start.
    founder = _founders(leads["account"])
    for name in ("fit", "is_bot", "arrival_day", "initial_stage", "bot_end_day"):
        leads[f"unit_{name.removesuffix('_day')}"] = leads[name][founder]
    leads["founder"] = founder
    return leads


def _join_accounts(
    rng: np.random.Generator, leads: dict, effects: tuple, contacts: float, n_days: int
) -> None:
    """Group the human leads into accounts of about ``contacts`` contacts each.

    The first contact of an account founds it; later ones share its company
    (size, industry, the hidden part of fit), arrive some weeks after it and
    join at the account's current stage. Bots stay accounts of their own.
    """
    n_leads = len(leads["fit"])
    humans = np.flatnonzero(~leads["is_bot"])
    n_accounts = max(1, int(round(len(humans) / contacts)))
    founders = humans[:n_accounts]
    account = np.arange(n_leads)
    joiners = humans[n_accounts:]
    account[joiners] = founders[rng.integers(0, n_accounts, len(joiners))]
    founder = account[joiners]
    for name in ("size", "industry", "country"):
        leads[name][joiners] = leads[name][founder]
    source_effect, size_effect, title_effect, industry_effect, hidden = effects
    log_fit = (
        source_effect[joiners]
        + size_effect[founder]
        + title_effect[joiners]
        + industry_effect[founder]
        + hidden[founder]
    )
    leads["fit"][joiners] = np.exp(log_fit)
    delay = np.round(rng.exponential(45.0, len(joiners))).astype(np.int64)
    leads["arrival_day"][joiners] = np.minimum(leads["arrival_day"][founder] + delay, n_days - 2)
    _, leads["account"] = np.unique(account, return_inverse=True)


def _founders(account: np.ndarray) -> np.ndarray:
    """The first lead (by index) of every account, in account order."""
    _, first = np.unique(account, return_index=True)
    return first


def _transition_matrices(fit: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Daily stage transition matrices, one per unit: shape (n_units, 5, 5).

    The buying stages move by themselves; a lead becomes a customer only by a
    hard conversion (in the chain), and a customer is a cold lead again after
    ``customer_days`` on average.
    """
    n = len(fit)
    speed = scenario.cycle_speed
    up = np.array([0.006, 0.010, 0.008])[None, :] * fit[:, None] * speed
    damp = speed / np.sqrt(fit)
    matrices = np.zeros((n, N_CHAIN_STAGES, N_CHAIN_STAGES))
    matrices[:, 0, 1] = up[:, 0]
    matrices[:, 1, 2] = up[:, 1]
    matrices[:, 1, 0] = 0.008 * damp
    matrices[:, 2, 3] = up[:, 2]
    matrices[:, 2, 1] = 0.006 * speed
    matrices[:, 2, 0] = 0.003 * damp
    matrices[:, 3, 2] = 0.020 * speed
    matrices[:, 3, 0] = 0.015 * damp
    if scenario.customer_share > 0:
        matrices[:, CUSTOMER, 0] = 1.0 / scenario.customer_days
    leaving = matrices.sum(axis=2, keepdims=True)
    # Keep every lead at least half likely to stay put for a day.
    matrices *= np.minimum(1.0, 0.5 / np.maximum(leaving, 1e-12))
    stay = 1.0 - matrices.sum(axis=2)
    matrices[:, np.arange(N_CHAIN_STAGES), np.arange(N_CHAIN_STAGES)] = stay
    return matrices


def _run_chain(
    rng: np.random.Generator,
    leads: dict,
    transitions: np.ndarray,
    rates: np.ndarray,
    is_hard_type: np.ndarray,
    season: np.ndarray,
    cutoff_days: np.ndarray,
    scenario: Scenario,
) -> tuple[dict, np.ndarray]:
    """Move every unit's stage day by day and draw each lead's number of events per day.

    Returns the lead-days with at least one event (lead, day, stage, count and,
    with customers, the number of hard ones) and the stage of every lead at
    each cutoff (the stage of the day before it; -1 for leads that do not
    exist yet). Sets ``leads["initial_stage"]`` to each lead's stage on arrival.
    """
    n_leads, n_days = len(leads["fit"]), len(season)
    cumulative = np.cumsum(transitions, axis=2)
    # The buying stages never move to the customer stage by themselves.
    cumulative[:, :N_BUYING_STAGES, N_BUYING_STAGES - 1 :] = 1.0
    cumulative[:, :, -1] = 1.0
    unit = leads["account"]
    unit_stage = np.full(len(leads["founder"]), -1, dtype=np.int8)
    arrival, unit_arrival = leads["arrival_day"], leads["unit_arrival"]
    cutoff_index = {int(day): k for k, day in enumerate(cutoff_days)}
    stage_at_cutoff = np.full((len(cutoff_days), n_leads), -1, dtype=np.int8)
    on_arrival = leads["initial_stage"].copy()
    split_hard = scenario.customer_share > 0
    totals = (rates[:, ~is_hard_type].sum(axis=1), rates[:, is_hard_type].sum(axis=1))
    chunks: dict[str, list[np.ndarray]] = {"lead": [], "stage": [], "count": []}
    chunks |= {"hard": []} if split_hard else {}
    days = []
    for day in range(n_days):
        if day in cutoff_index:
            stage_at_cutoff[cutoff_index[day]] = np.where(arrival < day, unit_stage[unit], -1)
        moving = np.flatnonzero((unit_arrival < day) & ~leads["unit_is_bot"])
        if len(moving):
            row_cumulative = cumulative[moving, unit_stage[moving]]
            unit_stage[moving] = (rng.random(len(moving))[:, None] >= row_cumulative).sum(axis=1)
        starting = unit_arrival == day
        unit_stage[starting] = leads["unit_initial_stage"][starting]
        unit_stage[leads["unit_is_bot"] & (day >= leads["unit_bot_end"])] = GONE
        on_arrival[arrival == day] = unit_stage[unit[arrival == day]]
        stage = np.where(arrival <= day, unit_stage[unit], -1)
        active = np.flatnonzero((stage >= 0) & (stage != GONE))
        drawn = _draw_day(rng, leads, active, stage[active], totals, season[day], split_hard)
        if split_hard:
            bought = active[drawn["hard"] > 0]
            unit_stage[unit[bought[rng.random(len(bought)) < scenario.customer_share]]] = CUSTOMER
        drew = drawn["count"] > 0
        for key in chunks:
            chunks[key].append(drawn[key][drew])
        days.append(np.full(int(drew.sum()), day, dtype=np.int32))
    leads["initial_stage"] = on_arrival
    lead_days = {key: np.concatenate(parts) for key, parts in chunks.items()}
    lead_days["day"] = np.concatenate(days)
    return lead_days, stage_at_cutoff


def _draw_day(
    rng: np.random.Generator,
    leads: dict,
    active: np.ndarray,
    stage: np.ndarray,
    totals: tuple[np.ndarray, np.ndarray],
    season: float,
    split_hard: bool,
) -> dict[str, np.ndarray]:
    """One day's event counts of the active leads (``totals``: the other and the hard
    daily rate of each stage); with ``split_hard``, hard ones apart (there a hard
    conversion changes the stage, so the chain must see it)."""
    nonhard_total, hard_total = totals
    nonhard = nonhard_total[stage] * leads["activity"][active]
    hard = hard_total[stage]
    drawn = {"lead": active, "stage": stage}
    if split_hard:
        drawn["hard"] = rng.poisson(hard * season)
        drawn["count"] = drawn["hard"] + rng.poisson(nonhard * season)
    else:
        drawn["count"] = rng.poisson((nonhard + hard) * season)
    return drawn


def _expand_events(
    rng: np.random.Generator,
    lead_days: dict,
    leads: dict,
    rates: np.ndarray,
    is_hard_type: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One row per event: which lead, day, stage and event type (index into EVENT_SPECS).

    A Poisson total split by type in proportion to the rates is the same as
    independent Poisson draws per type, so the oracle's hazards stay exact.
    """
    counts = lead_days["count"]
    lead = np.repeat(lead_days["lead"], counts)
    day = np.repeat(lead_days["day"], counts)
    stage = np.repeat(lead_days["stage"], counts)
    nonhard_total = rates[:, ~is_hard_type].sum(axis=1)
    hard_total = rates[:, is_hard_type].sum(axis=1)
    if "hard" in lead_days:
        # The chain drew the hard ones (the first of each lead-day's rows here).
        first_row = np.repeat(np.cumsum(counts) - counts, counts)
        is_hard = np.arange(len(lead)) - first_row < np.repeat(lead_days["hard"], counts)
    else:
        nonhard_mass = nonhard_total[stage] * leads["activity"][lead]
        is_hard = rng.random(len(lead)) * (nonhard_mass + hard_total[stage]) < hard_total[stage]
    event_type = np.zeros(len(lead), dtype=np.int16)
    type_index = np.arange(len(EVENT_SPECS))
    for stage_code in range(rates.shape[0]):
        for hard in (False, True):
            rows = np.flatnonzero((stage == stage_code) & (is_hard == hard))
            candidates = type_index[is_hard_type == hard]
            weights = rates[stage_code, candidates]
            if len(rows) == 0 or weights.sum() == 0:
                continue
            cumulative = np.cumsum(weights / weights.sum())
            picked = np.searchsorted(cumulative, rng.random(len(rows)), side="right")
            event_type[rows] = candidates[picked.clip(0, len(candidates) - 1)]
    return lead, day, stage, event_type


def _time_of_day(rng: np.random.Generator, is_bot: np.ndarray) -> np.ndarray:
    """Seconds after midnight UTC: office hours for people, any time for bots."""
    human = np.clip(rng.normal(14.5 * 3600, 3.5 * 3600, len(is_bot)), 0.0, 86399.0)
    return np.where(is_bot, rng.uniform(0.0, 86399.0, len(is_bot)), human)


def _entry_types(rng: np.random.Generator, leads: dict) -> np.ndarray:
    """The form that made each lead known: a soft conversion, or a hard one when deciding."""
    type_index = {name: i for i, name in enumerate(EVENT_TYPES)}
    soft = np.array(
        [
            type_index[t]
            for t in (
                "newsletter_signup",
                "whitepaper_download",
                "ebook_download",
                "webinar_registration",
            )
        ]
    )
    hard = np.array(
        [type_index[t] for t in ("demo_request", "contact_form_submit", "free_trial_signup")]
    )
    n = len(leads["fit"])
    soft_pick = soft[rng.choice(len(soft), n, p=[0.35, 0.3, 0.15, 0.2])]
    hard_pick = hard[rng.choice(len(hard), n, p=[0.4, 0.3, 0.3])]
    return np.where(leads["initial_stage"] == 3, hard_pick, soft_pick).astype(np.int16)


def _profile_provided_at(
    rng: np.random.Generator,
    leads: dict,
    lead: np.ndarray,
    event_type: np.ndarray,
    stage: np.ndarray,
    timestamp_ns: np.ndarray,
) -> dict[str, np.ndarray]:
    """When each lead first gave each profile field (int64 ns; INT64_MAX = never)."""
    n_leads = len(leads["fit"])
    type_class = np.array([spec[1] for spec in EVENT_SPECS])[event_type]
    is_entry = np.arange(len(lead)) < n_leads
    is_form = is_entry | (type_class != "engagement")
    form_rows = np.flatnonzero(is_form & ~leads["is_bot"][lead] | is_entry)
    form_class = type_class[form_rows]
    form_entry = is_entry[form_rows]
    soft_factor = SOFT_FORM_STAGE_FACTOR[stage[form_rows]]
    never = np.iinfo(np.int64).max
    provided = {}
    for field, (p_entry, p_soft, p_hard) in PROFILE_FIELDS.items():
        probability = np.where(form_class == "hard", p_hard, np.minimum(0.95, p_soft * soft_factor))
        probability = np.where(
            form_entry, np.maximum(p_entry, probability * (form_class == "hard")), probability
        )
        given = rng.random(len(form_rows)) < probability
        first = np.full(n_leads, never, dtype=np.int64)
        np.minimum.at(first, lead[form_rows[given]], timestamp_ns[form_rows[given]])
        provided[field] = first
    return provided


def _event_channels(
    rng: np.random.Generator,
    leads: dict,
    lead: np.ndarray,
    event_type: np.ndarray,
    is_entry: np.ndarray,
) -> np.ndarray:
    sources = np.array(list(SOURCES))
    default = np.array([spec[2] for spec in EVENT_SPECS])[event_type]
    lead_source = sources[leads["source"][lead]]
    # A quarter of web visits come back through the channel that brought the lead.
    via_source = (default == "web") & (rng.random(len(lead)) < 0.25)
    return np.where(is_entry | via_source, lead_source, default)


def _event_table(
    rng: np.random.Generator,
    lead_ids: np.ndarray,
    lead: np.ndarray,
    timestamp_ns: np.ndarray,
    event_type: np.ndarray,
    channel: np.ndarray,
    stage: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The exported log: duplicates and old spellings added, sorted by time."""
    duplicate = np.flatnonzero(rng.random(len(lead)) < DUPLICATE_SHARE)
    rows = np.concatenate([np.arange(len(lead)), duplicate])
    rows = rows[np.argsort(timestamp_ns[rows], kind="stable")]
    names = np.array(EVENT_TYPES + tuple(LEGACY_SPELLINGS.values()), dtype=object)
    legacy_code = {name: len(EVENT_TYPES) + i for i, name in enumerate(LEGACY_SPELLINGS)}
    written = event_type[rows].astype(np.int32)
    legacy = rng.random(len(rows)) < LEGACY_SHARE
    for name, code in legacy_code.items():
        written[legacy & (written == EVENT_TYPES.index(name))] = code
    events = pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(lead[rows], categories=lead_ids),
            "timestamp": pd.to_datetime(timestamp_ns[rows], unit="ns", utc=True),
            "event_type": pd.Categorical.from_codes(written, categories=names),
            "channel": pd.Categorical(channel[rows]),
        }
    )
    return events, stage[rows]


def _lead_table(
    rng: np.random.Generator,
    leads: dict,
    lead_ids: np.ndarray,
    created_ns: np.ndarray,
    provided_at: dict[str, np.ndarray],
    scenario: Scenario,
) -> pd.DataFrame:
    n = len(lead_ids)
    never = np.iinfo(np.int64).max
    company_word = np.array(COMPANY_WORDS)[rng.integers(0, len(COMPANY_WORDS), n)]
    company_suffix = np.array(COMPANY_SUFFIXES)[rng.integers(0, len(COMPANY_SUFFIXES), n)]
    company = np.char.add(np.char.add(company_word, " "), company_suffix)
    company = np.char.add(company, np.char.add(" ", rng.integers(1, 500, n).astype(str)))
    # Contacts of one account work for its founder's company.
    company = company[leads["founder"][leads["account"]]]
    slug = np.char.replace(np.char.lower(company), " ", "-")
    small = leads["size"] <= 1
    corporate = ~leads["is_bot"] & (rng.random(n) < np.where(small, 0.45, 0.85))
    domain = np.where(
        corporate,
        np.char.add(slug, ".com"),
        np.array(FREE_MAIL)[rng.integers(0, len(FREE_MAIL), n)],
    )
    local = np.char.add("contact", np.arange(1, n + 1).astype(str))
    budget_index = np.clip(leads["size"] // 2 + rng.integers(-1, 2, n), 0, len(BUDGETS) - 1)
    profile = {
        "email": np.char.add(np.char.add(local, "@"), domain),
        "country": np.array(COUNTRIES)[leads["country"]],
        "company": company,
        "job_title": np.array(list(JOB_TITLES))[leads["title"]],
        "company_size": np.array(list(COMPANY_SIZES))[leads["size"]],
        "industry": np.array(list(INDUSTRIES))[leads["industry"]],
        "website": np.char.add("https://www.", np.char.add(slug, ".com")),
        "phone": np.char.add("+1-555-", np.char.zfill(rng.integers(0, 10_000, n).astype(str), 4)),
        "budget": np.array(BUDGETS)[budget_index],
        "timeline": np.array(TIMELINES)[rng.integers(0, len(TIMELINES), n)],
        "message": np.array(
            [
                "Please send pricing for our team.",
                "We want to see the product in action.",
                "Looking to replace our current tool.",
            ]
        )[rng.integers(0, 3, n)],
    }
    table = {
        "lead_id": lead_ids,
        "created_at": pd.to_datetime(created_ns, unit="ns", utc=True),
        "lead_source": np.array(list(SOURCES))[leads["source"]],
    }
    if scenario.has_accounts:
        table["account_id"] = np.char.add("A", np.char.zfill((leads["account"] + 1).astype(str), 6))
    for field, values in profile.items():
        given = provided_at[field] != never
        table[field] = np.where(given, values.astype(object), None)
    for field in profile:
        given = provided_at[field] != never
        table[f"{field}_provided_at"] = pd.to_datetime(
            np.where(given, provided_at[field], np.iinfo(np.int64).min), unit="ns", utc=True
        )
    return pd.DataFrame(table)


def _oracle(
    leads: dict,
    transitions: np.ndarray,
    rates: np.ndarray,
    is_hard_type: np.ndarray,
    season: np.ndarray,
    cutoff_days: np.ndarray,
    stage_at_cutoff: np.ndarray,
    days: pd.DatetimeIndex,
    lead_ids: np.ndarray,
) -> pd.DataFrame:
    """Exact P(hard conversion in the 30 days after each cutoff | hidden state at the cutoff).

    Forward recursion per lead: start from the stage at the cutoff, and for
    each day of the window apply the day's transition (its unit's: an
    account's contacts share one chain), then the probability of no hard
    event that day, ``exp(-hard rate * seasonality)``. The customer stage is
    entered only by a hard event, so the paths without one never reach it
    from a buying stage. Bots have no hard rate, so their probability is 0.
    """
    hard_rate = rates[:N_CHAIN_STAGES, is_hard_type].sum(axis=1)
    frames = []
    for k, cutoff_day in enumerate(cutoff_days):
        stage = stage_at_cutoff[k]
        exists = np.flatnonzero(stage >= 0)
        human = exists[stage[exists] < N_CHAIN_STAGES]
        no_hard_yet = np.zeros((len(human), N_CHAIN_STAGES))
        no_hard_yet[np.arange(len(human)), stage[human]] = 1.0
        lead_transitions = transitions[leads["account"][human]]
        for day in range(cutoff_day, cutoff_day + TRUTH_HORIZON_DAYS):
            no_hard_yet = np.einsum("ls,lst->lt", no_hard_yet, lead_transitions)
            no_hard_yet *= np.exp(-hard_rate * season[day])
        probability = np.zeros(len(exists))
        probability[np.isin(exists, human)] = 1.0 - no_hard_yet.sum(axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "lead_id": lead_ids[exists],
                    "cutoff": days[cutoff_day],
                    "p_hard_30d": probability,
                    "stage": np.asarray(STAGE_NAMES)[stage[exists]],
                    "is_bot": leads["is_bot"][exists],
                }
            )
        )
    columns = ["lead_id", "cutoff", "p_hard_30d", "stage", "is_bot"]
    if not frames:
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(frames, ignore_index=True)
