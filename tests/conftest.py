"""Shared fixtures: small synthetic data, built once per session and copied per test."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from intent_model.io.config import Config, GuardConfig, TrainingConfig
from intent_model.simulate.funnel import DemoData, simulate_funnel


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


def training_config(tracking_uri: str) -> Config:
    """Small-data guards and two held-out cutoffs, tracking into ``tracking_uri``."""
    return Config(
        guards=GuardConfig(min_positives=20, min_negatives=50),
        training=TrainingConfig(holdout_cutoffs=2, tracking_uri=tracking_uri),
    )


@pytest.fixture(scope="session")
def small_demo() -> DemoData:
    return simulate_funnel(n_leads=1200, seed=11, n_days=300)


@pytest.fixture(scope="session")
def trained(small_demo, tmp_path_factory):
    """One real training (MLflow in a temporary store), shared by the tests that read it."""
    from intent_model.training.train import train

    root = tmp_path_factory.mktemp("training")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = train(
        small_demo.events,
        small_demo.leads,
        root / "models" / "first",
        training_config(uri),
        promote=True,
    )
    return result, root, uri


# Fixtures that train a model, start a server or run the Makefile: a test that uses one is
# slow (`make test-fast` leaves it out; `make test` runs everything).
SLOW_FIXTURES = {"trained", "crm_trained", "after_make_demo", "server", "scored_table"}
# Modules whose tests each train, run Spark or a database server, or run whole commands.
SLOW_MODULES = {
    "test_readme.py",
    "test_spark.py",
    "test_training.py",
    "test_database.py",
    "test_robustness.py",
    "test_real_exports.py",
    "test_population.py",
    "test_selection.py",
    "test_table_mode.py",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
