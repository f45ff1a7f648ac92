"""The package version, kept apart so that any stage can record it without importing the API."""

__version__ = "0.1.0"
