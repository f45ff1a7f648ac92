"""A one-row-per-lead CRM export of the simulated funnel, as marketing tools export it.

Engagement is already summed up (visits, time on site, pages per visit, last
activity), form answers carry the placeholders web forms leave behind
("Select", "-- select --", blanks), and, as in real exports, some columns
were written by sales after the outcome: a sales tag, a lead status and the
rep's quality rating. Those planted columns reveal the label; a tool that
trains on them without noticing reports a quality it will never see in
production. The honest columns are the engagement aggregates and the form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from intent_model.events.taxonomy import load_taxonomy
from intent_model.simulate.funnel import DemoData

FORM_PLACEHOLDERS = ("Select", "-- select --", "", "N/A")
SALES_TAGS_WON = ("Closed by Sales", "Will revert after reading the email", "Already a customer")
SALES_TAGS_LOST = ("Ringing", "Interested in other courses", "Not interested", "Lost to competitor")
STATUS_WON = ("Closed - Won", "Converted")
STATUS_LOST = ("Open", "Unqualified", "Closed - Lost", "Nurturing")
QUALITY = ("High in Relevance", "Might be", "Not Sure", "Low in Relevance", "Worst")
PLANTED_COLUMNS = ("sales_tag", "lead_status", "lead_quality")


def crm_export(demo: DemoData, seed: int = 0) -> pd.DataFrame:
    """One row per lead: aggregated activity, form answers, planted post-outcome columns.

    The label column ``converted`` is 1 when the lead made any hard conversion
    in the data.

    Examples
    --------
    >>> from intent_model.simulate.funnel import simulate_funnel
    >>> table = crm_export(simulate_funnel(n_leads=200, seed=1, n_days=120))
    >>> len(table), table["lead_id"].is_unique
    (200, True)
    """
    rng = np.random.default_rng(seed)
    taxonomy = load_taxonomy()
    events = demo.events.assign(lead_id=demo.events["lead_id"].astype(str))
    classified = taxonomy.classify(events["event_type"].astype(str))
    events = events.assign(
        event_type=classified["event_type"].astype(str),
        event_class=classified["event_class"].astype(str),
    )
    leads = demo.leads.set_index("lead_id")
    by_lead = events.groupby("lead_id")
    visits = (
        events[events["event_type"].isin(["page_view", "product_page_view", "pricing_page_view"])]
        .groupby("lead_id")
        .size()
    )
    visits = visits.reindex(leads.index, fill_value=0)
    seconds_per_visit = rng.lognormal(np.log(90), 0.6, len(leads))
    last = by_lead.tail(1).set_index("lead_id")
    converted = (
        events[events["event_class"] == "hard"]
        .groupby("lead_id")
        .size()
        .reindex(leads.index)
        .fillna(0)
        .to_numpy()
        > 0
    ).astype(int)
    table = pd.DataFrame(
        {
            "lead_id": leads.index,
            "created_at": leads["created_at"].to_numpy(),
            "lead_source": leads["lead_source"].to_numpy(),
            "total_visits": visits.to_numpy(),
            "total_time_on_site_seconds": np.round(visits.to_numpy() * seconds_per_visit),
            "pages_per_visit": np.round(
                by_lead.size().reindex(leads.index, fill_value=0).to_numpy()
                / np.maximum(visits.to_numpy(), 1),
                2,
            ),
            "last_activity_at": last["timestamp"].reindex(leads.index).to_numpy(),
            "last_activity_type": last["event_type"].reindex(leads.index).to_numpy(),
            "newsletter_opt_in": np.where(rng.random(len(leads)) < 0.3, "Yes", "No"),
        }
    )
    for field in ("job_title", "company_size", "industry", "country"):
        values = leads[field].to_numpy(dtype=object)
        placeholder = np.array(FORM_PLACEHOLDERS, dtype=object)[
            rng.integers(0, len(FORM_PLACEHOLDERS), len(leads))
        ]
        table[field] = np.where(pd.isna(values), placeholder, values)
    return _with_planted_columns(rng, table, converted)


def _with_planted_columns(
    rng: np.random.Generator, table: pd.DataFrame, converted: np.ndarray
) -> pd.DataFrame:
    """The columns sales fill in after the outcome, and the label."""
    table["sales_tag"] = _planted(rng, converted, SALES_TAGS_WON, SALES_TAGS_LOST, 0.9)
    table["lead_status"] = _planted(rng, converted, STATUS_WON, STATUS_LOST, 0.95)
    quality_index = np.clip(
        np.where(converted == 1, 0, 3) + rng.integers(-1, 2, len(table)), 0, len(QUALITY) - 1
    )
    table["lead_quality"] = np.where(
        rng.random(len(table)) < 0.25, "", np.array(QUALITY)[quality_index]
    )
    table["converted"] = converted
    return table


def _planted(
    rng: np.random.Generator, label: np.ndarray, won: tuple, lost: tuple, accuracy: float
) -> np.ndarray:
    """A column sales filled in after the outcome; it matches the label ``accuracy`` of the time."""
    agrees = rng.random(len(label)) < accuracy
    says_won = np.where(agrees, label == 1, label == 0)
    won_value = np.array(won, dtype=object)[rng.integers(0, len(won), len(label))]
    lost_value = np.array(lost, dtype=object)[rng.integers(0, len(lost), len(label))]
    return np.where(says_won, won_value, lost_value)
