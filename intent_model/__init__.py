"""intent_model: predict hard vs soft purchase intent of sales leads.

The public API, for scripts and notebooks::

    from intent_model import load_events, build_training_set, train, predict, load_model

``train``, ``promote``, ``predict`` and ``load_model`` load MLflow and SHAP on
first use, so a plain import stays fast.
"""

from typing import Any

from intent_model.config import (
    Config,
    FeatureConfig,
    GuardConfig,
    LabelConfig,
    TrainingConfig,
    load_config,
)
from intent_model.crm_demo import crm_export
from intent_model.dataset import EventLog, event_mix, load_events, load_leads, write_quarantine
from intent_model.errors import ConfigError, InputError, IntentModelError, ModelError
from intent_model.features import FeatureSpec
from intent_model.synthetic import DemoData, simulate_funnel, write_demo_data
from intent_model.taxonomy import Taxonomy, load_taxonomy, normalize_event_type
from intent_model.training_set import TrainingSet, build_features, build_training_set
from intent_model.validate import CheckedTable, parse_timestamps

__version__ = "0.1.0"

_LAZY = {
    "train": "intent_model.modeling.train",
    "TrainResult": "intent_model.modeling.train",
    "promote": "intent_model.modeling.promote",
    "PromotionResult": "intent_model.modeling.promote",
    "predict": "intent_model.scoring",
    "load_model": "intent_model.scoring",
    "LoadedModel": "intent_model.scoring",
    "PredictionResult": "intent_model.scoring",
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
