"""Tests of intent_model.scoring."""
