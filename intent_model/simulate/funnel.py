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

STAGES = ("cold", "aware", "considering", "deciding")
N_HUMAN_STAGES = len(STAGES)
BOT, GONE = 4, 5  # extra stage codes: an active bot, and a bot that has stopped
STAGE_NAMES = (*STAGES, "bot", "gone")
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
SOFT_FORM_STAGE_FACTOR = np.array([0.6, 1.0, 1.4, 1.8, 1.0, 1.0])


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
) -> DemoData:
    """Simulate a B2B funnel; deterministic for a seed.

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
    rng = np.random.default_rng(seed)
    start = as_utc(start).floor("D")
    days = pd.date_range(start, periods=n_days, freq="D")
    season = _seasonality(days)

    leads = _draw_leads(rng, n_leads, season)
    transitions = _transition_matrices(leads["fit"])
    cutoff_days = np.flatnonzero(
        (days.day == 1)
        & (np.arange(n_days) >= 1)
        & (np.arange(n_days) + TRUTH_HORIZON_DAYS <= n_days)
    )
    rates = np.array([spec[3] for spec in EVENT_SPECS]).T  # (stage, type), bots included
    rates = np.vstack([rates, np.zeros(len(EVENT_SPECS))])  # GONE emits nothing
    is_hard_type = np.array([spec[1] == "hard" for spec in EVENT_SPECS])

    lead_days, stage_at_cutoff = _run_chain(
        rng, leads, transitions, rates, is_hard_type, season, cutoff_days
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
    lead_table = _lead_table(rng, leads, lead_ids, timestamp_ns[:n_leads], provided_at)
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


def _seasonality(days: pd.DatetimeIndex) -> np.ndarray:
    weekly = np.array([1.1, 1.15, 1.1, 1.05, 0.9, 0.4, 0.3])[days.dayofweek]
    yearly = np.ones(13)
    yearly[[1, 7, 8, 12]] = [0.95, 0.9, 0.8, 0.7]
    return weekly * yearly[days.month]


def _choose(rng: np.random.Generator, table: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw categories by share; return their indices and log-fit effects."""
    shares = np.array([v[0] for v in table.values()])
    effects = np.array([v[1] for v in table.values()])
    index = rng.choice(len(table), size=size, p=shares / shares.sum())
    return index, effects[index]


def _draw_leads(rng: np.random.Generator, n_leads: int, season: np.ndarray) -> dict:
    n_days = len(season)
    source, source_effect = _choose(rng, SOURCES, n_leads)
    size, size_effect = _choose(rng, COMPANY_SIZES, n_leads)
    title, title_effect = _choose(rng, JOB_TITLES, n_leads)
    industry, industry_effect = _choose(rng, INDUSTRIES, n_leads)
    log_fit = source_effect + size_effect + title_effect + industry_effect
    fit = np.exp(log_fit + rng.normal(0.0, 0.6, n_leads))
    is_bot = rng.random(n_leads) < BOT_SHARE
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
    activity = np.exp(rng.normal(-0.125, 0.5, n_leads))
    return {
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


def _transition_matrices(fit: np.ndarray) -> np.ndarray:
    """Daily stage transition matrices, one per lead: shape (n_leads, 4, 4)."""
    n = len(fit)
    up = np.array([0.006, 0.010, 0.008])[None, :] * fit[:, None]
    damp = 1.0 / np.sqrt(fit)
    matrices = np.zeros((n, N_HUMAN_STAGES, N_HUMAN_STAGES))
    matrices[:, 0, 1] = up[:, 0]
    matrices[:, 1, 2] = up[:, 1]
    matrices[:, 1, 0] = 0.008 * damp
    matrices[:, 2, 3] = up[:, 2]
    matrices[:, 2, 1] = 0.006
    matrices[:, 2, 0] = 0.003 * damp
    matrices[:, 3, 2] = 0.020
    matrices[:, 3, 0] = 0.015 * damp
    leaving = matrices.sum(axis=2, keepdims=True)
    # Keep every lead at least half likely to stay put for a day.
    matrices *= np.minimum(1.0, 0.5 / np.maximum(leaving, 1e-12))
    stay = 1.0 - matrices.sum(axis=2)
    matrices[:, np.arange(N_HUMAN_STAGES), np.arange(N_HUMAN_STAGES)] = stay
    return matrices


def _run_chain(
    rng: np.random.Generator,
    leads: dict,
    transitions: np.ndarray,
    rates: np.ndarray,
    is_hard_type: np.ndarray,
    season: np.ndarray,
    cutoff_days: np.ndarray,
) -> tuple[dict, np.ndarray]:
    """Move every lead's stage day by day and draw its number of events per day.

    Returns the lead-days with at least one event (lead, day, stage, count) and
    the stage of every lead at each cutoff (the stage of the day before it;
    -1 for leads that do not exist yet).
    """
    n_leads, n_days = len(leads["fit"]), len(season)
    cumulative = np.cumsum(transitions, axis=2)
    cumulative[:, :, -1] = 1.0
    nonhard_total = rates[:, ~is_hard_type].sum(axis=1)
    hard_total = rates[:, is_hard_type].sum(axis=1)
    stage = np.full(n_leads, -1, dtype=np.int8)
    arrival, is_bot = leads["arrival_day"], leads["is_bot"]
    cutoff_index = {int(day): k for k, day in enumerate(cutoff_days)}
    stage_at_cutoff = np.full((len(cutoff_days), n_leads), -1, dtype=np.int8)
    chunks: dict[str, list[np.ndarray]] = {"lead": [], "day": [], "stage": [], "count": []}
    for day in range(n_days):
        if day in cutoff_index:
            stage_at_cutoff[cutoff_index[day]] = stage
        moving = np.flatnonzero((arrival < day) & ~is_bot)
        if len(moving):
            row_cumulative = cumulative[moving, stage[moving]]
            stage[moving] = (rng.random(len(moving))[:, None] >= row_cumulative).sum(axis=1)
        stage[arrival == day] = leads["initial_stage"][arrival == day]
        stage[is_bot & (day >= leads["bot_end_day"])] = GONE
        active = np.flatnonzero((stage >= 0) & (stage != GONE))
        active_stage = stage[active]
        expected = (
            nonhard_total[active_stage] * leads["activity"][active] + hard_total[active_stage]
        ) * season[day]
        counts = rng.poisson(expected)
        drew = counts > 0
        chunks["lead"].append(active[drew])
        chunks["day"].append(np.full(int(drew.sum()), day, dtype=np.int32))
        chunks["stage"].append(active_stage[drew])
        chunks["count"].append(counts[drew])
    lead_days = {key: np.concatenate(parts) for key, parts in chunks.items()}
    return lead_days, stage_at_cutoff


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
) -> pd.DataFrame:
    n = len(lead_ids)
    never = np.iinfo(np.int64).max
    company_word = np.array(COMPANY_WORDS)[rng.integers(0, len(COMPANY_WORDS), n)]
    company_suffix = np.array(COMPANY_SUFFIXES)[rng.integers(0, len(COMPANY_SUFFIXES), n)]
    company = np.char.add(np.char.add(company_word, " "), company_suffix)
    company = np.char.add(company, np.char.add(" ", rng.integers(1, 500, n).astype(str)))
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
    each day of the window apply the day's transition, then the probability
    of no hard event that day, ``exp(-hard rate * seasonality)``. Bots have
    no hard rate, so their probability is 0.
    """
    hard_rate = rates[:N_HUMAN_STAGES, is_hard_type].sum(axis=1)
    frames = []
    for k, cutoff_day in enumerate(cutoff_days):
        stage = stage_at_cutoff[k]
        exists = np.flatnonzero(stage >= 0)
        human = exists[stage[exists] < N_HUMAN_STAGES]
        no_hard_yet = np.zeros((len(human), N_HUMAN_STAGES))
        no_hard_yet[np.arange(len(human)), stage[human]] = 1.0
        lead_transitions = transitions[human]
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
