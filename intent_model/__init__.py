"""intent_model: predict hard vs soft purchase intent of sales leads.

The public API, for scripts and notebooks::

    from intent_model import load_events, load_leads, simulate_funnel
"""

from intent_model.config import Config, load_config
from intent_model.dataset import EventLog, event_mix, load_events, load_leads, write_quarantine
from intent_model.errors import ConfigError, InputError, IntentModelError, ModelError
from intent_model.synthetic import DemoData, simulate_funnel, write_demo_data
from intent_model.taxonomy import Taxonomy, load_taxonomy, normalize_event_type
from intent_model.validate import CheckedTable, parse_timestamps

__version__ = "0.1.0"

__all__ = [
    "CheckedTable",
    "Config",
    "ConfigError",
    "DemoData",
    "EventLog",
    "InputError",
    "IntentModelError",
    "ModelError",
    "Taxonomy",
    "__version__",
    "event_mix",
    "load_config",
    "load_events",
    "load_leads",
    "load_taxonomy",
    "normalize_event_type",
    "parse_timestamps",
    "simulate_funnel",
    "write_demo_data",
    "write_quarantine",
]
