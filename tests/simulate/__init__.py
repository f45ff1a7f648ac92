"""Tests of intent_model.simulate."""
