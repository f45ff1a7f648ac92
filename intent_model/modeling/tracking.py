"""MLflow tracking and registry: the only module (with the pyfunc wrapper) that imports mlflow.

The default store is local (``sqlite:///mlflow.db``): no server needed, and
``mlflow ui --backend-store-uri sqlite:///mlflow.db`` in the project folder
shows the runs.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType, ColSpec, Schema

from intent_model.errors import ModelError

CHALLENGER, CHAMPION = "challenger", "champion"


@contextlib.contextmanager
def training_run(tracking_uri: str, experiment: str, run_name: str) -> Iterator[str]:
    """Start an MLflow run in ``experiment``; yield its id."""
    mlflow.set_tracking_uri(tracking_uri)
    # The sqlite store logs its schema migrations at INFO on first use.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        yield run.info.run_id


def log_params(params: Mapping[str, Any]) -> None:
    """Log parameters; MLflow caps a value at 6000 characters."""
    mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})


def run_record(
    run_id: str, tracking_uri: str, experiment: str, registered_model: str
) -> dict[str, str]:
    """Where a bundle's run lives, as its metadata records it."""
    return {
        "run_id": run_id,
        "tracking_uri": tracking_uri,
        "experiment": experiment,
        "registered_model": registered_model,
    }


def set_tags(tags: Mapping[str, Any]) -> None:
    """Tag the active run (MLflow caps a tag value at 8000 characters)."""
    mlflow.set_tags({k: str(v)[:8000] for k, v in tags.items()})


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    finite = {k: float(v) for k, v in metrics.items() if v == v}  # drop NaN
    mlflow.log_metrics(finite, step=step)


def log_artifacts(directory: str | Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifacts(str(directory), artifact_path=artifact_path)


def log_and_register_model(
    bundle_dir: Path,
    entry_point: Path,
    input_example: pd.DataFrame,
    output_example: pd.DataFrame,
    registered_model: str,
    pip_requirements: list[str],
    any_type_columns: tuple[str, ...] = (),
) -> tuple[str, str]:
    """Log the pyfunc model from a bundle directory and register a new version.

    ``entry_point`` is the file MLflow runs to build the model (models from
    code): :data:`intent_model.scoring.pyfunc.ENTRY_POINT`.

    ``any_type_columns`` take any type (dates a CRM table may hold as text or
    as zoned datetimes, which MLflow's datetime type refuses).

    Returns
    -------
    (model_uri, version)
    """
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(entry_point),
        artifacts={
            "model": str(bundle_dir / "model.joblib"),
            "metadata": str(bundle_dir / "metadata.json"),
        },
        signature=_signature(input_example, output_example, any_type_columns),
        input_example=input_example,
        registered_model_name=registered_model,
        pip_requirements=pip_requirements,
    )
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(registered_model, CHALLENGER, version)
    return info.model_uri, version


def _signature(
    input_example: pd.DataFrame, output_example: pd.DataFrame, any_type_columns: tuple[str, ...]
):
    with warnings.catch_warnings():
        # The integer `score` output never has missing values; the hint does not apply.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(input_example, output_example)
    # lead_id is optional input: carried through to the output when given.
    inputs = [
        ColSpec(spec.type, spec.name, required=False)
        if spec.name == "lead_id"
        else ColSpec(AnyType(), spec.name)
        if spec.name in any_type_columns
        else spec
        for spec in signature.inputs.inputs
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=signature.outputs)


def alias_version(tracking_uri: str, registered_model: str, alias: str) -> str | None:
    """The version an alias points at, or None."""
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        return str(client.get_model_version_by_alias(registered_model, alias).version)
    except MlflowException:
        return None


def set_alias(tracking_uri: str, registered_model: str, alias: str, version: str) -> None:
    MlflowClient(tracking_uri=tracking_uri).set_registered_model_alias(
        registered_model, alias, version
    )


def load_registered(tracking_uri: str, model_uri: str):
    """Load a pyfunc model from a URI: ``models:/name/3``, ``models:/name@champion``, ``runs:/``."""
    mlflow.set_tracking_uri(tracking_uri)
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except MlflowException as exc:
        raise ModelError(f"cannot load {model_uri} from {tracking_uri}: {exc.message}") from None


def bundle_of(pyfunc_model) -> tuple[Any, dict]:
    """The IntentModel and metadata inside a loaded pyfunc model."""
    python_model = pyfunc_model.unwrap_python_model()
    metadata = dict(python_model.metadata)
    if python_model.version:
        # The logged metadata predates registration; the registry knows the version.
        metadata["mlflow"] = {**metadata.get("mlflow", {}), "version": python_model.version}
    return python_model.model, metadata
