"""Tests of intent_model.table."""
