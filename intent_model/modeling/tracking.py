"""MLflow tracking and registry: the only module (with the pyfunc wrapper) that imports mlflow.

The default store is local (``sqlite:///mlflow.db``): no server needed, and
``mlflow ui --backend-store-uri sqlite:///mlflow.db`` in the project folder
shows the runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType, ColSpec, DataType, ParamSchema, ParamSpec, Schema

from intent_model.errors import ModelError
from intent_model.modeling.bundle import METADATA_FILE, load_checked_model
from intent_model.modeling.model import IntentModel
from intent_model.modeling.persist import MODEL_FILE

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
    request_columns: tuple[str, ...] = (),
) -> tuple[str, str]:
    """Log the pyfunc model from a bundle directory and register a new version.

    ``entry_point`` is the file MLflow runs to build the model (models from
    code): :data:`intent_model.scoring.pyfunc.ENTRY_POINT`.

    ``any_type_columns`` take any type (dates a CRM table may hold as text or
    as zoned datetimes, which MLflow's datetime type refuses).

    ``request_columns`` are the columns of a second input form (an event
    model's events rows with the lead's profile): they join the signature as
    optional columns of any type, every other input becomes optional too
    (a request carries one form or the other), and the ``as_of`` parameter
    is declared.

    Returns
    -------
    (model_uri, version)
    """
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(entry_point),
        artifacts={
            "model": str(bundle_dir / MODEL_FILE),
            "metadata": str(bundle_dir / METADATA_FILE),
        },
        signature=_signature(input_example, output_example, any_type_columns, request_columns),
        input_example=input_example,
        registered_model_name=registered_model,
        pip_requirements=pip_requirements,
    )
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(registered_model, CHALLENGER, version)
    return info.model_uri, version


def _signature(
    input_example: pd.DataFrame,
    output_example: pd.DataFrame,
    any_type_columns: tuple[str, ...],
    request_columns: tuple[str, ...] = (),
):
    with warnings.catch_warnings():
        # The integer `score` output never has missing values; the hint does not apply.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(input_example, output_example)
    # lead_id is optional input: carried through to the output when given.
    inputs = [
        ColSpec(spec.type, spec.name, required=False)
        if spec.name == "lead_id" or request_columns
        else ColSpec(AnyType(), spec.name)
        if spec.name in any_type_columns
        else spec
        for spec in signature.inputs.inputs
    ]
    known = {spec.name for spec in inputs}
    inputs += [
        ColSpec(AnyType(), name, required=False) for name in request_columns if name not in known
    ]
    params = ParamSchema([ParamSpec("as_of", DataType.string, "")]) if request_columns else None
    return ModelSignature(inputs=Schema(inputs), outputs=signature.outputs, params=params)


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


def registered_bundle(tracking_uri: str, model_uri: str) -> tuple[IntentModel, dict[str, Any]]:
    """The model and metadata of a registered model: ``models:/name/3``, ``models:/name@champion``,
    ``runs:/<id>/model``.

    The model's files are downloaded and loaded like a bundle directory
    (checksum, then the skops file, never a pickle). MLflow's own
    ``mlflow.pyfunc.load_model`` is not used: it runs the code file stored
    with the model, which whoever can write to the registry can change.
    """
    mlflow.set_tracking_uri(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="intent-model-download-") as tmp:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        except MlflowException as exc:
            raise ModelError(
                f"cannot load {model_uri} from {tracking_uri}: {exc.message}"
            ) from None
        files = local / "artifacts"
        metadata_path = files / METADATA_FILE
        if not metadata_path.exists():
            raise ModelError(f"{model_uri}: not an intent_model model (no {METADATA_FILE})")
        metadata = json.loads(metadata_path.read_text())
        model = load_checked_model(files / MODEL_FILE, metadata, model_uri)
    version = registered_version(metadata)
    if version:
        # The logged metadata predates registration; the registry knows the version.
        metadata["mlflow"] = {**metadata.get("mlflow", {}), "version": version}
    return model, metadata


def registered_version(metadata: dict[str, Any]) -> str | None:
    """The registry version of this model's run, when the tracking store can be reached."""
    run_id = metadata.get("mlflow", {}).get("run_id")
    if not run_id:
        return None
    try:
        versions = MlflowClient().search_model_versions(f"run_id = '{run_id}'")
    except Exception:  # a scoring job must not fail for want of a version label
        return None
    return str(versions[0].version) if versions else None
