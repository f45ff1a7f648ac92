"""Named funnels for the simulator: what real funnels vary, each with an exact oracle.

A scenario sets how the hidden buying stage moves (cycle length, bursts), how
unlike each other the leads' habits are, how much of a lead's fit its profile
shows, what a purchase does to later behaviour, how many contacts of one
account buy together, seasonality and noise. The feature code never reads a
scenario: the scenarios exist to show whether the model generalises beyond
the funnel it was developed on (``benchmarks/quality.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """One funnel's parameters; :data:`SCENARIOS` holds the named ones.

    Attributes
    ----------
    name, summary : str
    cycle_speed : float
        Multiplies every daily probability of changing stage: above 1 interest
        comes and goes in short bursts, below 1 it warms and cools over months.
    habit_spread : float
        Standard deviation of the log of a lead's own activity level: how much
        leads' everyday habits differ (intent then shows as a change against
        the lead's own habit rather than as a raw count).
    hidden_fit : float
        Standard deviation of the part of a lead's fit its profile does not show.
    seasonality : float
        Exponent on the weekly and yearly rhythm (0: flat, 1: the demo's).
    bot_share : float
        Share of leads that are bots.
    customer_share : float
        Probability that a hard conversion makes the lead a customer, who then
        uses the product (much engagement) and rarely converts again.
    customer_days : float
        Mean days a customer stays one before it is a cold lead again.
    contacts_per_account : float
        Mean contacts per account; above 1, contacts of one account share the
        account's buying stage and the leads table carries ``account_id``.
    """

    name: str
    summary: str
    cycle_speed: float = 1.0
    habit_spread: float = 0.5
    hidden_fit: float = 0.6
    seasonality: float = 1.0
    bot_share: float = 0.03
    customer_share: float = 0.0
    customer_days: float = 180.0
    contacts_per_account: float = 1.0

    def __post_init__(self) -> None:
        if self.contacts_per_account < 1:
            raise ValueError(f"contacts_per_account must be at least 1 ({self.name})")
        # The oracle stays exact because a lead's own hard event is the only way into the
        # customer stage; a colleague's would make each contact's chance depend on the others'.
        if self.customer_share > 0 and self.contacts_per_account > 1:
            raise ValueError(f"scenario {self.name!r}: customers and accounts do not mix")
        if not 0 <= self.customer_share <= 1 or not 0 <= self.bot_share < 1:
            raise ValueError(f"scenario {self.name!r}: shares must lie in [0, 1)")

    @property
    def has_accounts(self) -> bool:
        return self.contacts_per_account > 1


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "demo",
            "steady interest over weeks, one contact per account, fit mostly shown by the "
            "profile, weekly and yearly rhythm, a few bots: the quick start's data",
        ),
        Scenario(
            "repeat_buyers",
            "short bursts of interest, leads with very different habits, most buyers become "
            "customers who use the product daily and rarely convert again, weak seasonality",
            cycle_speed=2.0,
            habit_spread=1.1,
            seasonality=0.4,
            bot_share=0.02,
            customer_share=0.8,
            customer_days=240.0,
        ),
        Scenario(
            "accounts",
            "long cycles that warm and cool over months, three to four contacts per account "
            "sharing the account's stage, fit mostly hidden, strong seasonality, more bots",
            cycle_speed=0.5,
            habit_spread=0.7,
            hidden_fit=1.0,
            seasonality=1.5,
            bot_share=0.06,
            contacts_per_account=3.5,
        ),
    )
}
DEFAULT_SCENARIO = "demo"


def scenario_named(name: str) -> Scenario:
    """The scenario of that name; the error lists the others."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; use one of {', '.join(SCENARIOS)}") from None
