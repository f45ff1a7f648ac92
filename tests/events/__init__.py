"""Tests of intent_model.events."""
