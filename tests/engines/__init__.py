"""Tests of intent_model.engines."""
