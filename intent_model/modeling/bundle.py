"""The saved model bundle: write it atomically, read it back only if it is intact.

A bundle directory holds ``model.joblib``, ``metadata.json`` (with the
SHA-256 of ``model.joblib``), ``model_card.md`` and ``plots/``. It is built
in a temporary sibling directory and renamed into place, so a crash leaves
the old bundle or the new one, never half of one.

A joblib file is a pickle and can run code when loaded: load models only from
places you trust. The checksum catches a damaged or swapped model file, not a
malicious bundle whose metadata was rewritten to match.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import sklearn

from intent_model.errors import ModelError
from intent_model.modeling.model import IntentModel

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CARD_FILE = "model_card.md"
PLOTS_DIR = "plots"


class VersionMismatchWarning(UserWarning):
    """The model was trained with another scikit-learn than the one installed."""


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def staged_bundle(target: str | Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it replaces ``target`` whole.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with staged_bundle(pathlib.Path(tmp) / "m") as stage:
    ...         _ = (stage / "x").write_text("1")
    ...     sorted(p.name for p in (pathlib.Path(tmp) / "m").iterdir())
    ['x']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Runs killed mid-write leave their staging directories behind; clear them.
    for stale in target.parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    # mkdtemp makes a private (0700) directory; a bundle gets ordinary permissions.
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)
    try:
        yield stage
        _replace_directory(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _replace_directory(new: Path, target: Path) -> None:
    if not target.exists():
        os.rename(new, target)
        return
    # Two atomic renames: at every instant either the old bundle or the new one
    # is complete on disk (the old one under a hidden name for a moment).
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.replaced-", dir=target.parent))
    aside.rmdir()
    os.rename(target, aside)
    os.rename(new, target)
    shutil.rmtree(aside, ignore_errors=True)


def write_model(stage: Path, model: IntentModel) -> str:
    """Write ``model.joblib`` into a staging directory; return its SHA-256."""
    path = stage / MODEL_FILE
    joblib.dump(model, path)
    return sha256_of(path)


def write_metadata(directory: Path, metadata: dict[str, Any]) -> Path:
    path = directory / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str))
    return path


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The bundle's ``metadata.json``, or a :class:`ModelError` saying what is wrong."""
    path = Path(directory) / METADATA_FILE
    if not Path(directory).is_dir():
        raise ModelError(f"{directory}: no such model directory")
    if not path.exists():
        raise ModelError(f"{directory}: not a model bundle (no {METADATA_FILE})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from None


def load_bundle(directory: str | Path) -> tuple[IntentModel, dict[str, Any]]:
    """Load a bundle after checking the model file against its recorded SHA-256.

    Raises
    ------
    ModelError
        When files are missing, the checksum does not match, or the file is
        not an intent_model model.

    Warns
    -----
    VersionMismatchWarning
        When the installed scikit-learn differs from the training one.
    """
    directory = Path(directory)
    metadata = read_metadata(directory)
    model_path = directory / MODEL_FILE
    if not model_path.exists():
        raise ModelError(f"{directory}: the bundle has no {MODEL_FILE}")
    expected = metadata.get("model_sha256")
    actual = sha256_of(model_path)
    if expected != actual:
        raise ModelError(
            f"{model_path}: SHA-256 {actual[:12]}... does not match {str(expected)[:12]}... in "
            f"{METADATA_FILE}; the model file was changed or damaged, so it is not loaded"
        )
    trained_with = metadata.get("versions", {}).get("scikit-learn")
    if trained_with and trained_with != sklearn.__version__:
        warnings.warn(
            f"{directory}: trained with scikit-learn {trained_with}, loading with "
            f"{sklearn.__version__}; predictions may differ. Retrain, or install {trained_with}.",
            VersionMismatchWarning,
            stacklevel=2,
        )
    try:
        model = joblib.load(model_path)
    except Exception as exc:  # unpickling fails in many ways: all mean "not loadable here"
        raise ModelError(
            f"{model_path}: cannot load the model ({type(exc).__name__}: {exc}); it was written "
            f"by intent_model {metadata.get('intent_model_version', '?')}: install that version "
            "or retrain"
        ) from None
    if not isinstance(model, IntentModel):
        raise ModelError(f"{model_path}: not an intent_model model ({type(model).__name__})")
    return model, metadata
