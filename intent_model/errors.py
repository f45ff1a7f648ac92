"""The exceptions intent_model raises on purpose.

Every error a user can cause (bad input, bad configuration, a model that does not
fit the data) is an :class:`IntentModelError`, so the CLI can print one line and
exit non-zero, and a notebook can catch one base class.
"""

from __future__ import annotations


class IntentModelError(Exception):
    """Base class of every error intent_model raises on purpose."""


class InputError(IntentModelError):
    """An input file or table breaks the data contract (see docs/contracts.md)."""


class ConfigError(IntentModelError):
    """A configuration file or option has an unknown key or a value of the wrong type."""


class ModelError(IntentModelError):
    """A saved model cannot be used: missing, tampered with, or made for other data."""
