"""One typed view of a bundle's metadata decides the kind of model and its version label."""

from __future__ import annotations

import pytest

from intent_model.modeling.metadata import EVENTS_MODE, TABLE_MODE, ModelInfo

SHA = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("metadata", "is_table"),
    [
        ({"mode": TABLE_MODE, "table_spec": {}}, True),
        ({"mode": EVENTS_MODE, "feature_spec": {}}, False),
        # Bundles written before the key existed were all trained on events.
        ({"feature_spec": {}}, False),
    ],
)
def test_the_kind_of_model_is_read_in_one_place(metadata, is_table):
    assert ModelInfo(metadata).is_table_model is is_table


@pytest.mark.parametrize(
    ("metadata", "registered", "expected"),
    [
        ({"model_sha256": SHA}, None, "bundle 0123456789ab"),
        (
            {
                "model_sha256": SHA,
                "mlflow": {"registered_model": "lead-intent-crm", "version": "4"},
            },
            None,
            "lead-intent-crm v4",
        ),
        # The copy logged with the MLflow model predates registration: the registry says.
        (
            {"model_sha256": SHA, "mlflow": {"registered_model": "lead-intent"}},
            "7",
            "lead-intent v7",
        ),
        ({"model_sha256": SHA, "mlflow": {}}, "2", "lead-intent v2"),
    ],
)
def test_the_version_label_is_the_same_wherever_the_model_is_loaded_from(
    metadata, registered, expected
):
    assert ModelInfo(metadata, registered_version=registered).version == expected
