"""The estimators: gradient boosting (the model), logistic regression and the points rule
(baselines), each wrapped in the same calibration so that every report compares like with like.

Calibration is Platt scaling (``sigmoid``) by default: it is monotone, has two
parameters and stays stable with the few hundred positives per fold typical
of B2B funnels, while isotonic regression overfits below roughly a thousand
positives (choose it in ``[training] calibration`` when you have them).
Class imbalance: every model is selected by out-of-fold average precision
(which rewards ranking the rare positives well), its scores are calibrated,
and the hard/soft threshold is chosen on validation data rather than left at
0.5. Balanced class weights for the gradient boosting were measured worse on
the demo data (out-of-time AUC 0.843 against 0.848) and are off by default
(``[training] class_weight = "balanced"`` turns them on).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from functools import partial

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from intent_model.io.config import TrainingConfig
from intent_model.modeling.baselines import PointsRule
from intent_model.modeling.evaluate import intervals_by_lead
from intent_model.modeling.split import grouped_folds
from intent_model.runtime import (
    in_a_thread,
    run_here_and_in_workers,
    thread_budget,
    worker_processes,
)

MODEL_KINDS = ("model", "logistic_regression", "points_rule")
MAIN_MODEL = MODEL_KINDS[0]
_EPSILON = 1e-6


# Candidates the gradient boosting is selected from (on lead-grouped folds of
# the development cutoffs): a shallow fast one, a strongly regularised one, and
# one with feature subsampling. The folds choose each one's number of trees, so
# none needs a small learning rate to be safe from overfitting: the regularised
# one learned at 0.03 for up to 300 trees, at twice the cost for the same
# choices (docs/benchmarks.md).
GRADIENT_BOOSTING_CANDIDATES = (
    {"learning_rate": 0.05, "max_iter": 150, "max_leaf_nodes": 15, "min_samples_leaf": 100},
    {
        "learning_rate": 0.06,
        "max_iter": 150,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 200,
        "l2_regularization": 5.0,
    },
    {
        "learning_rate": 0.05,
        "max_iter": 200,
        "max_depth": 4,
        "min_samples_leaf": 100,
        "max_features": 0.5,
    },
)


# The parameters a model card shows for a candidate (those the candidates differ in).
_DESCRIBED_PARAMETERS = (
    "learning_rate",
    "max_iter",
    "max_leaf_nodes",
    "max_depth",
    "min_samples_leaf",
    "l2_regularization",
    "max_features",
    "C",
)


class FeatureSubset(TransformerMixin, BaseEstimator):
    """The columns a candidate reads (a rule reads one family; a plain pipeline the
    per-type counts), so that candidates on different features compete on one table."""

    def __init__(self, columns: tuple[str, ...] = ()) -> None:
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None) -> FeatureSubset:
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[list(self.columns)]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.columns, dtype=object)


class MissingColumnsAsZero(TransformerMixin, BaseEstimator):
    """Columns with no value at all in training (a class of events the log never has) set
    to 0: scikit-learn's gradient boosting cannot bin a column of missing values alone, and
    a constant column is never split on, so the model is the same."""

    def fit(self, X: pd.DataFrame, y=None) -> MissingColumnsAsZero:
        # Column by column: a float32 table's columns are views, the table is not copied.
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        empty = [
            j for j in range(frame.shape[1]) if np.isnan(frame.iloc[:, j].to_numpy(float)).all()
        ]
        self.empty_ = np.asarray(empty if len(frame) else [], dtype=np.int64)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X):
        # Most tables have no such column: then X goes on as it is, names and all (the
        # monotone constraint names its features), without a copy.
        if not len(self.empty_):
            return X
        if isinstance(X, pd.DataFrame):
            filled = X.copy()
            filled.iloc[:, self.empty_] = 0.0
            return filled
        values = np.array(X, dtype=np.float32)
        values[:, self.empty_] = 0.0
        return values

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Each categorical column's indicators (``has_<col>``, ``<col>=<value>``...,
    ``<col>=(other)``) as one category code, for the gradient boosting's own categorical
    splits; every other column goes on as it is.

    A tree then splits a column's categories into two sets in one node, where the
    indicators took one node per category, and the histograms it builds at every
    node are over one feature per column instead of one per category, which is most
    of a fit's time on a wide table (docs/crm-table.md).

    Parameters
    ----------
    groups : tuple of (column, features)
        Per categorical column: its name (the code's name) and its features, the
        ``has_`` indicator first. A group whose features are not all in X at fit is
        left as it is.

    The code is the position of the category's indicator (0, 1, ...), and missing
    when ``has_<col>`` is 0 (not given).
    """

    def __init__(self, groups: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> None:
        self.groups = groups

    def fit(self, X: pd.DataFrame, y=None) -> CategoryCodes:
        present = set(X.columns)
        self.groups_ = tuple(
            (name, tuple(features))
            for name, features in self.groups
            if set(features) <= present and name not in present
        )
        grouped = {f for _, features in self.groups_ for f in features}
        self.passed_ = tuple(c for c in X.columns if c not in grouped)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "groups_")
        coded = {name: X[name] for name in self.passed_}
        for name, (given, *indicators) in self.groups_:
            coded[name] = pd.Series(self.codes(X, given, indicators), index=X.index)
        return pd.DataFrame(coded, index=X.index)

    @staticmethod
    def codes(X: pd.DataFrame, given: str, indicators: list[str]) -> np.ndarray:
        values = X[indicators].to_numpy(np.float32)
        code = values.argmax(axis=1).astype(np.float32)
        code[(X[given].to_numpy() != 1) | (values.max(axis=1) != 1)] = np.nan
        return code

    @property
    def categorical(self) -> tuple[str, ...]:
        """The code columns' names (the gradient boosting's categorical features)."""
        return tuple(name for name, _ in self.groups_)

    def spread(self, values: np.ndarray, X: pd.DataFrame) -> np.ndarray:
        """Per-row values of the output columns (a code's contribution, say) given back to
        ``X``'s columns: a code's to the indicator of the row's category (``has_<col>``
        when not given), every other column's to itself."""
        check_is_fitted(self, "groups_")
        position = {name: j for j, name in enumerate(self.feature_names_in_)}
        spread = np.zeros((len(X), len(self.feature_names_in_)))
        for k, name in enumerate(self.passed_):
            spread[:, position[name]] = values[:, k]
        rows = np.arange(len(X))
        for k, (_, (given, *indicators)) in enumerate(self.groups_, start=len(self.passed_)):
            code = self.codes(X, given, indicators)
            target = np.array([position[given], *(position[f] for f in indicators)])
            slot = np.where(np.isnan(code), 0, code + 1).astype(np.int64)
            spread[rows, target[slot]] += values[:, k]
        return spread

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([*self.passed_, *self.categorical], dtype=object)


class CategoryEncoding:
    """What a gradient boosting with categorical features does to its input before its
    trees, as scikit-learn's column transformer does it: the categorical columns first,
    each value replaced by its position among the categories seen in training (unseen
    and missing values missing), then the other columns. Arrays only: a model file
    holds no function.

    Parameters
    ----------
    categorical : numpy.ndarray
        Positions of the categorical columns in the input.
    categories : list of numpy.ndarray
        Each categorical column's categories seen in training, sorted.
    n_features : int
        The input's number of columns.
    """

    def __init__(self, categorical: np.ndarray, categories: list, n_features: int) -> None:
        self.categorical = categorical
        self.categories = categories
        self.n_features = n_features

    @classmethod
    def of(cls, preprocessor) -> CategoryEncoding:
        """The encoding a fitted scikit-learn preprocessor (its column transformer) makes."""
        mask = np.zeros(preprocessor.n_features_in_, dtype=bool)
        mask[preprocessor.transformers_[0][2]] = True
        encoder = preprocessor.named_transformers_["encoder"]
        categories = [
            np.asarray(c, dtype=np.float64)[~np.isnan(np.asarray(c, dtype=np.float64))]
            for c in encoder.categories_
        ]
        return cls(np.flatnonzero(mask).astype(np.int64), categories, int(len(mask)))

    def transform(self, X) -> np.ndarray:
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            raise ValueError(
                f"X has {values.shape[-1]} features, the model takes {self.n_features}"
            )
        encoded = []
        for column, categories in zip(self.categorical, self.categories, strict=True):
            found = values[:, column]
            at = np.clip(np.searchsorted(categories, found), 0, max(len(categories) - 1, 0))
            known = (categories[at] == found) if len(categories) else np.zeros(len(found), bool)
            encoded.append(np.where(known, at, np.nan))
        others = np.delete(values, self.categorical, axis=1)
        return np.column_stack([*encoded, others]) if encoded else others


class SignedLog1p(TransformerMixin, BaseEstimator):
    """``sign(x) * log(1 + |x|)``: counts and durations are heavy-tailed, so a linear model
    compares them on a log scale. A class rather than a function, so that a saved model
    names no function to import."""

    def fit(self, X, y=None) -> SignedLog1p:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        values = np.asarray(X)
        # One new array, in float64, where the formula made four: at 800,000 rows each
        # was a few hundred MB.
        logged = np.abs(values, dtype=np.float64)
        np.log1p(logged, out=logged)
        return np.copysign(logged, values, out=logged)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)


def linear_pipeline(columns: tuple[str, ...] | None = None, C: float = 0.1) -> Pipeline:
    """Logistic regression on log-scaled, standardised features (missing values imputed,
    with an indicator), on ``columns`` only when given."""
    steps = [("columns", FeatureSubset(columns))] if columns is not None else []
    return Pipeline(
        [
            *steps,
            # An empty column (a class the log never has) stays, at 0, without a warning.
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("log", SignedLog1p()),
            # In place: the log's output is a fresh array no one else holds.
            ("scale", StandardScaler(copy=False)),
            (
                "model",
                LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=0),
            ),
        ]
    )


def simple_candidates(
    subsets: dict[str, tuple[str, ...]], training: TrainingConfig
) -> list[tuple[str, BaseEstimator]]:
    """The simple answers, simplest first: a logistic regression on each one-family rule's
    features (``rule: ...``), then the plain per-type counts (``plain: ...``) with a
    logistic regression and with a default gradient boosting."""
    found = []
    for name, columns in subsets.items():
        if not columns:
            continue
        if name.startswith("rule"):
            found.append((name, linear_pipeline(columns, C=1.0)))
    for name, columns in subsets.items():
        if columns and name.startswith("plain"):
            found.append((f"{name} + logistic regression", linear_pipeline(columns)))
            default = HistGradientBoostingClassifier(
                early_stopping=False, random_state=training.random_state
            )
            steps = [("columns", FeatureSubset(columns)), ("empty", MissingColumnsAsZero())]
            found.append(
                (f"{name} + default gradient boosting", Pipeline([*steps, ("model", default)]))
            )
    return found


def make_candidates(
    kind: str,
    training: TrainingConfig,
    monotone_increasing: tuple[str, ...] = (),
    points_rule: BaseEstimator | None = None,
    categories: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> list[BaseEstimator]:
    """The uncalibrated candidate estimators of one kind (see ``MODEL_KINDS``).

    ``monotone_increasing`` names features the gradient boosting may be
    constrained to only reward (one more demo request never lowers a score):
    the first candidate then also comes with the constraint, so that the
    selection keeps it only where the development data supports it (a
    customer who just bought rarely buys again).
    ``points_rule`` replaces the event points rule (a CRM table has its own).
    ``categories`` (per categorical column, its name and its indicator features, as
    :meth:`~intent_model.table.encoding.TableSpec.category_groups` gives them) enter
    the gradient boosting as one categorical feature each (:class:`CategoryCodes`).
    """
    if kind == "points_rule" and points_rule is not None:
        return [points_rule]
    if kind == MAIN_MODEL:
        variants = [(parameters, None) for parameters in GRADIENT_BOOSTING_CANDIDATES]
        if monotone_increasing:
            # One constrained variant (of the first candidate) keeps the selection's cost
            # at one more fit per fold rather than double.
            constraint = dict.fromkeys(monotone_increasing, 1)
            variants.append((GRADIENT_BOOSTING_CANDIDATES[0], constraint))
        coding = [("codes", CategoryCodes(categories))] if categories else []
        return [
            Pipeline(
                [
                    ("empty", MissingColumnsAsZero()),
                    *coding,
                    (
                        "model",
                        HistGradientBoostingClassifier(
                            **parameters,
                            class_weight=None if training.class_weight == "none" else "balanced",
                            monotonic_cst=constraint,
                            categorical_features=[name for name, _ in categories] or "from_dtype",
                            early_stopping=False,
                            random_state=training.random_state,
                        ),
                    ),
                ]
            )
            for parameters, constraint in variants
        ]
    return [make_base_estimator(kind, training)]


def candidate_names(kind: str, candidates: list[BaseEstimator]) -> list[str]:
    """Names for the card: the gradient boosting's variants by their parameters."""
    names = []
    for i, candidate in enumerate(candidates):
        final = _final_step(candidate)
        if isinstance(final, HistGradientBoostingClassifier) and kind == MAIN_MODEL:
            constrained = " (monotone)" if final.get_params().get("monotonic_cst") else ""
            names.append(f"gradient boosting {i + 1}{constrained}")
        else:
            names.append(kind.replace("_", " "))
    return names


def make_base_estimator(kind: str, training: TrainingConfig) -> BaseEstimator:
    """The (first) uncalibrated estimator of one kind (see ``MODEL_KINDS``)."""
    if kind == MAIN_MODEL:
        return make_candidates(kind, training)[0]
    if kind == "logistic_regression":
        return linear_pipeline()
    if kind == "points_rule":
        return PointsRule()
    raise ValueError(f"unknown model kind {kind!r}; use one of {MODEL_KINDS}")


class CalibratedIntentClassifier(ClassifierMixin, BaseEstimator):
    """The best of some candidate estimators, plus a calibrator fit on its out-of-fold scores.

    ``fit`` scores each lead-grouped fold with every candidate trained on the
    other folds (a boosting candidate after 25, 50, ... trees up to its
    ``max_iter``: the folds choose its number of trees), keeps the candidate
    with the best out-of-fold average precision, fits the calibrator on its
    out-of-fold scores, then refits it on all rows. The calibrated out-of-fold
    probabilities stay in ``oof_proba_``, their labels in ``oof_labels_``, for
    choosing the threshold and tiers.

    Parameters
    ----------
    candidates : list of estimators
        Anything with ``predict_proba``; one candidate means no selection.
    method : {"sigmoid", "isotonic"}
    n_folds : int
    selection_rows : int
        At most this many rows (whole groups, drawn at random) are folded for the
        choice and the calibrator; the chosen candidate is then fit on every row.
        0 folds every row. On a large training set the folds are most of the
        time, and the choice among a few candidates does not need every row.
    random_state : int
        Seeds the draw of ``selection_rows``.
    n_jobs : int
        Fits run at once, each in one thread: every (fold, candidate) fit is one
        task, so the cores stay busy without nested thread pools, and a busy
        neighbour on the machine slows the fits by its share of the cores, not by
        OpenMP threads waiting for each other. On a small table this process runs
        tasks beside ``n_jobs - 1`` worker processes; on a large one ``n_jobs``
        joblib workers share a memory-mapped copy of the table (see
        :func:`_run_tasks`). The selected candidate's final fit then runs here, in
        one thread on a small table and ``n_jobs`` threads on a large one
        (:func:`final_fit_threads`). 1 fits in this process.
    """

    def __init__(
        self,
        candidates: list[BaseEstimator],
        method: str = "sigmoid",
        n_folds: int = 3,
        selection_rows: int = 0,
        random_state: int = 0,
        n_jobs: int = 1,
        names: list[str] | None = None,
    ) -> None:
        self.candidates = candidates
        self.names = names
        self.method = method
        self.n_folds = n_folds
        self.selection_rows = selection_rows
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | pd.Series,
        groups: np.ndarray | pd.Series,
        final_fit: bool = True,
    ) -> CalibratedIntentClassifier:
        """Choose, calibrate, and (``final_fit``) fit the chosen candidate on every row; without
        it the choice waits for :meth:`refit` on other rows (a fit here would be thrown away)."""
        if self.method not in ("sigmoid", "isotonic"):
            raise ValueError(f"method must be 'sigmoid' or 'isotonic', got {self.method!r}")
        labels = np.asarray(y).astype(int)
        chosen_rows, folds = self._selection_folds(np.asarray(groups), labels)
        folded = labels[chosen_rows]
        checkpoints = [_checkpoints(candidate) for candidate in self.candidates]
        started = time.perf_counter()
        tasks = [(i, train, valid) for train, valid in folds for i in range(len(self.candidates))]
        # With one candidate (and nothing to choose) its final fit runs beside the fold
        # fits; otherwise only the selected one's is fit, after them.
        single = len(self.candidates) == 1 and checkpoints[0] == (0,) and final_fit
        if single:
            tasks.append((0, None, None))
        # A lone model (a baseline) on a small table fits here faster than a worker
        # process would receive its task.
        here = single and len(X) < SMALL_TABLE_ROWS
        results = _run_tasks(
            [
                partial(_fold_scores, self.candidates[i], X, labels, train, valid, checkpoints[i])
                if valid is not None
                else partial(_fit_task, self.candidates[i], X, labels)
                for i, train, valid in tasks
            ],
            1 if here else self.n_jobs,
            len(X),
        )
        best = self._choose(tasks, results, checkpoints, chosen_rows, folded, groups, len(X))
        if single:
            self.estimator_ = results[-1]
        elif final_fit:
            self.refit(X, labels)
        else:
            self.estimator_ = None
        calibrating = time.perf_counter()
        self.calibrator_ = _fit_calibrator(best, folded, self.method)
        self.oof_proba_ = _apply_calibrator(self.calibrator_, best)
        self.oof_labels_ = folded
        self.n_rows_fit_ = len(labels)
        # Seconds of each step, for the run's time per stage.
        self.seconds_ = {
            "fit": calibrating - started,
            "calibration": time.perf_counter() - calibrating,
        }
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _choose(self, tasks, results, checkpoints, chosen_rows, folded, groups, n_rows):
        """Read every candidate's out-of-fold scores at each checkpoint, keep each one's best
        number of trees, choose the simplest within the uncertainty of the best (see
        :func:`_simplest_within_uncertainty`); return the chosen one's out-of-fold scores."""
        position = np.empty(n_rows, dtype=np.int64)
        position[chosen_rows] = np.arange(len(chosen_rows))
        out_of_fold = [np.zeros((len(c), len(chosen_rows))) for c in checkpoints]
        for (i, _, valid), result in zip(tasks, results, strict=True):
            if valid is not None:
                out_of_fold[i][:, position[valid]] = result
        scores = [[average_precision_score(folded, s) for s in oof] for oof in out_of_fold]
        best_checkpoint = [int(np.argmax(s)) for s in scores]
        self.selection_scores_ = [s[k] for s, k in zip(scores, best_checkpoint, strict=True)]
        # Trees of each boosting candidate, chosen on the folds (0: not a boosting model).
        self.iterations_ = [c[k] for c, k in zip(checkpoints, best_checkpoint, strict=True)]
        best_scores = [oof[k] for oof, k in zip(out_of_fold, best_checkpoint, strict=True)]
        self.selected_, self.selection_intervals_ = _simplest_within_uncertainty(
            best_scores, folded, np.asarray(groups)[chosen_rows], self.random_state
        )
        return best_scores[self.selected_]

    def _selection_folds(
        self, groups: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """The rows the choice is made on (positions in X: a sample of whole groups, or
        every row) and the lead-grouped folds among them, as positions in X."""
        rows = selection_sample(groups, self.selection_rows, self.random_state)
        folds = grouped_folds(groups[rows], self.n_folds, labels[rows])
        return rows, [(rows[train], rows[valid]) for train, valid in folds]

    def chosen_candidate(self) -> BaseEstimator:
        """The selected candidate, unfitted, with the number of trees the folds chose."""
        check_is_fitted(self, "selected_")
        return _with_iterations(self.candidates[self.selected_], self.iterations_[self.selected_])

    def cross_fitted(self, raw: np.ndarray, y: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
        """Out-of-fold scores of the chosen candidate (``raw``, from fits on other rows)
        calibrated without their own labels: each fold's through a calibrator fit on the
        other folds' scores. The model's calibrator, threshold and tiers are then made
        from every fold's scores, as its final fit (on every row) will score. A model of
        one candidate needs no choice before."""
        if len(self.candidates) > 1:
            check_is_fitted(self, "selected_")
        labels = np.asarray(y).astype(int)
        calibrated = np.empty(len(raw))
        for fold in folds:
            others = np.setdiff1d(np.arange(len(raw)), fold)
            calibrator = _fit_calibrator(raw[others], labels[others], self.method)
            calibrated[fold] = _apply_calibrator(calibrator, raw[fold])
        self.calibrator_ = _fit_calibrator(raw, labels, self.method)
        self.oof_proba_, self.oof_labels_ = calibrated, labels
        return calibrated

    def refit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> CalibratedIntentClassifier:
        """Fit the chosen candidate again on ``X`` (every row): the choice, its trees and the
        calibrator stay as the selection folds made them."""
        with thread_budget(final_fit_threads(len(X), self.n_jobs)):
            self.estimator_ = _fit_task(self.chosen_candidate(), X, np.asarray(y).astype(int))
        self.n_rows_fit_ = len(X)
        return self

    def choices(self) -> list[dict]:
        """Each candidate with its out-of-fold average precision and its 90% interval, the
        interval of the best candidate's lead over it, which parameters, how many trees the
        folds chose (boosting), whether it had monotone constraints, and whether it was
        selected."""
        check_is_fitted(self, "estimator_")
        rows = []
        names = self.names or candidate_names("", self.candidates)
        for i, (candidate, score) in enumerate(
            zip(self.candidates, self.selection_scores_, strict=True)
        ):
            estimator = candidate[-1] if isinstance(candidate, Pipeline) else candidate
            parameters = estimator.get_params(deep=False)
            interval, behind = self.selection_intervals_[i]
            rows.append(
                {
                    "candidate": i,
                    "name": names[i],
                    "estimator": type(estimator).__name__,
                    "parameters": {
                        k: parameters[k]
                        for k in _DESCRIBED_PARAMETERS
                        if parameters.get(k) is not None and k in parameters
                    },
                    "trees": self.iterations_[i] or None,
                    "monotone_constraints": bool(parameters.get("monotonic_cst")),
                    "average_precision": float(score),
                    "average_precision_interval": interval,
                    "behind_the_best": behind,
                    "selected": i == self.selected_,
                }
            )
        return rows

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        raw = self.estimator_.predict_proba(X)[:, 1]
        calibrated = _apply_calibrator(self.calibrator_, raw)
        return np.column_stack([1.0 - calibrated, calibrated])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


# Resamples of the leads for the selection's intervals (average precision only: a few
# seconds for ten candidates on 50,000 rows).
SELECTION_RESAMPLES = 60


def _simplest_within_uncertainty(
    scores: list[np.ndarray], y: np.ndarray, groups: np.ndarray, seed: int
) -> tuple[int, list[tuple[list[float], list[float]]]]:
    """The candidate chosen, and per candidate the 90% interval of its out-of-fold average
    precision and of the best candidate's lead over it (resampling the leads).

    Candidates come simplest first; the chosen one is the first whose lead behind the
    best is not distinguishable from zero (its interval reaches 0): on a tie within
    the uncertainty, the simpler candidate wins.
    """
    best = int(np.argmax([average_precision_score(y, p) for p in scores]))
    with thread_budget(1):
        bands = intervals_by_lead(
            groups,
            y,
            dict(enumerate(scores)),
            best,
            n_resamples=SELECTION_RESAMPLES,
            seed=seed,
            metrics=("average_precision",),
        )
    intervals = []
    for i in range(len(scores)):
        # The best candidate is not behind itself.
        behind = [0.0, 0.0] if i == best else bands[f"{i}_gain"]["average_precision"]
        intervals.append((bands[i]["average_precision"], behind))
    chosen = next(
        (i for i, (_, behind) in enumerate(intervals) if not behind or behind[0] <= 0), best
    )
    return chosen, intervals


def start_fit_workers(n_jobs: int) -> None:
    """Start the worker processes the fits on a small table will run in (``n_jobs - 1``
    of them, beside this process: see :func:`_run_tasks`), in the background.

    A worker takes about a second to start (Python, numpy, scikit-learn); started
    while the data is read and checked, they are ready when the first fits come.
    """
    pool = worker_processes(n_jobs)
    for _ in range(n_jobs - 1 if pool is not None else 0):
        pool.submit(_ready)


def start_large_table_workers(n_jobs: int, n_rows: int) -> None:
    """On a large table (``SMALL_TABLE_ROWS`` rows or more), start joblib's ``n_jobs``
    workers, which its fits run in (:func:`_run_tasks`), in the background, now that the
    table's size is known: they replace the small-table workers, and were the first
    two seconds of the first fits."""
    if n_jobs <= 1 or n_rows < SMALL_TABLE_ROWS:
        return
    ready = partial(Parallel(n_jobs=n_jobs), [delayed(_ready)() for _ in range(n_jobs)])
    threading.Thread(target=ready, name="intent-model-start-workers", daemon=True).start()


def _ready() -> bool:
    # A worker may draw the training's figures at its end (run_in_worker): its first
    # figure, matplotlib's import and fonts (seconds in a new process), is drawn now,
    # while the table is read.
    from intent_model.modeling.plots import warm_up

    warm_up()
    return True


# Below this many rows a table is small: each fit is short, so an OpenMP pool or a
# worker process's dispatch costs more than it gives.
SMALL_TABLE_ROWS = 50_000


def final_fit_threads(n_rows: int, n_jobs: int) -> int:
    """Threads for the one fit that runs alone (the selected candidate on every row).

    On a small table an OpenMP pool costs more than it gives: each tree node's
    parallel region is short, and on a busy machine a descheduled thread makes
    the others wait at every one (training beside a busy process went from 1.27x
    to 1.66x its time alone). From ``SMALL_TABLE_ROWS`` rows on, each region is
    long enough for a second core to pay (290,646 rows of 10M events: 118 s in one
    thread, 73 s in two), and this fit is then a large part of the fit stage; the
    folds are all done by then, so no pools nest.
    """
    return max(1, n_jobs) if n_rows >= SMALL_TABLE_ROWS else 1


def selection_sample(groups: np.ndarray, at_most: int, seed: int) -> np.ndarray:
    """Sorted positions of the rows of whole groups (leads) drawn at random until at most
    ``at_most`` rows; every row when there are no more than that, or ``at_most`` is 0.

    Whole groups keep the folds grouped: a lead's snapshots are all in, or all out.
    """
    if not at_most or len(groups) <= at_most:
        return np.arange(len(groups))
    _, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(sizes))
    kept = order[: max(1, int(np.searchsorted(np.cumsum(sizes[order]), at_most, side="right")))]
    return np.flatnonzero(np.isin(codes, kept))


def out_of_sample_scores(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    n_jobs: int = 1,
) -> np.ndarray:
    """Uncalibrated scores of the rows of each split's second part, by ``estimator``
    fit on its first part (row positions); one one-thread fit per split, ``n_jobs`` at once.

    NaN for rows no split scores.
    """
    results = _run_tasks(
        [
            partial(_fold_scores, estimator, X, np.asarray(y), train, valid, (0,))
            for train, valid in splits
        ],
        n_jobs,
        len(X),
    )
    scores = np.full(len(X), np.nan)
    for (_, valid), result in zip(splits, results, strict=True):
        scores[valid] = result[0]
    return scores


# Numbers of trees at which a boosting candidate's out-of-fold scores are read: its
# number of trees is chosen there, on the development folds (early stopping without a
# validation split of its own, which would put a lead's snapshots on both sides).
_CHECKPOINTS = (25, 50, 75, 100, 150, 200, 300, 400, 600)


def _final_step(estimator):
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _checkpoints(candidate) -> tuple[int, ...]:
    """The numbers of trees to score a boosting candidate at; ``(0,)`` (as configured) for
    any other estimator."""
    final = _final_step(candidate)
    if not hasattr(final, "staged_predict_proba") or "max_iter" not in final.get_params():
        return (0,)
    most = int(final.get_params()["max_iter"])
    return (*(k for k in _CHECKPOINTS if k < most), most)


def _with_iterations(candidate, iterations: int):
    """A copy of the candidate with ``iterations`` trees (0: unchanged)."""
    chosen = clone(candidate)
    if iterations:
        _final_step(chosen).set_params(max_iter=iterations)
    return chosen


def _fold_scores(
    candidate, X: pd.DataFrame, y: np.ndarray, train, valid, checkpoints: tuple[int, ...]
) -> np.ndarray:
    """The ``valid`` rows' scores by the candidate fit on the ``train`` rows: one row per
    checkpoint (after that many trees), or one row when ``checkpoints`` is ``(0,)``."""
    model = clone(candidate).fit(X.iloc[train], y[train])
    rows = X.iloc[valid]
    if checkpoints == (0,):
        return model.predict_proba(rows)[:, 1][None, :]
    if isinstance(model, Pipeline) and len(model) > 1:
        rows = model[:-1].transform(rows)
    wanted, staged = set(checkpoints), []
    for trees, proba in enumerate(_final_step(model).staged_predict_proba(rows), start=1):
        if trees in wanted:
            staged.append(proba[:, 1])
    # A model that stopped before a checkpoint scores there as at its last tree.
    staged += [proba[:, 1]] * (len(checkpoints) - len(staged))
    return np.vstack(staged)


def _run_tasks(tasks: list[partial], n_jobs: int, n_rows: int) -> list:
    """The tasks' results in order, ``n_jobs`` one-thread fits at once.

    On a small table this process takes its share beside ``n_jobs - 1`` worker
    processes (:func:`~intent_model.runtime.run_here_and_in_workers`): one worker
    fewer to start, and a worker's start is a large part of a small table's
    training. From ``SMALL_TABLE_ROWS`` rows on, joblib's ``n_jobs`` workers instead:
    joblib memory-maps the table once for all of them, where each task would
    otherwise carry its own copy of it.
    """
    if n_jobs > 1 and n_rows >= SMALL_TABLE_ROWS:
        return Parallel(n_jobs=n_jobs)(delayed(task.func)(*task.args) for task in tasks)
    return run_here_and_in_workers(tasks, n_jobs)


def score_in_background(task: partial, n_jobs: int, n_rows: int) -> Future:
    """``task`` (one one-thread fit and its scores) started beside this process's work,
    where :func:`_run_tasks` would run it: in one of the ``n_jobs - 1`` worker processes
    on a small table, in a thread of this process on a large one (or with one job)."""
    # Asked for only on a small table: asking replaces the pool joblib's workers of a large
    # table run in, and the next fits would wait seconds for new ones to start.
    workers = worker_processes(n_jobs) if n_rows < SMALL_TABLE_ROWS else None
    if workers is not None:
        return workers.submit(task)
    return in_a_thread(task)


def run_in_worker(task: partial, n_jobs: int, n_rows: int) -> Future:
    """``task`` (small arguments, a small result) run in one of the worker processes this
    training's fits ran in, while this process goes on: one of the ``n_jobs - 1`` of a
    small table, or of joblib's ``n_jobs`` of a large one (from a thread, as joblib's
    calls block). With one job it runs here, now."""
    if n_jobs <= 1:
        done: Future = Future()
        done.set_result(task())
        return done
    if n_rows < SMALL_TABLE_ROWS:
        return worker_processes(n_jobs).submit(task)
    return in_a_thread(lambda: Parallel(n_jobs=n_jobs)([delayed(task)()])[0])


def _fit_task(candidate, X: pd.DataFrame, y: np.ndarray):
    """One fit on every row, returning the fitted estimator."""
    return _with_own_encoding(clone(candidate).fit(X, y))


def _fit_rows(candidate, X: pd.DataFrame, y: np.ndarray, rows: np.ndarray):
    """One fit on some rows (positions), returning the fitted estimator."""
    return _with_own_encoding(clone(candidate).fit(X.iloc[rows], y[rows]))


def _with_own_encoding(estimator):
    own_category_encoding(_final_step(estimator))
    return estimator


def own_category_encoding(booster) -> None:
    """Give a fitted gradient boosting's categorical input encoding, if it has one, as a
    :class:`CategoryEncoding` (the same values; the form a model file keeps)."""
    preprocessor = getattr(booster, "_preprocessor", None)
    if preprocessor is not None and not isinstance(preprocessor, CategoryEncoding):
        booster._preprocessor = CategoryEncoding.of(preprocessor)


def fit_on_splits(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    n_jobs: int = 1,
) -> list[BaseEstimator]:
    """``estimator`` fit on the first part of each split (row positions), one one-thread
    fit per split, ``n_jobs`` at once (the table shared, not copied per fit)."""
    return _run_tasks(
        [partial(_fit_rows, estimator, X, np.asarray(y), train) for train, _ in splits],
        n_jobs,
        len(X),
    )


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, _EPSILON, 1.0 - _EPSILON)
    return np.log(clipped / (1.0 - clipped))


def _fit_calibrator(scores: np.ndarray, labels: np.ndarray, method: str):
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    # Platt scaling on the logit of the score; a huge C means no regularisation.
    return LogisticRegression(C=1e6, max_iter=1000).fit(_logit(scores).reshape(-1, 1), labels)


def _apply_calibrator(calibrator, scores: np.ndarray) -> np.ndarray:
    if isinstance(calibrator, IsotonicRegression):
        return np.clip(calibrator.predict(scores), 0.0, 1.0)
    return calibrator.predict_proba(_logit(scores).reshape(-1, 1))[:, 1]


def make_calibrated(
    kind: str,
    training: TrainingConfig,
    monotone_increasing: tuple[str, ...] = (),
    points_rule: BaseEstimator | None = None,
    n_jobs: int = 1,
    subsets: dict[str, tuple[str, ...]] | None = None,
    categories: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> CalibratedIntentClassifier:
    """A calibrated model of one kind, configured from ``[training]``; ``n_jobs`` fits at
    once. The model's candidates start with the simple answers of ``subsets`` (named
    feature sets: ``rule: ...`` and ``plain: ...``), simplest first; ``categories`` as
    for :func:`make_candidates`."""
    candidates = make_candidates(kind, training, monotone_increasing, points_rule, categories)
    names = candidate_names(kind, candidates)
    if kind == MAIN_MODEL and subsets:
        simple = simple_candidates(subsets, training)
        candidates = [estimator for _, estimator in simple] + candidates
        names = [name for name, _ in simple] + names
    return CalibratedIntentClassifier(
        candidates,
        names=names,
        method=training.calibration,
        n_folds=training.selection_folds,
        selection_rows=training.selection_rows,
        random_state=training.random_state,
        n_jobs=n_jobs,
    )
