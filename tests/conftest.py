"""Shared fixtures: small synthetic data, built once per session and copied per test."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from intent_model.synthetic import DemoData, simulate_funnel


@pytest.fixture(scope="session")
def _demo_once() -> DemoData:
    return simulate_funnel(n_leads=1500, seed=7, n_days=240)


@pytest.fixture
def demo(_demo_once: DemoData) -> DemoData:
    """A small simulated funnel; each test gets its own copy to change freely."""
    return copy.deepcopy(_demo_once)


@pytest.fixture
def events_frame() -> pd.DataFrame:
    """Six hand-written events of two leads, easy to check by eye."""
    return pd.DataFrame(
        {
            "lead_id": ["a", "a", "a", "b", "b", "b"],
            "timestamp": [
                "2024-03-01T09:00:00Z",
                "2024-03-02T09:00:00+02:00",
                "2024-03-05 12:30:00",
                "2024-03-01T10:00:00Z",
                "2024-03-03T10:00:00Z",
                "2024-03-04T10:00:00Z",
            ],
            "event_type": [
                "Page View",
                "whitepaper-download",
                "Demo Requested",
                "email_open",
                "pricing_page_view",
                "mystery_event",
            ],
            "channel": ["web", "web", "web", "email", "web", None],
        }
    )
