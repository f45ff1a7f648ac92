"""Tests of intent_model.modeling."""
