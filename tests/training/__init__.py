"""Tests of intent_model.training."""
