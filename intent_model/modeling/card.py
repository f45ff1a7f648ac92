"""The model card: what the model predicts, from what data, how well, and where it falls short."""

from __future__ import annotations

from typing import Any

import pandas as pd

from intent_model.modeling.plots import LABELS
from intent_model.words import duration

CARD_METRICS = (
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier",
    "ece",
    "precision_top5pct",
    "lift_top5pct",
    "precision_top10pct",
    "lift_top10pct",
    "recall_top20pct",
    "precision_at_capacity",
    "recall_at_capacity",
)
PER_CUTOFF_COLUMNS = (
    "cutoff",
    "n",
    "positive_rate",
    "roc_auc",
    "average_precision",
    "brier",
    "ece",
    "precision_at_capacity",
    "recall_at_capacity",
    "lift_at_capacity",
)


def interval_lines(intervals: dict, n_positive: int, n_cutoffs: int | None = None) -> list[str]:
    """The 90% intervals in words: each model's AUC and AP, and whether the model's lead
    over each baseline is distinguishable from zero; with few positives, a warning."""
    lines = ["90% intervals (resampling the evaluated leads, a lead's rows together):"]
    for kind, bands in intervals.items():
        if kind.endswith("_gain") or not bands.get("roc_auc"):
            continue
        auc, ap = bands["roc_auc"], bands["average_precision"]
        lines.append(
            f"  {kind}: ROC AUC {auc[0]:.4f} to {auc[1]:.4f}, average precision "
            f"{ap[0]:.4f} to {ap[1]:.4f}"
        )
    for kind, bands in intervals.items():
        if not kind.endswith("_gain") or not bands.get("roc_auc"):
            continue
        low, high = bands["roc_auc"]
        verdict = "distinguishable from zero" if low > 0 or high < 0 else "NOT distinguishable"
        lines.append(
            f"  model over {kind.removesuffix('_gain')}: ROC AUC {low:+.4f} to "
            f"{high:+.4f} ({verdict})"
        )
    if n_positive < 300 or n_cutoffs == 1:
        where = "at one held-out cutoff" if n_cutoffs == 1 else "in the evaluation"
        lines.append(
            f"  only {n_positive:,} positive(s) {where}: the figures are uncertain, read "
            "the intervals"
        )
    return lines


def metrics_table(metrics: dict[str, dict[str, float]], counts: bool = False) -> pd.DataFrame:
    """Models as rows, the card's metrics as columns (then ``n`` and ``positive_rate``
    when ``counts``)."""
    table = pd.DataFrame(metrics).T
    shown = [c for c in CARD_METRICS if c in table.columns]
    return table[shown + (["n", "positive_rate"] if counts else [])]


def render_model_card(
    metadata: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    per_cutoff: pd.DataFrame,
    importance: pd.DataFrame,
    report_summary: str,
) -> str:
    """Markdown text of ``model_card.md``."""
    config = metadata["config"]
    what = (
        "The probability `p_hard` that a lead makes a **hard conversion** (purchase, demo "
        "request, trial, contact form, sales call, quote, ...) within the next "
        f"**{duration(config['labels']['horizon_days'])}**, from its engagement history and the "
        "profile information it has given up to the scoring time."
    )
    shares = ", ".join(f"{s:.0%}" for s in config["training"]["tier_shares"])
    lines = [
        "# Model card: lead intent",
        "",
        *_predicts(metadata, what, f" (validation shares {shares})"),
        *_event_data(metadata["training_data"], report_summary),
        *_event_quality(metrics, per_cutoff, importance, config["training"]["sales_capacity"]),
        *interval_lines(
            metadata.get("intervals", {}),
            int(
                metrics.get("model", {}).get("positive_rate", 0)
                * metrics.get("model", {}).get("n", 0)
            ),
            len(metadata["training_data"]["holdout_cutoffs"]),
        ),
        "",
        *_model_choices(metadata.get("model_choices")),
        "## Limits",
        "- Trained on the history it was given: a change in tracking, campaigns or sales "
        "process changes what the signals mean. Retrain and compare on fresh cutoffs.",
        "- Out-of-time metrics are measured on the latest cutoffs; later periods may differ.",
        "- Profile fields without a `<field>_provided_at` column count as given since the "
        "lead was created, which can flatter the information features.",
        "- A score is a probability for the horizon, not a promise: use tiers to set sales "
        "priorities, and the points-rule baseline to explain the gain to the team.",
        "",
        *_footer(metadata),
    ]
    return "\n".join(lines) + "\n"


def render_table_card(
    metadata: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    importance: pd.DataFrame,
    roles: pd.DataFrame,
    checks: pd.DataFrame,
    placeholders: pd.DataFrame,
) -> str:
    """Markdown text of ``model_card.md`` for a model trained on a CRM table."""
    data = metadata["training_data"]
    what = (
        f"The probability `p_hard` that a lead converts (label column "
        f"`{metadata['label_col']}` of the training table), from the columns of one row per "
        "lead: summed-up engagement, form answers, dates."
    )
    lines = [
        "# Model card: lead intent from a CRM table",
        "",
        *_predicts(metadata, what, ""),
        "## Data",
        f"- {data['accounting']}",
        f"- {data['n_leads']:,} leads, {data['n_positive']:,} converted",
        f"- evaluation: {metadata['evaluation']['description']}",
        "",
        "### Column roles",
        "",
        roles[["column", "role", "n_given", "n_distinct", "detail"]].to_string(index=False),
        "",
        "### Placeholders counted as not given",
        "",
        placeholders.to_string(index=False) if len(placeholders) else "none found",
        "",
        *_left_out_columns(checks),
        *_table_quality(metrics, checks, metadata.get("warnings", []), importance),
        *interval_lines(
            metadata.get("intervals", {}),
            int(metadata["training_data"].get("n_positive_evaluated", 0)),
        ),
        "",
        "## Limits",
        "- A CRM export is one snapshot: engagement summed up to the export includes activity "
        "after a conversion, which flatters every column a little. An event log with "
        "point-in-time snapshots (the event mode) avoids it.",
        "- The post-outcome checks catch typical names, values and columns that predict too "
        "well alone; a leak spread over several weak columns can pass them.",
        "- Scores are probabilities, not promises; use the tiers to set sales priorities.",
        "",
        *_footer(metadata),
    ]
    return "\n".join(lines) + "\n"


def _predicts(metadata: dict[str, Any], what: str, tier_note: str) -> list[str]:
    tiers = metadata["tier_bounds"]
    return [
        "## What it predicts",
        f"{what} Scores are calibrated probabilities ({metadata['calibration']} calibration "
        "on out-of-fold predictions).",
        "",
        f"- `intent = hard` when `p_hard >= {metadata['threshold']:.4f}` "
        "(the threshold that maximised F1 on validation data)",
        f"- tiers: A `p_hard >= {tiers['A']:.4f}`, B `>= {tiers['B']:.4f}`, "
        f"C `>= {tiers['C']:.4f}`, D below{tier_note}",
        "",
    ]


def _event_data(data: dict[str, Any], report_summary: str) -> list[str]:
    return [
        "## Data",
        f"- events from {data['first_event']} to {data['last_event']}",
        f"- {data['n_snapshots']:,} snapshots (lead x cutoff), {data['n_positive']:,} positive",
        f"- development cutoffs: {', '.join(data['development_cutoffs'])}",
        f"- held-out (out-of-time) cutoffs: {', '.join(data['holdout_cutoffs'])}",
        "",
        "```",
        report_summary,
        "```",
        "",
    ]


def _event_quality(
    metrics: dict, per_cutoff: pd.DataFrame, importance: pd.DataFrame, capacity: int
) -> list[str]:
    shown = [c for c in PER_CUTOFF_COLUMNS if c in per_cutoff.columns]
    per_cutoff = per_cutoff.assign(cutoff=pd.to_datetime(per_cutoff["cutoff"]).dt.date)[shown]
    return [
        "## Quality, out of time, with baselines",
        f"Held-out cutoffs only; capacity = the {capacity} best-scored leads per cutoff.",
        "",
        metrics_table(metrics).rename(index=LABELS).round(4).to_string(),
        "",
        "### The model per held-out cutoff",
        "",
        per_cutoff.round(4).to_string(index=False),
        "",
        "### Feature importance by family (drop in average precision when shuffled)",
        "",
        importance.round(4).to_string(index=False),
        "",
    ]


def _model_choices(choices: dict[str, Any] | None) -> list[str]:
    """The candidates, the one selected and the monotone constraint's fate, with evidence."""
    if not choices:
        return []
    constraint = choices["monotone_constraint"]
    with_, without = constraint["best_with"], constraint["best_without"]
    if with_ is None:
        verdict = "No hard-conversion count to constrain: every candidate is free."
    else:
        verdict = (
            f'The constraint "more hard conversions never lower the score" was '
            f"**{'kept' if constraint['kept'] else 'dropped'}**: best out-of-fold average "
            f"precision {with_:.4f} with it, {without:.4f} without it. It is an assumption, "
            "not a fact: leads who already bought may rarely convert again soon."
        )
    rows = pd.DataFrame(
        [
            {
                "candidate": c.get("name", c["candidate"]),
                "parameters": ", ".join(f"{k}={v}" for k, v in c["parameters"].items()),
                "trees chosen": c.get("trees") or "",
                "average_precision": round(c["average_precision"], 4),
                "90% interval": _band(c.get("average_precision_interval")),
                "behind the best": _band(c.get("behind_the_best"), signed=True),
                "selected": "yes" if c["selected"] else "",
            }
            for c in choices["candidates"]
        ]
    )
    return [
        "## Model choices",
        f"Chosen by the {choices['rule']}.",
        "",
        verdict,
        "",
        rows.to_string(index=False),
        "",
    ]


def _band(values, signed: bool = False) -> str:
    if not values:
        return ""
    low, high = values
    return f"{low:+.4f} to {high:+.4f}" if signed else f"{low:.4f} to {high:.4f}"


def _left_out_columns(checks: pd.DataFrame) -> list[str]:
    left_out, kept = checks[checks["left_out"]], checks[checks["kept"]]
    lines = ["## Columns written after the outcome", ""]
    if len(left_out):
        lines.append("Left out (they reveal the outcome; kept only with `--keep-column`):")
        lines += [f"- `{r.column}`: {r.evidence}" for r in left_out.itertuples(index=False)]
    else:
        lines.append("No column was left out.")
    if len(kept):
        lines.append("")
        lines.append("Flagged but KEPT on request (`--keep-column`): read the metrics with care:")
        lines += [f"- `{r.column}`: {r.evidence}" for r in kept.itertuples(index=False)]
    suspected = checks[checks["suspected"]]
    if len(suspected):
        lines.append("")
        lines.append(
            "Suspected and KEPT: each carries the model, as a column measured during the "
            "contact that decided the outcome would, and as a strong honest column does; the "
            "rows `without_<column>` below show the model without each. Leave one out with "
            '`[columns.roles] "<column>" = "ignore"`:'
        )
        lines += [f"- `{r.column}`: {r.evidence}" for r in suspected.itertuples(index=False)]
    columns = ["column", "role", "single_column_auc", "others_auc", "drop_cost", "one_class"]
    shown = checks[[*columns, "left_out", "suspected"]].round(4)
    return [*lines, "", shown.to_string(index=False), ""]


def _table_quality(
    metrics: dict, checks: pd.DataFrame, warnings: list[str], importance: pd.DataFrame
) -> list[str]:
    lines = [
        "## Quality, with baselines",
        "",
        metrics_table(metrics).rename(index=LABELS).round(4).to_string(),
        "",
    ]
    if checks["left_out"].any():
        lines += [
            f"The row `{LABELS['with_left_out_columns']}` is the same gradient boosting trained "
            "with the left-out columns: the figure a tool that did not check would have shown, "
            "and that nobody would see in production.",
            "",
        ]
    return [
        *lines,
        *(f"**WARNING:** {w}" for w in warnings),
        "### Importance by column (drop in average precision when shuffled)",
        "",
        importance.round(4).to_string(index=False),
        "",
    ]


def _footer(metadata: dict[str, Any]) -> list[str]:
    return [
        f"Versions: {metadata['versions']}",
        f"MLflow run: {metadata.get('mlflow', {}).get('run_id')}",
    ]
