"""Save and load a trained model without pickle: loading a model file never runs code from it.

The file is a skops archive (``skops.io``): a JSON schema of the objects and
their numpy arrays, rebuilt by skops from types it checks. Before anything is
built, every type the file names is checked against :data:`MODEL_TYPES`, the
exact list of types this project's models are made of; a file that names any
other type is refused, naming it. A pickle (the previous format, or a forgery)
is not a skops archive and is refused before it is read as anything.

The trees of the gradient boosting are saved packed (all nodes in one array,
with offsets) rather than as one object per tree: skops then reads a few
arrays instead of hundreds (loading takes about a third of the time), and the
nodes are checked before scikit-learn sees them (child, feature and category-set
indices in range, children after their parent), since scikit-learn indexes into
them without bounds checks. A gradient boosting with categorical features keeps
their categories in :class:`~intent_model.modeling.pipeline.CategoryEncoding`,
arrays only, where scikit-learn keeps a column transformer holding a function.
"""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.pipeline import Pipeline

from intent_model.errors import ModelError
from intent_model.modeling.model import IntentModel
from intent_model.modeling.pipeline import CategoryEncoding, own_category_encoding

MODEL_FILE = "model.skops"
# The pickle of bundles written before intent_model wrote skops files: never loaded.
LEGACY_MODEL_FILE = "model.joblib"
MODEL_FORMAT = "skops"

# Every non-builtin type a model file of this project holds, and nothing else.
MODEL_TYPES = frozenset(
    {
        "intent_model.modeling.model.IntentModel",
        "intent_model.modeling.pipeline.CalibratedIntentClassifier",
        "intent_model.modeling.pipeline.CategoryCodes",
        "intent_model.modeling.pipeline.FeatureSubset",
        "intent_model.modeling.pipeline.MissingColumnsAsZero",
        "intent_model.modeling.pipeline.SignedLog1p",
        "intent_model.modeling.persist.PackedTrees",
        "intent_model.modeling.pipeline.CategoryEncoding",
        "numpy.dtype",
        "numpy.float64",
        "numpy.ndarray",
        "numpy.uint64",
        "numpy.random._generator.Generator",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.impute._base.MissingIndicator",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.isotonic.IsotonicRegression",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._label.LabelEncoder",
    }
)
# Of those, the ones skops does not trust by default: this project's own classes, and the
# dtype a logistic regression's imputer records. Every type is checked against
# MODEL_TYPES before skops reads anything, so trusting these adds no type.
OWN_TYPES = sorted(t for t in MODEL_TYPES if t.startswith("intent_model.") or t == "numpy.dtype")


class PackedTrees:
    """The trees of a gradient boosting model as a few arrays, checked when unpacked.

    Parameters
    ----------
    nodes : numpy.ndarray
        Every tree's nodes, one after the other (scikit-learn's node records).
    offsets : numpy.ndarray
        ``offsets[i]:offsets[i + 1]`` are the nodes of tree ``i`` (int64).
    trees_per_iteration : int
        Trees per boosting iteration (1 for a binary classifier).
    bitsets : numpy.ndarray, optional
        The category sets of categorical splits, every tree's after the other, as
        scikit-learn's (binned, raw) bitset pairs: shape ``(n, 2, 8)``.
    bitset_offsets : numpy.ndarray, optional
        ``bitset_offsets[i]:bitset_offsets[i + 1]`` are tree ``i``'s bitsets.
    """

    def __init__(
        self,
        nodes: np.ndarray,
        offsets: np.ndarray,
        trees_per_iteration: int,
        bitsets: np.ndarray | None = None,
        bitset_offsets: np.ndarray | None = None,
    ) -> None:
        self.nodes = nodes
        self.offsets = offsets
        self.trees_per_iteration = trees_per_iteration
        self.bitsets = bitsets
        self.bitset_offsets = bitset_offsets

    @classmethod
    def pack(cls, predictors: list[list[TreePredictor]]) -> PackedTrees:
        trees = [tree for iteration in predictors for tree in iteration]
        sizes = [len(tree.nodes) for tree in trees]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        nodes = np.concatenate([t.nodes for t in trees]) if trees else _empty_nodes()
        per_iteration = len(predictors[0]) if predictors else 1
        pairs = [
            np.stack([tree.binned_left_cat_bitsets, tree.raw_left_cat_bitsets], axis=1)
            for tree in trees
        ]
        bitsets = np.concatenate(pairs) if pairs else np.zeros((0, 2, 8), dtype=np.uint32)
        bitset_offsets = np.concatenate([[0], np.cumsum([len(p) for p in pairs])]).astype(np.int64)
        return cls(nodes, offsets, per_iteration, bitsets.astype(np.uint32), bitset_offsets)

    def unpack(self, n_features: int) -> list[list[TreePredictor]]:
        """The trees as scikit-learn's predictors, after checking every node."""
        n_trees = len(self.offsets) - 1
        bitsets = self.bitsets
        if bitsets is None:  # a file written before categorical splits were saved
            bitsets = np.zeros((0, 2, 8), dtype=np.uint32)
            bitset_offsets = np.zeros(n_trees + 1, dtype=np.int64)
        else:
            bitset_offsets = np.asarray(self.bitset_offsets)
        _check_nodes(self.nodes, self.offsets, n_features, bitsets, bitset_offsets)
        trees = [
            TreePredictor(
                self.nodes[start:end].copy(),
                np.ascontiguousarray(bitsets[first:last, 0]),
                np.ascontiguousarray(bitsets[first:last, 1]),
            )
            for start, end, first, last in zip(
                self.offsets[:-1],
                self.offsets[1:],
                bitset_offsets[:-1],
                bitset_offsets[1:],
                strict=True,
            )
        ]
        width = self.trees_per_iteration
        return [trees[i : i + width] for i in range(0, len(trees), width)]


def dump_model(model: IntentModel, path: str | Path) -> None:
    """Write ``model`` as a skops archive (the model itself is not changed)."""
    skops.io.dump(_with_packed_trees(model), path)


def load_model_file(path: str | Path) -> IntentModel:
    """Read a model file written by :func:`dump_model`, without running code from it.

    Raises
    ------
    ModelError
        When the file is not a skops archive (a pickle, the previous format,
        or anything else), names a type outside :data:`MODEL_TYPES`, holds
        malformed trees, or is not an intent_model model.
    """
    path = Path(path)
    unknown = sorted(set(types_in(path)) - MODEL_TYPES)
    if unknown:
        raise ModelError(
            f"{path}: refused: the file holds type(s) no intent_model model is made of: "
            f"{', '.join(unknown)}; it was not written by intent_model, or was changed since"
        )
    try:
        model = skops.io.load(path, trusted=OWN_TYPES)
    except Exception as exc:  # a damaged archive fails in many ways: all mean "not loadable"
        raise ModelError(f"{path}: cannot read the model ({type(exc).__name__}: {exc})") from None
    if not isinstance(model, IntentModel):
        raise ModelError(f"{path}: not an intent_model model ({type(model).__name__})")
    for holder in _gradient_boostings(model):
        if isinstance(holder._predictors, PackedTrees):
            holder._predictors = holder._predictors.unpack(holder.n_features_in_)
        if getattr(holder, "_preprocessor", None) is not None and not isinstance(
            holder._preprocessor, CategoryEncoding
        ):
            raise ModelError(f"{path}: the gradient boosting's input encoding is not one it saved")
    return model


def types_in(path: str | Path) -> list[str]:
    """Every non-builtin type a skops archive names (read from its schema, nothing built).

    Raises
    ------
    ModelError
        When the file is not a skops archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise ModelError(
            f"{path}: not a model file written by intent_model (a skops archive): {exc}; "
            "it is not read further"
        ) from None
    return sorted(
        {
            f"{node['__module__']}.{node['__class__']}"
            for node in _schema_nodes(schema)
            if node["__module__"] != "builtins"
        }
    )


def _schema_nodes(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        if isinstance(node.get("__class__"), str) and isinstance(node.get("__module__"), str):
            yield node
        for value in node.values():
            yield from _schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_nodes(value)


def _with_packed_trees(model: IntentModel) -> IntentModel:
    """A copy of ``model`` whose gradient boosting trees are packed (arrays shared)."""
    saved = copy.copy(model)
    saved.classifier = copy.copy(model.classifier)
    estimator = model.classifier.estimator_
    if isinstance(estimator, Pipeline):
        steps = [(name, copy.copy(step)) for name, step in estimator.steps]
        saved.classifier.estimator_ = copy.copy(estimator)
        saved.classifier.estimator_.steps = steps
    else:
        saved.classifier.estimator_ = copy.copy(estimator)
    # The steps are copies: packing them leaves the model in memory as it was.
    for holder in _gradient_boostings(saved):
        holder._predictors = PackedTrees.pack(holder._predictors)
        own_category_encoding(holder)
    return saved


def _gradient_boostings(model: IntentModel) -> list[HistGradientBoostingClassifier]:
    estimator = getattr(model.classifier, "estimator_", None)
    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    return [s for s in steps if isinstance(s, HistGradientBoostingClassifier)]


def _empty_nodes() -> np.ndarray:
    return np.zeros(0, dtype=PREDICTOR_RECORD_DTYPE)


def _check_nodes(
    nodes: np.ndarray,
    offsets: np.ndarray,
    n_features: int,
    bitsets: np.ndarray,
    bitset_offsets: np.ndarray,
) -> None:
    """Refuse trees scikit-learn would read out of bounds, or loop in."""
    bitset_offsets = np.asarray(bitset_offsets)
    if (
        not isinstance(bitsets, np.ndarray)
        or bitsets.dtype != np.uint32
        or bitsets.ndim != 3
        or bitsets.shape[1:] != (2, 8)
        or bitset_offsets.shape != np.shape(offsets)
        or bitset_offsets[0] != 0
        or bitset_offsets[-1] != len(bitsets)
        or (np.diff(bitset_offsets) < 0).any()
    ):
        raise ModelError("the model's trees are malformed: bad category sets")
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE:
        raise ModelError("the model's trees are malformed: unexpected node records")
    offsets = np.asarray(offsets)
    if (
        offsets.ndim != 1
        or len(offsets) < 1
        or offsets[0] != 0
        or offsets[-1] != len(nodes)
        or (np.diff(offsets) <= 0).any()
    ):
        raise ModelError("the model's trees are malformed: bad tree offsets")
    tree_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    position = np.arange(len(nodes)) - offsets[tree_of]
    size = np.diff(offsets)[tree_of]
    split = nodes["is_leaf"] == 0
    problems = {
        "a child outside its tree, or before its parent": split
        & (
            (nodes["left"] <= position)
            | (nodes["right"] <= position)
            | (nodes["left"] >= size)
            | (nodes["right"] >= size)
        ),
        "a split on a feature the model does not have": split
        & ((nodes["feature_idx"] < 0) | (nodes["feature_idx"] >= n_features)),
        "a category set the tree does not have": split
        & (nodes["is_categorical"] != 0)
        & (nodes["bitset_idx"] >= np.diff(bitset_offsets)[tree_of]),
        "flags that are not 0 or 1": (nodes["is_leaf"] > 1)
        | (nodes["missing_go_to_left"] > 1)
        | (nodes["is_categorical"] > 1),
    }
    found = [what for what, rows in problems.items() if rows.any()]
    if found:
        raise ModelError(f"the model's trees are malformed: {'; '.join(found)}")
