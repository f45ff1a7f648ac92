"""intent_model: predict hard vs soft purchase intent of sales leads.

The public API, for scripts and notebooks::

    from intent_model import load_events, build_training_set, train, predict, load_model

``train``, ``promote``, ``predict`` and ``load_model`` load MLflow and SHAP on
first use, so a plain import stays fast.
"""

from typing import Any

from intent_model.engines.select import build_features, build_training_set
from intent_model.errors import ConfigError, InputError, IntentModelError, ModelError
from intent_model.events.features import FeatureSpec
from intent_model.events.log import EventLog, event_mix, load_events
from intent_model.events.taxonomy import Taxonomy, load_taxonomy, normalize_event_type
from intent_model.events.training_set import TrainingSet
from intent_model.io.config import (
    Config,
    FeatureConfig,
    GuardConfig,
    LabelConfig,
    TrainingConfig,
    load_config,
)
from intent_model.io.load import load_leads, write_quarantine
from intent_model.io.validate import CheckedTable, parse_timestamps
from intent_model.simulate.crm import crm_export
from intent_model.simulate.funnel import DemoData, simulate_funnel, write_demo_data
from intent_model.version import __version__

_LAZY = {
    "train": "intent_model.training.train",
    "TrainResult": "intent_model.training.train",
    "promote": "intent_model.training.promote",
    "PromotionResult": "intent_model.training.promote",
    "predict": "intent_model.scoring.predict",
    "load_model": "intent_model.scoring.loaded",
    "LoadedModel": "intent_model.scoring.loaded",
    "PredictionResult": "intent_model.scoring.result",
    "monitor": "intent_model.monitoring.monitor",
    "MonitorResult": "intent_model.monitoring.monitor",
}

__all__ = [
    "CheckedTable",
    "Config",
    "ConfigError",
    "DemoData",
    "EventLog",
    "FeatureConfig",
    "FeatureSpec",
    "GuardConfig",
    "InputError",
    "IntentModelError",
    "LabelConfig",
    "LoadedModel",
    "ModelError",
    "MonitorResult",
    "PredictionResult",
    "PromotionResult",
    "Taxonomy",
    "TrainResult",
    "TrainingConfig",
    "TrainingSet",
    "__version__",
    "build_features",
    "build_training_set",
    "crm_export",
    "event_mix",
    "load_config",
    "load_events",
    "load_leads",
    "load_model",
    "load_taxonomy",
    "monitor",
    "normalize_event_type",
    "parse_timestamps",
    "predict",
    "promote",
    "simulate_funnel",
    "train",
    "write_demo_data",
    "write_quarantine",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'intent_model' has no attribute {name!r}")
