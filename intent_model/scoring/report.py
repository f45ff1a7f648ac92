"""The scoring report: one self-contained page per scoring run, for the people who act on it."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from intent_model.modeling.evaluate import TIER_NAMES
from intent_model.modeling.plots import TIER_COLORS
from intent_model.modeling.report import figure_html, page, paragraph, section, table_html
from intent_model.scoring.loaded import LoadedModel
from intent_model.scoring.result import PredictionResult

TOP_LEADS = 25
CARD_METRICS = ("roc_auc", "average_precision", "brier", "ece", "lift_top10pct")


def score_distribution_chart(scores: pd.DataFrame) -> Figure:
    """Leads per tier, and the distribution of the ranked leads' scores."""
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    tiers_axis, score_axis = figure.subplots(1, 2)
    tiers = scores["tier"].value_counts().reindex(list(TIER_NAMES), fill_value=0)
    tiers_axis.bar(tiers.index, tiers.to_numpy(), color=list(TIER_COLORS))
    tiers_axis.set(title="Leads per tier", xlabel="tier", ylabel="leads")
    ranked = scores[scores["rank"].notna()]
    score_axis.hist(ranked["score"], bins=50, color="#1f77b4")
    score_axis.set(title="Scores of the ranked leads", xlabel="score (0-100)", ylabel="leads")
    return figure


def scoring_report(result: PredictionResult, loaded: LoadedModel) -> str:
    """The page: what was scored, tiers, the top leads with their reasons and next action,
    drift against training, and the model's own out-of-time figures."""
    scores = result.scores
    top = scores[scores["rank"].notna()].head(TOP_LEADS)
    top = top[["rank", "lead_id", "p_hard", "tier", "intent", "top_reasons", "next_action"]]
    metrics = loaded.metadata.get("metrics", {})
    card = pd.DataFrame(
        [
            {"model": kind, **{m: values.get(m, float("nan")) for m in CARD_METRICS}}
            for kind, values in metrics.items()
        ]
    )
    sections = [
        section(
            "This run",
            *(paragraph(line.strip()) for line in result.summary().splitlines()[:4]),
            figure_html(score_distribution_chart(scores), "leads per tier and scores"),
        ),
        section(
            f"The {len(top)} best-ranked leads",
            table_html(top.assign(rank=top["rank"].astype(int))),
        ),
    ]
    if result.drift is not None and len(result.drift):
        sections.append(section("Drift against the training data (PSI)", table_html(result.drift)))
    if len(card):
        sections.append(
            section(
                "The model's figures (training, out of time)",
                table_html(card),
                paragraph(f"model {result.model_version}; scored as of {result.as_of}", "note"),
            )
        )
    return page(f"Scores as of {result.as_of}", result.model_version, sections)
