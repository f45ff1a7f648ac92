"""Exact path-dependent tree SHAP for scikit-learn's histogram gradient boosting, for many
rows at once.

The values are those of Lundberg et al.'s TreeSHAP ("path-dependent": a
feature left out follows the training data's split proportions, the node
counts), which the ``shap`` library computes row by row in C; here they are
computed once per *distinct decision pattern* of each tree and handed to every
row that shares it.

Why that is exact and cheap:

- A tree's prediction with only the features in ``S`` known is a sum over its
  leaves of ``value(leaf) * prod_j h_j(S)``, one factor per distinct feature
  ``j`` on the leaf's path: ``a_j`` (1 when the row satisfies all of the
  path's conditions on ``j``, else 0) when ``j`` is in ``S``, ``b_j`` (the
  product of the path's count ratios at those nodes) when not. Shapley values
  are linear, so each leaf adds the Shapley values of one product game, which
  have a closed form in the ``a`` and ``b`` of its path
  (:func:`product_game_shapley`).
- A row's ``a`` on every leaf is decided by which way it goes at each split
  node of the tree. Trees of this project's models have at most 15 split
  nodes, so a row's whole behaviour in a tree is a 15-bit code; a few hundred
  distinct codes cover thousands of rows. The SHAP values of a tree are
  computed for each distinct code (from tables made once per model: every
  leaf's values for every pattern of its ``a``) and gathered for the rows.

Per row and tree this is a few comparisons and a gather, instead of the
``O(leaves x depth^2)`` walk; the result equals ``shap.TreeExplainer`` to
rounding (tested).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from math import factorial

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

# Leaves whose path has more distinct features than this are computed per code, not tabulated.
MAX_TABULATED_FEATURES = 10
# Trees with more split nodes than this find their distinct codes by sorting, not a lookup table.
MAX_LOOKUP_BITS = 20


@dataclass(frozen=True)
class _Leaf:
    bits: np.ndarray  # bit (split node) of each node on the path
    goes_left: np.ndarray  # the path's direction at each of those nodes
    player: np.ndarray  # for each node, its feature's position among the path's features
    slots: np.ndarray  # for each path feature, its column among the tree's features
    b: np.ndarray  # per path feature: product of the count ratios (feature unknown)
    value: float
    table: np.ndarray | None  # (2^d, d) SHAP values for every pattern of a, or None


@dataclass(frozen=True)
class _Tree:
    split_features: np.ndarray  # feature index of each split node (bit order)
    thresholds: np.ndarray
    missing_left: np.ndarray
    # Categorical splits: the category set (raw bitset) going left, per split node (None: numeric).
    left_categories: list[np.ndarray | None]
    features: np.ndarray  # the distinct features the tree splits on (columns of its values)
    leaves: list[_Leaf]
    expected: float


class TreeShap:
    """Exact path-dependent SHAP values of a fitted ``HistGradientBoostingClassifier``.

    Parameters
    ----------
    booster : HistGradientBoostingClassifier
        A binary classifier; values are in its raw (log-odds) output.

    Attributes
    ----------
    expected_value : float
        The raw output when no feature is known: the baseline plus every
        tree's count-weighted mean leaf value. ``expected_value`` plus a row's
        SHAP values is the model's raw output for the row.
    """

    def __init__(self, booster: HistGradientBoostingClassifier) -> None:
        if booster.n_trees_per_iteration_ != 1:
            raise ValueError("only binary classifiers are explained")
        self.n_features = int(booster.n_features_in_)
        self.trees = [
            _tree(predictor.nodes, predictor.raw_left_cat_bitsets)
            for (predictor,) in booster._predictors
        ]
        baseline = float(np.ravel(booster._baseline_prediction)[0])
        self.expected_value = baseline + sum(tree.expected for tree in self.trees)

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """SHAP values, shape ``(n_rows, n_features)``, of the raw output for each row."""
        X = np.asarray(X, dtype=np.float64)
        values = np.zeros((self.n_features, len(X)))  # feature-major: columns are contiguous
        columns = np.asfortranarray(X)
        for tree in self.trees:
            if not tree.leaves or len(tree.split_features) == 0:
                continue
            codes = _decision_codes(columns, tree)
            distinct, row_code = _distinct(codes, len(tree.split_features))
            per_code = np.ascontiguousarray(_tree_values(tree, distinct).T)
            for feature, by_code in zip(tree.features, per_code, strict=True):
                values[feature] += by_code.take(row_code)
        return values.T


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tree_shap(booster: HistGradientBoostingClassifier) -> TreeShap:
    """The explainer of ``booster``, made once per fitted model (its tables are reused)."""
    explainer = _CACHE.get(booster)
    if explainer is None:
        explainer = _CACHE[booster] = TreeShap(booster)
    return explainer


def product_game_shapley(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shapley values of ``g(S) = prod_{j in S} a_j * prod_{j not in S} b_j``, per row of ``a``.

    ``phi_i = (a_i - b_i) * sum_s w(s) * c_s``, where ``c_s`` is the
    coefficient of ``t^s`` in ``prod_{k != i} (b_k + a_k t)`` and
    ``w(s) = s! (d - 1 - s)! / d!`` the Shapley weight of a coalition of ``s``.

    Examples
    --------
    >>> phi = product_game_shapley(np.array([[1.0, 0.0]]), np.array([0.5, 0.5]))
    >>> phi.round(4).tolist(), float(phi.sum())  # g(all) - g(none) = 0 - 0.25
    ([[0.125, -0.375]], -0.25)
    """
    a = np.asarray(a, dtype=np.float64)
    n, d = a.shape
    weights = np.array([factorial(s) * factorial(d - 1 - s) / factorial(d) for s in range(d)])
    phi = np.empty((n, d))
    for i in range(d):
        coefficients = np.zeros((n, d))
        coefficients[:, 0] = 1.0
        for k in range(d):
            if k == i:
                continue
            shifted = np.zeros_like(coefficients)
            shifted[:, 1:] = coefficients[:, :-1] * a[:, k : k + 1]
            coefficients = coefficients * b[k] + shifted
        phi[:, i] = (a[:, i] - b[i]) * (coefficients @ weights)
    return phi


def _tree(nodes: np.ndarray, bitsets: np.ndarray | None = None) -> _Tree:
    """The tables of one tree: its split nodes (bits) and, per leaf, its path's game;
    ``bitsets`` are the category sets of its categorical splits."""
    split_nodes = np.flatnonzero(nodes["is_leaf"] == 0)
    bit_of = {int(node): bit for bit, node in enumerate(split_nodes)}
    features = np.unique(nodes["feature_idx"][split_nodes]).astype(np.int64)
    slot_of = {int(f): s for s, f in enumerate(features)}
    leaves, expected = [], 0.0
    stack = [(0, [])]  # (node, [(node, goes_left)] on the way there)
    while stack:
        node, path = stack.pop()
        record = nodes[node]
        if record["is_leaf"]:
            leaf = _leaf(nodes, path, float(record["value"]), bit_of, slot_of)
            expected += leaf.value * float(np.prod(leaf.b)) if len(leaf.b) else leaf.value
            leaves.append(leaf)
            continue
        stack.append((int(record["left"]), [*path, (node, True)]))
        stack.append((int(record["right"]), [*path, (node, False)]))
    return _Tree(
        split_features=nodes["feature_idx"][split_nodes].astype(np.int64),
        thresholds=nodes["num_threshold"][split_nodes].astype(np.float64),
        missing_left=nodes["missing_go_to_left"][split_nodes].astype(bool),
        left_categories=[
            _categories(bitsets[nodes["bitset_idx"][node]])
            if nodes["is_categorical"][node]
            else None
            for node in split_nodes
        ],
        features=features,
        leaves=leaves,
        expected=expected,
    )


def _leaf(nodes: np.ndarray, path: list, value: float, bit_of: dict, slot_of: dict) -> _Leaf:
    players: list[int] = []
    b: list[float] = []
    player_of_node = []
    for node, goes_left in path:
        feature = int(nodes["feature_idx"][node])
        child = nodes["left"][node] if goes_left else nodes["right"][node]
        ratio = float(nodes["count"][child]) / float(nodes["count"][node])
        if feature not in players:
            players.append(feature)
            b.append(1.0)
        position = players.index(feature)
        b[position] *= ratio
        player_of_node.append(position)
    b_array = np.array(b)
    d = len(players)
    table = None
    if 0 < d <= MAX_TABULATED_FEATURES:
        patterns = (np.arange(2**d)[:, None] >> np.arange(d)) & 1
        table = value * product_game_shapley(patterns.astype(np.float64), b_array)
    return _Leaf(
        bits=np.array([bit_of[node] for node, _ in path], dtype=np.int64),
        goes_left=np.array([left for _, left in path], dtype=bool),
        player=np.array(player_of_node, dtype=np.int64),
        slots=np.array([slot_of[f] for f in players], dtype=np.int64),
        b=b_array,
        value=value,
        table=table,
    )


def _decision_codes(columns: np.ndarray, tree: _Tree) -> np.ndarray:
    """Per row, bit ``k`` set when the row goes left at split node ``k`` (NaN: the node's
    missing-value direction, as scikit-learn predicts)."""
    codes = np.zeros(columns.shape[0], dtype=np.int64)
    for bit, (feature, threshold, missing_left, categories) in enumerate(
        zip(
            tree.split_features,
            tree.thresholds,
            tree.missing_left,
            tree.left_categories,
            strict=True,
        )
    ):
        column = columns[:, feature]
        if categories is None:
            left = column <= threshold
        else:
            # The model's input holds each category's position among those it was trained
            # on, so every value that is not missing is a known category: scikit-learn's
            # predictor sends it left when in the split's set, right otherwise.
            left = np.isin(column, categories)
            if missing_left:
                left |= column < 0
        if missing_left:
            left |= np.isnan(column)
        codes |= left.astype(np.int64) << bit
    return codes


def _categories(bitset: np.ndarray) -> np.ndarray:
    """The categories (0 to 255) a 256-bit set holds."""
    bits = np.unpackbits(np.asarray(bitset, dtype="<u4").view(np.uint8), bitorder="little")
    return np.flatnonzero(bits).astype(np.float64)


def _distinct(codes: np.ndarray, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct codes, and each row's position among them."""
    if n_bits > MAX_LOOKUP_BITS:
        return np.unique(codes, return_inverse=True)
    seen = np.zeros(1 << n_bits, dtype=bool)
    seen[codes] = True
    distinct = np.flatnonzero(seen)
    position = np.cumsum(seen) - 1
    return distinct, position[codes]


def _tree_values(tree: _Tree, codes: np.ndarray) -> np.ndarray:
    """SHAP values of one tree for each distinct code: shape ``(n_codes, n_tree_features)``."""
    values = np.zeros((len(codes), len(tree.features)))
    for leaf in tree.leaves:
        if not len(leaf.bits):
            continue
        # a node is satisfied when the code goes the path's way there; a_j needs all of j's
        satisfied = (((codes[:, None] >> leaf.bits) & 1) == 1) == leaf.goes_left
        a = np.ones((len(codes), len(leaf.slots)), dtype=bool)
        for node, player in enumerate(leaf.player):
            a[:, player] &= satisfied[:, node]
        if leaf.table is not None:
            pattern = a.astype(np.int64) @ (1 << np.arange(len(leaf.slots)))
            values[:, leaf.slots] += leaf.table[pattern]
        else:
            values[:, leaf.slots] += leaf.value * product_game_shapley(a, leaf.b)
    return values
