"""Tests of intent_model.io."""
