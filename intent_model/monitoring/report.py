"""The monitoring report: one self-contained page of how a scoring run turned out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from intent_model.modeling.plots import TIER_COLORS, lift_gain_chart, reliability_diagram
from intent_model.modeling.report import figure_html, page, paragraph, section, table_html
from intent_model.monitoring.outcomes import MONITORED
from intent_model.words import duration

LOWEST_CONVERTED = 15


def conversion_by_tier_chart(tiers: dict[str, dict[str, float]]) -> Figure:
    """Conversion rate per tier, with each tier's leads written on its bar."""
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axis = figure.subplots()
    names = list(tiers)
    rates = [0.0 if tiers[t]["leads"] == 0 else tiers[t]["rate"] for t in names]
    bars = axis.bar(names, rates, color=list(TIER_COLORS[: len(names)]))
    for bar, tier in zip(bars, names, strict=True):
        t = tiers[tier]
        axis.annotate(
            f"{t['converted']:,}/{t['leads']:,}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axis.set(xlabel="tier", ylabel="converted", title="Conversion by tier")
    axis.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    return figure


def conversion_by_decile_chart(deciles: pd.DataFrame) -> Figure:
    """Conversion rate per score decile (1 = the best-scored tenth) against the mean score."""
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axis = figure.subplots()
    axis.bar(deciles["decile"], deciles["rate"], color="#1f77b4", label="converted")
    axis.plot(deciles["decile"], deciles["p_hard"], "o-", color="#d62728", label="mean p_hard")
    axis.set(
        xlabel="score decile (1 = best)",
        ylabel="rate",
        xticks=list(deciles["decile"]),
        title="Conversion by score decile",
    )
    axis.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    axis.legend(fontsize=8)
    return figure


def realized_vs_promised_chart(summary: dict[str, Any]) -> Figure:
    """Each ranking metric as realized (with its 90% interval) beside training's promise."""
    metrics = [m for m in ("roc_auc", "average_precision", "lift_top10pct") if m in summary]
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(metrics)))
    for axis, metric in zip(axes, metrics, strict=True):
        low, high = summary["intervals"].get(metric, (np.nan, np.nan))
        value = summary[metric]
        axis.bar(
            ["realized"],
            [value],
            color="#1f77b4",
            yerr=[[value - low], [high - value]] if low == low else None,
            capsize=6,
        )
        promised = summary["promised"].get(metric)
        if promised is not None:
            axis.bar(["promised"], [promised], color="#bbbbbb")
        axis.set_title(metric, fontsize=9)
    return figure


def monitoring_report(
    summary: dict[str, Any], outcomes: pd.DataFrame, deciles: pd.DataFrame
) -> str:
    """The page: the verdict, realized against promised, tiers and deciles, reliability and
    lift, the converted leads ranked lowest with their reasons then, and the score's drift."""
    ranked = outcomes[outcomes["rank"].notna()]
    y = ranked["converted"].to_numpy(dtype=int)
    p = ranked["p_hard"].to_numpy(dtype=float)
    sections = [
        _verdict(summary),
        section(
            "Realized against promised",
            table_html(_against_promised(summary)),
            figure_html(realized_vs_promised_chart(summary), "realized against promised"),
        ),
        section(
            "Conversion by tier and by score decile",
            table_html(pd.DataFrame([{"tier": t, **v} for t, v in summary["tiers"].items()])),
            figure_html(conversion_by_tier_chart(summary["tiers"]), "conversion by tier"),
            figure_html(conversion_by_decile_chart(deciles), "conversion by decile"),
        ),
    ]
    if len(np.unique(y)) == 2:
        sections.append(
            section(
                "Reliability and lift",
                figure_html(reliability_diagram(y, {"model": p}), "reliability"),
                figure_html(lift_gain_chart(y, {"model": p}), "lift and gain"),
            )
        )
    lowest = ranked[ranked["converted"] == 1].sort_values("rank", ascending=False)
    lowest = lowest.head(LOWEST_CONVERTED)[
        [c for c in ("rank", "lead_id", "p_hard", "tier", "top_reasons") if c in lowest]
    ]
    sections += [
        section(
            "Converted leads the scores ranked lowest, with their reasons then",
            table_html(lowest.assign(rank=lowest["rank"].astype(int)))
            if len(lowest)
            else paragraph("No ranked lead converted."),
        ),
        section("Drift since training", paragraph(_drift_words(summary.get("score_psi")))),
    ]
    title = f"How the scores of {summary['as_of']} turned out"
    return page(title, f"{summary['model_version']}", sections)


def _verdict(summary: dict[str, Any]) -> str:
    if summary["window_complete"]:
        window = (
            f"The window is complete: {summary['elapsed_days']:.1f} days of outcomes seen, "
            f"the horizon is {duration(summary['horizon_days'])}."
        )
    else:
        window = (
            f"PARTIAL: only {summary['elapsed_days']:.1f} days of the horizon's "
            f"{duration(summary['horizon_days'])} have passed; every figure below will still "
            "change."
        )
    leads, converted = summary["n_leads"], summary["n_converted"]
    return section(
        "Verdict",
        paragraph(window, "" if summary["window_complete"] else "partial"),
        paragraph(
            f"{leads:,} ranked leads, {converted:,} converted "
            f"({converted / max(leads, 1):.1%}); {summary['n_scored'] - leads:,} more were "
            "scored but not ranked (converted or closed at scoring time)."
        ),
    )


def _against_promised(summary: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for metric in MONITORED:
        low, high = summary["intervals"].get(metric, (np.nan, np.nan))
        rows.append(
            {
                "metric": metric,
                "realized": summary.get(metric, np.nan),
                "90% interval": "" if low != low else f"{low:.4f} to {high:.4f}",
                "promised (training, out of time)": summary["promised"].get(metric, np.nan),
            }
        )
    return pd.DataFrame(rows)


def _drift_words(score_psi: float | None) -> str:
    if score_psi is None:
        return "no drift reference in the model"
    verdict = (
        "stable"
        if score_psi < 0.1
        else "moderate shift"
        if score_psi < 0.25
        else "significant shift: retrain?"
    )
    return f"score distribution against training: PSI {score_psi:.3f} ({verdict})"
