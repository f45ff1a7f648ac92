"""Columns written after the outcome: find them before a model learns from them.

Real CRM exports carry columns sales filled in once the lead had converted
or not (tags, dispositions, status, stage, the rep's rating, lost reasons,
deal fields filled only for won leads, another vendor's score computed
later). A model that uses them looks brilliant in evaluation and is useless
in production, where those cells are still empty.

A column is **left out** on evidence that it was written after the outcome
(docs/leakage.md has the figures behind each rule):

* **its name**: words like status, stage, tag, disposition, quality, outcome,
  won, lost, closed, converted, reason, rating, score;
* **its values**: words like closed, won, lost, converted, "already a
  customer", "will revert", "not interested", in at least 1% of its rows;
* **out-of-fold AUC on its own** above ``[table] column_flag_auc``: the
  column's values (binned, missing as a value of its own) are target-encoded
  on the other folds and scored on the held-out fold;
* **converted only, beyond chance**: a fill pattern or a value (missing or
  given, a category, a numeric bin) whose rows all (at least 99%) converted,
  where chance would give that less than once in a million after counting
  every value of the column tried (``ONE_CLASS_P``). A deal field filled only
  for won leads is caught however sparse: 30 of 30 filled rows won at an 8.7%
  base rate has a chance of 1e-32. Values where nobody converted are no
  evidence: honest columns have them (no visits, a segment that never buys).

**Dominance** is measured for every other column and only reported as a
**suspicion**: a column that alone predicts at least as well as all the
others together, or whose absence costs the model more than ``[table]
dominance_margin`` of AUC. A column measured during the contact that
decided the outcome looks like that, but so does the one strong honest
column of a table with few (age in a mortality table, sex among the
Titanic's passengers): from the data alone they cannot be told apart, so the
person decides, with the model shown both ways.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.stats import binom
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from intent_model.errors import ConfigError
from intent_model.io.config import FEATURE_ROLES, Config, TableConfig
from intent_model.io.validate import holds_numbers_or_moments
from intent_model.table.encoding import category_keys, date_values, numeric_values

OUTCOME_WORDS = frozenset(
    {
        "status",
        "stage",
        "tag",
        "tags",
        "disposition",
        "quality",
        "outcome",
        "won",
        "win",
        "lost",
        "closed",
        "reason",
        "rating",
        "rated",
        "result",
        "deal",
        "customer",
        "revenue",
        "score",
        "intent",
        "hard",
        "churn",
    }
)
OUTCOME_PREFIXES = ("convert", "conversion", "opportunit", "qualif", "disqualif")
OUTCOME_VALUES = re.compile(
    r"\b(closed|won|lost|converted|conversion|already a customer|customer|will revert|"
    r"not interested|interested in other|disqualified|unqualified|junk|ringing|"
    r"wrong number|invalid number|switched off)\b",
    re.IGNORECASE,
)
VALUE_SHARE = 0.01
ENCODING_BINS = 20
# One class only: at most this share of a value's rows in the other class ...
ONE_CLASS_IMPURITY = 0.01
# ... where chance gives it less than this, after a Bonferroni count of the values tried.
ONE_CLASS_P = 1e-6
# Dominance is suspected only of a column that predicts something alone.
SUSPECT_MIN_AUC = 0.6
SMOOTHING_ROWS = 10
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


CHECK_COLUMNS = [
    "column",
    "role",
    "single_column_auc",
    "others_auc",
    "drop_cost",
    "name_word",
    "outcome_values",
    "one_class",
    "flagged",
    "kept",
    "left_out",
    "suspected",
    "evidence",
]


def outcome_word(name: str) -> str | None:
    """The word of a column name that sounds like an outcome, or None.

    Examples
    --------
    >>> outcome_word("Lead Status"), outcome_word("salesTag"), outcome_word("percentage_visits")
    ('status', 'tag', None)
    >>> outcome_word("is_converted"), outcome_word("Total Time Spent on Website")
    ('converted', None)
    """
    for word in (w.lower() for w in _WORD.findall(str(name))):
        if word in OUTCOME_WORDS or word.startswith(OUTCOME_PREFIXES):
            return word
    return None


def outcome_values(values: pd.Series) -> tuple[list[str], float]:
    """Values that read like an outcome, and the share of non-empty rows holding one.

    Examples
    --------
    >>> outcome_values(pd.Series(["Closed - Won", "Open", "Open", None]))
    (['Closed - Won'], 0.3333333333333333)
    """
    if holds_numbers_or_moments(values):
        return [], 0.0
    # Each distinct value stripped once, its rows counted: a column holds a few dozen.
    per_value = values.value_counts(dropna=True)
    text = pd.Index(per_value.index.astype(str)).str.strip()
    counts = pd.Series(per_value.to_numpy(), index=text).groupby(level=0).sum()
    counts = counts[counts.index != ""].sort_values(ascending=False, kind="stable")
    if counts.empty:
        return [], 0.0
    hits = [v for v in counts.index if OUTCOME_VALUES.search(v)]
    return hits, float(counts[hits].sum() / counts.sum()) if hits else 0.0


def one_class_values(
    values: pd.Series,
    role: str,
    y: np.ndarray,
    missing_values: tuple[str, ...],
    bins: np.ndarray | None = None,
) -> tuple[str, float] | None:
    """The value (or fill pattern) of a column whose rows all converted, far beyond chance,
    with that chance (Bonferroni-adjusted over the column's values); None if none.

    A value's rows are "all converted" when at most ``ONE_CLASS_IMPURITY`` of them did
    not; the chance is the binomial probability of that many conversions among them at
    the base rate. Only the outcome's class counts: values where nobody converted are
    common in honest columns (no visits, a segment that never buys), while a value or a
    field that only won leads have is what sales write once a deal is won.

    Examples
    --------
    >>> y = np.r_[np.ones(30), np.zeros(315)].astype(int)
    >>> deal = pd.Series([9_900.0] * 30 + [None] * 315)
    >>> value, chance = one_class_values(deal, "numeric", y, ())
    >>> value, f"{chance:.0e}"
    ('9900.0: 30 of 30 rows converted', '3e-32')
    """
    bins = _bins(values, role, missing_values) if bins is None else bins
    codes, names = pd.factorize(bins)
    counts = pd.DataFrame(
        {
            "sum": np.bincount(codes, weights=y, minlength=len(names)).astype(int),
            "count": np.bincount(codes, minlength=len(names)),
        },
        index=pd.Index(names, dtype=object),
    )
    if len(counts) < 2:
        return None
    # The fill pattern too: filled in at all, whatever the value (deal fields of won leads
    # hold a different amount each, so no one value is frequent).
    missing = np.isin(bins, ["missing", "(missing)"])
    if missing.any() and len(counts) > 2:
        counts.loc["(given)"] = [int(y[~missing].sum()), int((~missing).sum())]
    base = float(np.mean(y))
    best: tuple[str, float] | None = None
    for value, (positives, rows) in counts.iterrows():
        if rows - positives > ONE_CLASS_IMPURITY * rows or base >= 1.0:
            continue
        chance = float(binom.sf(positives - 1, rows, base)) * len(counts)
        if chance < ONE_CLASS_P and (best is None or chance < best[1]):
            shown = {"missing": "missing", "(missing)": "missing", "(given)": "given"}.get(
                str(value), value
            )
            best = (f"{shown}: {int(positives):,} of {int(rows):,} rows converted", chance)
    return best


def single_column_auc(
    values: pd.Series, role: str, y: np.ndarray, missing_values: tuple[str, ...], seed: int = 0
) -> float:
    """Out-of-fold AUC of one column on its own (target-encoded bins, missing as a bin).

    Encoding the bins on the other folds catches any relation, not only a monotone one
    (a status whose "Closed - Won" means converted), and cannot score a column by
    memorising it: identifiers and free text are judged by given-or-not only.
    """
    return _auc(out_of_fold_encoding(values, role, y, missing_values, seed), y)


def out_of_fold_encoding(
    values: pd.Series,
    role: str,
    y: np.ndarray,
    missing_values: tuple[str, ...],
    seed: int = 0,
    bins: np.ndarray | None = None,
) -> np.ndarray | None:
    """Each row's label rate in its bin, learnt on the other folds (None: too few of a class).

    ``bins``: the column's bins when already made (``_bins``), which is the slow part."""
    bins = _bins(values, role, missing_values) if bins is None else bins
    n_folds = int(min(5, np.bincount(y, minlength=2).min()))
    if n_folds < 2:
        return None
    codes, names = pd.factorize(bins)
    scores = np.zeros(len(y))
    prior = y.mean()
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for train, valid in folds.split(codes, y):
        positives = np.bincount(codes[train], weights=y[train], minlength=len(names))
        rows = np.bincount(codes[train], minlength=len(names))
        # A bin no training row has gets the prior, as smoothing with no rows gives.
        rate = (positives + SMOOTHING_ROWS * prior) / (rows + SMOOTHING_ROWS)
        scores[valid] = rate[codes[valid]]
    return scores


# Rows a fold's stand-in model is fit on, at most: at 450,000 snapshots x 160 event
# features, fitting on all of them took 24 s of a 53 s training set and moved its
# out-of-fold AUC by 0.001 (0.8516 against 0.8503).
CONTEXT_FIT_ROWS = 100_000


def out_of_fold_score(features: pd.DataFrame, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Out-of-fold label rate of a plain logistic regression on numeric features.

    Counts are log-scaled and missing values set to 0 (with a missing
    indicator per column that has any): a stand-in for what a set of
    features says together, to weigh a checked column against. Each fold's
    model is fit on at most ``CONTEXT_FIT_ROWS`` of its training rows (a
    seeded sample); every row is scored.
    """
    # In place: at hundreds of thousands of snapshots each copy costs a second.
    values = features.to_numpy(dtype=float, copy=True)
    missing = np.isnan(values)
    np.nan_to_num(values, copy=False)
    np.log1p(np.clip(values, 0, None, out=values), out=values)
    design = np.hstack([values, missing[:, missing.any(axis=0)]])
    del values
    spread = design.std(axis=0)
    design = design[:, spread > 0]
    design -= design.mean(axis=0)
    design /= spread[spread > 0]
    n_folds = int(min(5, np.bincount(y, minlength=2).min()))
    scores = np.full(len(y), y.mean())
    if n_folds < 2 or design.shape[1] == 0:
        return scores
    rng = np.random.default_rng(seed)
    for train, valid in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(design, y):
        if len(train) > CONTEXT_FIT_ROWS:
            train = np.sort(rng.choice(train, CONTEXT_FIT_ROWS, replace=False))
        model = _stacker().fit(design[train], y[train])
        scores[valid] = model.predict_proba(design[valid])[:, 1]
    return scores


def _stacker() -> LogisticRegression:
    # Newton steps on a few dozen columns: a handful of iterations, where lbfgs takes hundreds.
    return LogisticRegression(solver="newton-cholesky", max_iter=100)


def dominance(
    encoded: pd.DataFrame, y: np.ndarray, seed: int = 0, only: list[str] | None = None
) -> pd.DataFrame:
    """How much of the model each column (of ``only``, by default every one) carries, out
    of fold.

    Parameters
    ----------
    encoded : pandas.DataFrame
        One column per checked column: its out-of-fold encoding (a label rate).
    y : numpy.ndarray

    Returns
    -------
    pandas.DataFrame
        Indexed by column: ``others_auc`` (a model on all the other columns
        together, out of fold) and ``drop_cost`` (the AUC of the model on all
        columns minus ``others_auc``).
    """
    columns = list(encoded.columns)
    weighed = columns if only is None else [c for c in columns if c in only]
    if len(columns) < 2:
        return pd.DataFrame({"others_auc": np.nan, "drop_cost": np.nan}, index=weighed)
    rates = np.clip(encoded.to_numpy(dtype=float), 1e-4, 1 - 1e-4)
    logits = np.log(rates / (1 - rates))
    n_folds = int(min(5, np.bincount(y, minlength=2).min()))
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(logits, y))
    every = _stacked_auc(logits, y, folds)
    others = [_stacked_auc(np.delete(logits, columns.index(c), axis=1), y, folds) for c in weighed]
    return pd.DataFrame(
        {"others_auc": others, "drop_cost": [every - auc for auc in others]}, index=weighed
    )


def _stacked_auc(logits: np.ndarray, y: np.ndarray, folds: list) -> float:
    scores = np.zeros(len(y))
    for train, valid in folds:
        model = _stacker().fit(logits[train], y[train])
        scores[valid] = model.decision_function(logits[valid])
    return float(roc_auc_score(y, scores))


def _bins(values: pd.Series, role: str, missing_values: tuple[str, ...]) -> np.ndarray:
    if role in ("numeric", "date"):
        if role == "numeric":
            numbers = numeric_values(values, missing_values)
        else:
            # Seconds since the epoch; a missing date stays NaN (its own bin), never a number.
            since_epoch = date_values(values) - pd.Timestamp(0, tz="UTC")
            numbers = since_epoch.dt.total_seconds().to_numpy(dtype=float)
        codes = np.full(len(values), "missing", dtype=object)
        known = ~np.isnan(numbers)
        distinct = np.unique(numbers[known])
        if len(distinct) <= ENCODING_BINS:
            codes[known] = numbers[known].astype(str)
        else:
            edges = np.unique(np.quantile(numbers[known], np.linspace(0, 1, ENCODING_BINS + 1)))
            codes[known] = np.searchsorted(edges[1:-1], numbers[known], side="right").astype(str)
        return codes
    keys = category_keys(values, missing_values)
    if role in ("text", "identifier"):
        return np.where(keys.notna().to_numpy(), "given", "missing").astype(object)
    return keys.fillna("(missing)").to_numpy(dtype=object)


def check_columns(
    frame: pd.DataFrame,
    roles: pd.DataFrame,
    y: np.ndarray,
    config: Config,
    context: np.ndarray | None = None,
) -> pd.DataFrame:
    """Run the checks on every feature column; decide which ones are left out.

    ``context``, when given, is an out-of-fold score from features that are not
    checked (the event features, when a leads table joins them): it counts
    among "all the other columns" of the dominance check.

    Returns
    -------
    pandas.DataFrame
        ``column, role, single_column_auc, others_auc, drop_cost, name_word,
        outcome_values, flagged, kept, left_out, evidence``: one row per checked
        column, most suspicious first.

    Raises
    ------
    ConfigError
        When ``keep_columns`` names a column the table does not have.
    """
    table = config.table
    missing_values = config.features.placeholders()
    candidates = roles[roles["role"].isin(FEATURE_ROLES) & (roles["column"] != "lead_id")]
    unknown = sorted(set(table.keep_columns) - set(roles["column"]))
    if unknown:
        raise ConfigError(
            f"--keep-column / [table] keep_columns names column(s) the table does not have: "
            f"{', '.join(unknown)}"
        )
    checked = list(zip(candidates["column"], candidates["role"], strict=True))
    bins = {column: _bins(frame[column], role, missing_values) for column, role in checked}
    encoded = {
        column: out_of_fold_encoding(frame[column], role, y, missing_values, bins=bins[column])
        for column, role in checked
    }
    rows = {
        column: _single_column_evidence(
            frame[column], column, role, encoded[column], y, table, missing_values, bins[column]
        )
        for column, role in checked
    }
    _suspect_dominant(rows, encoded, y, table.dominance_margin, context)
    for row in rows.values():
        written_after = bool(row["evidence"])
        row["flagged"] = written_after or bool(row["suspicion"])
        row["kept"] = written_after and row["column"] in table.keep_columns
        row["left_out"] = written_after and not row["kept"]
        row["suspected"] = not written_after and bool(row["suspicion"])
        row["evidence"] = "; ".join(row["evidence"] + row.pop("suspicion"))
    checks = pd.DataFrame(list(rows.values()), columns=CHECK_COLUMNS)
    return checks.sort_values(
        ["flagged", "single_column_auc"], ascending=[False, False], ignore_index=True
    )


def _single_column_evidence(
    values: pd.Series,
    column: str,
    role: str,
    encoded: np.ndarray | None,
    y: np.ndarray,
    table: TableConfig,
    missing_values: tuple[str, ...],
    bins: np.ndarray,
) -> dict:
    """What one column shows on its own: its out-of-fold AUC, its name, its values, and a
    value or fill pattern of one class only."""
    auc = _auc(encoded, y)
    word = outcome_word(column)
    outcomes, share = outcome_values(values) if role == "categorical" else ([], 0.0)
    one_class = one_class_values(values, role, y, missing_values, bins)
    evidence = []
    if auc > table.column_flag_auc:
        evidence.append(
            f"on its own it predicts the label with out-of-fold AUC {auc:.3f} "
            f"(> {table.column_flag_auc:g})"
        )
    if word:
        evidence.append(f"its name has {word!r}")
    if share >= VALUE_SHARE:
        shown = ", ".join(repr(v) for v in outcomes[:3])
        evidence.append(f"{share:.0%} of its values read like an outcome ({shown})")
    if one_class is not None:
        evidence.append(
            f"converted only: {one_class[0]} (chance {one_class[1]:.0e} at a base rate of "
            f"{np.mean(y):.1%})"
        )
    return {
        "column": column,
        "role": role,
        "single_column_auc": auc,
        "others_auc": np.nan,
        "drop_cost": np.nan,
        "name_word": word or "",
        "outcome_values": ", ".join(outcomes[:5]),
        "one_class": one_class[0] if one_class else "",
        "evidence": evidence,
        "suspicion": [],
    }


# Rows the dominance check fits its stacked models on, at most (stratified by the label,
# seeded). Its verdict is a difference of AUCs on a few columns, stable on a sample of this
# size (benchmarks/column_checks.py); on 80,000 rows it took 12 of 17 s of the checks.
DOMINANCE_ROWS = 20_000


def dominance_sample(y: np.ndarray, at_most: int | None = None, seed: int = 0) -> np.ndarray:
    """Sorted positions of at most ``at_most`` rows (``DOMINANCE_ROWS``), the same share of
    each class."""
    at_most = DOMINANCE_ROWS if at_most is None else at_most
    if len(y) <= at_most:
        return np.arange(len(y))
    return stratified_rows(y, at_most, seed)


def stratified_rows(y: np.ndarray, at_most: int, seed: int) -> np.ndarray:
    """Sorted positions of about ``at_most`` rows drawn at random, each class in its share
    of the rows (at least one of each).

    Examples
    --------
    >>> rows = stratified_rows(np.r_[np.ones(100), np.zeros(900)], 100, seed=0)
    >>> len(rows), int((rows < 100).sum())
    (100, 10)
    """
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(members, max(1, round(at_most * len(members) / len(y))), replace=False)
        for members in (np.flatnonzero(y == label) for label in np.unique(y))
    ]
    return np.sort(np.concatenate(picked))


def _suspect_dominant(
    rows: dict[str, dict],
    encoded: dict[str, np.ndarray | None],
    y: np.ndarray,
    margin: float,
    context: np.ndarray | None,
) -> None:
    """Add the dominance suspicion to the columns that carry the model, among those no
    evidence left out (a left-out leak would otherwise stand in for another column)."""
    honest = {c: e for c, e in encoded.items() if e is not None and not rows[c]["evidence"]}
    if len(honest) + (context is not None) < 2:
        return
    stack = pd.DataFrame(honest)
    if context is not None:
        stack[_CONTEXT] = context
    # Only a column that predicts something alone can be suspected: the others are not
    # weighed (a fit each), which keeps the check cheap on wide tables.
    strong = [c for c in honest if rows[c]["single_column_auc"] >= SUSPECT_MIN_AUC]
    if not strong:
        return
    rows_used = dominance_sample(y)
    carried = dominance(stack.iloc[rows_used], y[rows_used], only=strong)
    sampled = (
        f"; measured on {len(rows_used):,} of the {len(y):,} rows"
        if len(rows_used) < len(y)
        else ""
    )
    for column, (others, cost) in carried.iterrows():
        row = rows[column]
        row["others_auc"], row["drop_cost"] = others, cost
        alone = row["single_column_auc"]
        if alone >= SUSPECT_MIN_AUC and (alone >= others or cost > margin):
            row["suspicion"].append(
                f"suspected, kept: it carries the model (alone {alone:.2f}; all the others "
                f"together {others:.2f}; leaving it out costs {cost:.3f} AUC, margin {margin:g}"
                f"{sampled}); a strong honest column looks the same"
            )


_CONTEXT = "(the event features)"


def _auc(scores: np.ndarray | None, y: np.ndarray) -> float:
    if scores is None:
        return float("nan")
    if np.all(scores == scores[0]):
        return 0.5
    return discrete_auc(scores, y)


def discrete_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC (ties count half, as ``roc_auc_score``) from the label counts at each
    distinct score: the same figure without scikit-learn's input checks and whole
    curve, which the checks paid once per column (a column's out-of-fold encoding
    takes a few dozen values).

    Examples
    --------
    >>> discrete_auc(np.array([0.2, 0.2, 0.7, 0.9]), np.array([0, 1, 0, 1]))
    0.625
    """
    _, codes = np.unique(scores, return_inverse=True)
    rows = np.bincount(codes)
    positives = np.bincount(codes, weights=np.asarray(y, dtype=float), minlength=len(rows))
    negatives = rows - positives
    below = np.cumsum(negatives) - negatives  # negatives scored lower than each value
    pairs = positives.sum() * negatives.sum()
    return float((positives @ below + 0.5 * positives @ negatives) / pairs)


def describe_checks(checks: pd.DataFrame) -> list[str]:
    """One line per flagged column: its name, the evidence, and how to keep it (or, for a
    suspected one, to leave it out)."""
    lines = []
    for row in checks[checks["flagged"]].itertuples(index=False):
        if row.kept:
            lines.append(f"KEPT although flagged (--keep-column): {row.column!r}: {row.evidence}")
        elif row.suspected:
            lines.append(
                f"suspected {row.column!r}: {row.evidence}; written after the outcome? leave it "
                f'out with [columns.roles] "{row.column}" = "ignore"'
            )
        else:
            lines.append(
                f"left out {row.column!r}: {row.evidence}; written after the outcome? "
                f"keep it with --keep-column {_quoted(row.column)}"
            )
    return lines


def _quoted(name: str) -> str:
    return f'"{name}"' if re.search(r"\s", name) else name
