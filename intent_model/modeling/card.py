"""The model card: what the model predicts, from what data, how well, and where it falls short."""

from __future__ import annotations

from typing import Any

import pandas as pd

from intent_model.modeling.plots import LABELS

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
    data = metadata["training_data"]
    config = metadata["config"]
    table = metrics_table(metrics).rename(index=LABELS)
    tiers = metadata["tier_bounds"]
    capacity = config["training"]["sales_capacity"]
    lines = [
        "# Model card: lead intent",
        "",
        "## What it predicts",
        f"The probability `p_hard` that a lead makes a **hard conversion** (purchase, demo "
        f"request, trial, contact form, sales call, quote, ...) within the next "
        f"**{config['labels']['horizon_days']} days**, from its engagement history and the "
        "profile information it has given up to the scoring time. Scores are calibrated "
        f"probabilities ({metadata['calibration']} calibration on out-of-fold predictions).",
        "",
        f"- `intent = hard` when `p_hard >= {metadata['threshold']:.4f}` "
        "(the threshold that maximised F1 on validation data)",
        f"- tiers: A `p_hard >= {tiers['A']:.4f}`, B `>= {tiers['B']:.4f}`, "
        f"C `>= {tiers['C']:.4f}`, D below (validation shares "
        f"{', '.join(f'{s:.0%}' for s in config['training']['tier_shares'])})",
        "",
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
        "## Quality, out of time, with baselines",
        f"Held-out cutoffs only; capacity = the {capacity} best-scored leads per cutoff.",
        "",
        table.round(4).to_string(),
        "",
        "### The model per held-out cutoff",
        "",
        per_cutoff.assign(cutoff=pd.to_datetime(per_cutoff["cutoff"]).dt.date)[
            [c for c in PER_CUTOFF_COLUMNS if c in per_cutoff.columns]
        ]
        .round(4)
        .to_string(index=False),
        "",
        "### Feature importance by family (drop in average precision when shuffled)",
        "",
        importance.round(4).to_string(index=False),
        "",
        "## Limits",
        "- Trained on the history it was given: a change in tracking, campaigns or sales "
        "process changes what the signals mean. Retrain and compare on fresh cutoffs.",
        "- Out-of-time metrics are measured on the latest cutoffs; later periods may differ.",
        "- Profile fields without a `<field>_provided_at` column count as given since the "
        "lead was created, which can flatter the information features.",
        "- A score is a probability for the horizon, not a promise: use tiers to set sales "
        "priorities, and the points-rule baseline to explain the gain to the team.",
        "",
        f"Versions: {metadata['versions']}",
        f"MLflow run: {metadata.get('mlflow', {}).get('run_id')}",
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
    tiers = metadata["tier_bounds"]
    table = metrics_table(metrics).rename(index=LABELS)
    left_out = checks[checks["left_out"]]
    kept = checks[checks["kept"]]
    lines = [
        "# Model card: lead intent from a CRM table",
        "",
        "## What it predicts",
        f"The probability `p_hard` that a lead converts (label column "
        f"`{metadata['label_col']}` of the training table), from the columns of one row per "
        "lead: summed-up engagement, form answers, dates. Scores are calibrated probabilities "
        f"({metadata['calibration']} calibration on out-of-fold predictions).",
        "",
        f"- `intent = hard` when `p_hard >= {metadata['threshold']:.4f}` "
        "(the threshold that maximised F1 on validation data)",
        f"- tiers: A `p_hard >= {tiers['A']:.4f}`, B `>= {tiers['B']:.4f}`, "
        f"C `>= {tiers['C']:.4f}`, D below",
        "",
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
        "## Columns written after the outcome",
        "",
    ]
    if len(left_out):
        lines.append("Left out (they reveal the outcome; kept only with `--keep-column`):")
        lines += [f"- `{r.column}`: {r.evidence}" for r in left_out.itertuples(index=False)]
    else:
        lines.append("No column was left out.")
    if len(kept):
        lines.append("")
        lines.append("Flagged but KEPT on request (`--keep-column`): read the metrics with care:")
        lines += [f"- `{r.column}`: {r.evidence}" for r in kept.itertuples(index=False)]
    lines += [
        "",
        checks[
            [
                "column",
                "role",
                "single_column_auc",
                "others_auc",
                "drop_cost",
                "flagged",
                "left_out",
            ]
        ]
        .round(4)
        .to_string(index=False),
        "",
        "## Quality, with baselines",
        "",
        table.round(4).to_string(),
        "",
    ]
    if len(left_out):
        lines += [
            f"The row `{LABELS['with_left_out_columns']}` is the same gradient boosting trained "
            "with the left-out columns: the figure a tool that did not check would have shown, "
            "and that nobody would see in production.",
            "",
        ]
    lines += [f"**WARNING:** {w}" for w in metadata.get("warnings", [])]
    lines += [
        "### Importance by column (drop in average precision when shuffled)",
        "",
        importance.round(4).to_string(index=False),
        "",
        "## Limits",
        "- A CRM export is one snapshot: engagement summed up to the export includes activity "
        "after a conversion, which flatters every column a little. An event log with "
        "point-in-time snapshots (the event mode) avoids it.",
        "- The post-outcome checks catch typical names, values and columns that predict too "
        "well alone; a leak spread over several weak columns can pass them.",
        "- Scores are probabilities, not promises; use the tiers to set sales priorities.",
        "",
        f"Versions: {metadata['versions']}",
        f"MLflow run: {metadata.get('mlflow', {}).get('run_id')}",
    ]
    return "\n".join(lines) + "\n"
