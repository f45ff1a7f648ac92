"""Plots: functions that take data and return a matplotlib Figure; the caller decides where it goes.

Figures are built without pyplot, so nothing here touches a global backend.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from intent_model.modeling.evaluate import lift_curve

COLORS = {
    "model": "#1f77b4",
    "logistic_regression": "#ff7f0e",
    "points_rule": "#2ca02c",
    "with_left_out_columns": "#d62728",
}
# Tiers A, B, C and D in every chart: the hottest red.
TIER_COLORS = ("#d62728", "#ff7f0e", "#1f77b4", "#7f7f7f")
LABELS = {
    "model": "model (the chosen candidate)",
    "logistic_regression": "logistic regression",
    "points_rule": "points rule",
    "oracle": "oracle (simulation truth)",
    "with_left_out_columns": "gradient boosting WITH the left-out columns (refused)",
}


# Every figure of a bundle is saved at this resolution.
DPI = 110


def quality_figures(y: np.ndarray, predictions: Mapping[str, np.ndarray]) -> dict[str, Figure]:
    """The plots every training draws of its evaluation: ROC and precision-recall,
    reliability, lift and gain, each with every model kind."""
    return {
        "roc_pr.png": roc_pr_curves(y, predictions),
        "reliability.png": reliability_diagram(y, predictions),
        "lift_gain.png": lift_gain_chart(y, predictions),
    }


def evaluation_figures(
    y: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    checks: pd.DataFrame,
    flag_auc: float,
) -> dict[str, Figure]:
    """A table model's evaluation plots and each column's check."""
    return {
        **quality_figures(y, predictions),
        "column_checks.png": column_check_chart(checks, flag_auc),
    }


def importance_figures(importance: pd.DataFrame) -> dict[str, Figure]:
    """A table model's importance by column (the first 15)."""
    return {
        "importance_by_column.png": family_importance_chart(
            importance.rename(columns={"column": "family"}).head(15)
        )
    }


def png_bytes(figure: Figure, dpi: int = DPI) -> bytes:
    """The figure as a PNG file's bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_files(draw: Callable[..., Mapping[str, Figure]], *args) -> dict[str, bytes]:
    """The figures ``draw(*args)`` makes, by file name, each as its PNG file's bytes: what
    a worker process that drew them sends back."""
    return {name: png_bytes(figure) for name, figure in draw(*args).items()}


def warm_up() -> None:
    """Draw a tiny figure: a process's first one loads the renderer and the fonts."""
    figure = Figure(figsize=(1, 1))
    figure.subplots().set_title("warm")
    png_bytes(figure, dpi=10)


def _style(name: str) -> dict:
    return {"color": COLORS.get(name, "#7f7f7f"), "label": LABELS.get(name, name)}


def _fixed_figure(width: float, height: float) -> Figure:
    """A figure whose axes sit at fixed margins (inches), for charts whose labels are ours.

    A layout engine measures every label by drawing the whole figure once more before
    it is saved. Labels of our own wording and numeric ticks fit these margins; charts
    of the user's column names keep the engine.
    """
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.15 / width,
        bottom=0.6 / height,
        top=1 - 0.4 / height,
        wspace=1.0 / (width / 2),
    )
    return figure


def roc_pr_curves(y: np.ndarray, predictions: Mapping[str, np.ndarray]) -> Figure:
    """ROC and precision-recall curves of the model and the baselines, out of time."""
    figure = _fixed_figure(11, 4.5)
    roc_axis, pr_axis = figure.subplots(1, 2)
    for name, p in predictions.items():
        fpr, tpr, _ = roc_curve(y, p)
        roc_axis.plot(fpr, tpr, **_style(name))
        precision, recall, _ = precision_recall_curve(y, p)
        pr_axis.plot(recall, precision, **_style(name))
    roc_axis.plot([0, 1], [0, 1], ls=":", color="grey", label="chance")
    pr_axis.axhline(np.mean(y), ls=":", color="grey", label="base rate")
    roc_axis.set(
        xlabel="false positive rate", ylabel="true positive rate", title="ROC (out of time)"
    )
    pr_axis.set(xlabel="recall", ylabel="precision", title="Precision-recall (out of time)")
    roc_axis.legend(loc="lower right", fontsize=8)
    pr_axis.legend(loc="upper right", fontsize=8)
    return figure


def reliability_diagram(
    y: np.ndarray, predictions: Mapping[str, np.ndarray], n_bins: int = 10
) -> Figure:
    """Observed hard-conversion rate against predicted probability, in equal-count bins."""
    figure = _fixed_figure(5.5, 5)
    axis = figure.subplots()
    top = 0.0
    for name, p in predictions.items():
        order = np.argsort(p, kind="stable")
        parts = [part for part in np.array_split(order, n_bins) if len(part)]
        predicted = [p[part].mean() for part in parts]
        observed = [np.asarray(y)[part].mean() for part in parts]
        axis.plot(predicted, observed, marker="o", **_style(name))
        top = max(top, *predicted, *observed)
    axis.plot([0, top], [0, top], ls=":", color="grey", label="perfect calibration")
    axis.set(
        xlabel="predicted p_hard",
        ylabel="observed hard-conversion rate",
        title="Reliability (out of time)",
    )
    axis.legend(loc="upper left", fontsize=8)
    return figure


def lift_gain_chart(y: np.ndarray, predictions: Mapping[str, np.ndarray]) -> Figure:
    """Share of hard converters found against share of leads contacted, and the lift."""
    figure = _fixed_figure(11, 4.5)
    gain_axis, lift_axis = figure.subplots(1, 2)
    for name, p in predictions.items():
        curve = lift_curve(np.asarray(y), np.asarray(p))
        gain_axis.plot(curve["share_contacted"], curve["gain"], **_style(name))
        lift_axis.plot(curve["share_contacted"], curve["lift"], **_style(name))
    gain_axis.plot([0, 1], [0, 1], ls=":", color="grey", label="random")
    lift_axis.axhline(1.0, ls=":", color="grey", label="random")
    gain_axis.set(
        xlabel="share of leads contacted (best first)",
        ylabel="share of converters found",
        title="Cumulative gain",
    )
    lift_axis.set(xlabel="share of leads contacted (best first)", ylabel="lift", title="Lift")
    # Where the curves never go (a "best" place is searched among every point drawn).
    gain_axis.legend(loc="lower right", fontsize=8)
    lift_axis.legend(loc="upper right", fontsize=8)
    return figure


def family_importance_chart(importance: pd.DataFrame) -> Figure:
    """Permutation importance by feature family (drop in average precision)."""
    figure = Figure(figsize=(6.5, 4), layout="constrained")
    axis = figure.subplots()
    ordered = importance.sort_values("importance_mean")
    axis.barh(
        ordered["family"],
        ordered["importance_mean"],
        xerr=ordered["importance_std"],
        color="#1f77b4",
    )
    axis.set(
        xlabel="drop in average precision when the family is shuffled",
        title="Feature importance by family (out of time)",
    )
    return figure


def column_check_chart(checks: pd.DataFrame, threshold: float) -> Figure:
    """Each column's out-of-fold AUC on its own: left out in red, suspected or kept on
    request in orange, the others in blue."""
    ordered = checks.sort_values("single_column_auc")
    figure = Figure(figsize=(7, 0.3 * len(ordered) + 1.5), layout="constrained")
    axis = figure.subplots()
    colors = np.where(
        ordered["left_out"],
        "#d62728",
        np.where(ordered["kept"] | ordered.get("suspected", False), "#ff7f0e", "#1f77b4"),
    )
    axis.barh(ordered["column"].str.slice(0, 40), ordered["single_column_auc"], color=colors)
    axis.axvline(threshold, ls="--", color="#d62728", label=f"flagged above {threshold:g}")
    axis.axvline(0.5, ls=":", color="grey", label="chance")
    axis.set(
        xlim=(0.4, 1.0),
        xlabel="out-of-fold AUC of the column alone",
        title="Columns written after the outcome? (red: left out; orange: suspected, kept)",
    )
    axis.legend(loc="lower right", fontsize=8)
    return figure


def label_rate_chart(label_rates: pd.DataFrame, holdout_cutoffs: pd.DatetimeIndex) -> Figure:
    """Label rate and snapshots per cutoff; held-out cutoffs shaded."""
    figure = Figure(figsize=(9, 4), layout="constrained")
    axis = figure.subplots()
    dates = pd.to_datetime(label_rates["cutoff"])
    held = dates.isin(holdout_cutoffs)
    axis.bar(dates, label_rates["label_rate"], width=20, color=np.where(held, "#ff7f0e", "#1f77b4"))
    axis.set(
        ylabel="share with a hard conversion in the horizon",
        title="Label rate per cutoff (orange: held out for evaluation)",
    )
    twin = axis.twinx()
    twin.plot(dates, label_rates["n_snapshots"], color="black", marker=".", lw=1)
    twin.set_ylabel("snapshots")
    return figure


def metrics_over_time_chart(per_cutoff: Mapping[str, pd.DataFrame], metric: str) -> Figure:
    """One metric per held-out cutoff for each model: is quality stable over time?"""
    figure = Figure(figsize=(7, 4), layout="constrained")
    axis = figure.subplots()
    for name, table in per_cutoff.items():
        axis.plot(pd.to_datetime(table["cutoff"]), table[metric], marker="o", **_style(name))
    axis.set(
        ylabel=metric.replace("_", " "), title=f"{metric.replace('_', ' ')} per held-out cutoff"
    )
    axis.legend(fontsize=8)
    return figure
