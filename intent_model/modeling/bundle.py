"""The saved model bundle: write it atomically, read it back only if it is intact.

A bundle directory holds ``model.skops``, ``metadata.json`` (with the
SHA-256 of ``model.skops``), ``model_card.md`` and ``plots/``. It is built
in a temporary sibling directory and renamed into place, so a crash leaves
the old bundle or the new one, never half of one.

The model file is not a pickle: loading it never runs code from it (see
:mod:`intent_model.modeling.persist`). The checksum catches a damaged file; a
forged one is refused by the types it names. Bundles of the previous format
(``model.joblib``, a pickle) are refused without being read;
``intent-model convert-bundle`` converts one you trust.
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

import sklearn

from intent_model.errors import ModelError
from intent_model.modeling.model import IntentModel
from intent_model.modeling.persist import (
    LEGACY_MODEL_FILE,
    MODEL_FILE,
    MODEL_FORMAT,
    dump_model,
    load_model_file,
)
from intent_model.version import __version__

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
    """Write ``model.skops`` into a staging directory; return its SHA-256."""
    path = stage / MODEL_FILE
    dump_model(model, path)
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
        When files are missing, the bundle is of the previous (pickle) format,
        the checksum does not match, or the file is not an intent_model model.

    Warns
    -----
    VersionMismatchWarning
        When the installed scikit-learn differs from the training one.
    """
    directory = Path(directory)
    metadata = read_metadata(directory)
    return load_checked_model(directory / MODEL_FILE, metadata, str(directory)), metadata


def load_checked_model(model_path: Path, metadata: dict[str, Any], where: str) -> IntentModel:
    """The model file beside ``metadata``, checked and loaded without running code from it.

    Every path that loads a model (a bundle directory, a registry download,
    the MLflow pyfunc) comes through here.
    """
    legacy = model_path.with_name(LEGACY_MODEL_FILE)
    if model_path.name == LEGACY_MODEL_FILE or (not model_path.exists() and legacy.exists()):
        raise ModelError(
            f"{where}: refused: a model of the previous format ({LEGACY_MODEL_FILE}, a pickle, "
            "which runs code when loaded); retrain it, or if you made the bundle yourself "
            "convert it with `intent-model convert-bundle <bundle directory>`"
        )
    if not model_path.exists():
        raise ModelError(f"{where}: the bundle has no {MODEL_FILE}")
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
            f"{where}: trained with scikit-learn {trained_with}, loading with "
            f"{sklearn.__version__}; predictions may differ. Retrain, or install {trained_with}.",
            VersionMismatchWarning,
            stacklevel=3,
        )
    try:
        return load_model_file(model_path)
    except ModelError as exc:
        written_by = metadata.get("intent_model_version")
        if written_by and written_by != __version__:
            raise ModelError(
                f"{exc}; the bundle was written by intent_model {written_by}: install that "
                "version or retrain"
            ) from None
        raise


def convert_legacy_bundle(directory: str | Path) -> Path:
    """Rewrite a bundle of the previous format (``model.joblib``) you trust as ``model.skops``.

    The pickle is loaded, so run this only on a bundle you made yourself: it is
    the one place in intent_model that unpickles a model. The bundle is
    replaced atomically; its checksum is checked first.

    Raises
    ------
    ModelError
        When the directory is not a bundle of the previous format, or its
        model file does not match its checksum.
    """
    import joblib

    directory = Path(directory)
    metadata = read_metadata(directory)
    legacy = directory / LEGACY_MODEL_FILE
    if not legacy.exists():
        raise ModelError(f"{directory}: no {LEGACY_MODEL_FILE} to convert")
    if sha256_of(legacy) != metadata.get("model_sha256"):
        raise ModelError(f"{legacy}: SHA-256 does not match {METADATA_FILE}; not converted")
    model = joblib.load(legacy)
    if not isinstance(model, IntentModel):
        raise ModelError(f"{legacy}: not an intent_model model ({type(model).__name__})")
    with staged_bundle(directory) as stage:
        for item in directory.iterdir():
            if item.name != LEGACY_MODEL_FILE:
                copy = shutil.copytree if item.is_dir() else shutil.copy2
                copy(item, stage / item.name)
        metadata["model_sha256"] = write_model(stage, model)
        metadata["model_format"] = MODEL_FORMAT
        write_metadata(stage, metadata)
    return directory
