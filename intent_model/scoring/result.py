"""What a scoring run returns and writes, for event and table models alike: the scores,
the account of the run, its summary, and the checks that no lead is lost."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from intent_model.errors import ModelError
from intent_model.events.taxonomy import describe_unknown
from intent_model.io.database import is_database_url
from intent_model.io.files import write_table
from intent_model.io.validate import CheckedTable
from intent_model.modeling.drift import SIGNIFICANT_PSI, UNKNOWN_TYPE_SHARE_WARNING, DriftWarning
from intent_model.modeling.evaluate import TIER_NAMES
from intent_model.runtime import StageTimes


@dataclass
class PredictionResult:
    """Scores of every lead, and the account of the run."""

    scores: pd.DataFrame
    as_of: pd.Timestamp
    model_version: str
    n_leads_in: int
    accounting: list[str]
    unknown_types: pd.DataFrame
    n_duplicate_events: int = 0
    n_events_at_or_after_as_of: int = 0
    drift: pd.DataFrame | None = None
    unknown_type_share: float = 0.0
    out: Path | str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    population: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # The lead id column's name in the file written: the user's, when they mapped one.
    id_column: str = "lead_id"

    def summary(self) -> str:
        scores = self.scores
        tiers = scores["tier"].value_counts().reindex(list(TIER_NAMES), fill_value=0)
        intents = scores["intent"].value_counts()
        others = list(intents.index.difference(["hard", "soft"]))
        intents = intents.reindex(["hard", "soft", *others], fill_value=0)
        from_profile = int((scores["scored_from"] == "profile only").sum())
        from_table = bool((scores["scored_from"] == "table").all())
        lines = [
            f"Scored {len(scores):,} leads ({self.n_leads_in:,} in) as of {self.as_of} "
            f"with {self.model_version}.",
            "  intent: " + ", ".join(f"{k} {v:,}" for k, v in intents.items()),
            "  tier:   " + ", ".join(f"{k} {v:,}" for k, v in tiers.items()),
            f"  {from_profile:,} lead(s) had no events before as_of and were scored from "
            "their profile only"
            if not from_table
            else "  scored from the lead table's columns (no events)",
            *[f"  {line}" for line in self.population],
            *[f"  {line}" for line in self.accounting],
        ]
        if self.stage_seconds:
            times = StageTimes()
            times.seconds = dict(self.stage_seconds)
            lines.append(f"  {times.line()}")
        if self.n_events_at_or_after_as_of:
            lines.append(
                f"  {self.n_events_at_or_after_as_of:,} events at or after as_of were not used "
                "(features see only the past)"
            )
        if self.n_duplicate_events:
            lines.append(
                f"  {self.n_duplicate_events:,} duplicated events (same lead, time and type) "
                "kept as events"
            )
        if "trend" in scores:
            counts = scores["trend"].value_counts()
            lines.append("  trend:  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if len(self.unknown_types):
            lines.append(
                "  event types the model's taxonomy does not know (counted as engagement): "
                + describe_unknown(self.unknown_types)
            )
        if self.drift is not None and len(self.drift):
            lines.append("  drift against the training data (PSI; > 0.25 is a significant shift):")
            for row in self.drift.itertuples(index=False):
                worst = (
                    f", worst {row.worst_feature} {row.worst_psi:.3f}" if row.worst_feature else ""
                )
                lines.append(f"    {row.what:<15} {row.psi:.3f} {row.verdict}{worst}")
        if self.out:
            run = f" (run_id {self.run_id})" if is_database_url(str(self.out)) else ""
            lines.append(f"  written to {self.out}{run}")
        return "\n".join(lines)


def write_scores(result: PredictionResult, out: str | Path) -> None:
    """Write the scores, the lead id under the user's name for it; a database table also
    gets the run's id, so that the jobs that read the table can tell one night's run from
    the next."""
    scores = result.scores.rename(columns={"lead_id": result.id_column})
    if is_database_url(out):
        scores = scores.assign(run_id=result.run_id)
    result.out = write_table(scores, out)


def warn_drift(drift: pd.DataFrame | None, unknown_share: float) -> None:
    shifted = (
        drift.loc[drift["psi"] > SIGNIFICANT_PSI, "what"].tolist() if drift is not None else []
    )
    if shifted:
        warnings.warn(
            f"significant drift against the training data (PSI > {SIGNIFICANT_PSI}) in: "
            f"{', '.join(shifted)}; check the inputs, and retrain if the shift is real",
            DriftWarning,
            stacklevel=4,
        )
    if unknown_share > UNKNOWN_TYPE_SHARE_WARNING:
        warnings.warn(
            f"{unknown_share:.1%} of events have types the model's taxonomy does not know "
            f"(more than {UNKNOWN_TYPE_SHARE_WARNING:.0%}); extend the taxonomy and retrain",
            DriftWarning,
            stacklevel=4,
        )


def check_every_lead_scored(
    scores: pd.DataFrame,
    lead_table: CheckedTable | None,
    problems: list[str] | None = None,
    skipped: pd.Index | None = None,
) -> None:
    """No lead id twice, and every lead of the leads table with a score (or skipped as not
    yet created); else nothing is written."""
    problems = list(problems or [])
    ids = scores["lead_id"]
    if ids.duplicated().any():
        problems.append(f"{int(ids.duplicated().sum()):,} lead ids scored twice")
    if lead_table is not None:
        expected = lead_table.frame["lead_id"].astype(str)
        if skipped is not None and len(skipped):
            expected = expected[~expected.isin(skipped)]
        absent = ~expected.isin(ids)
        if absent.any():
            problems.append(f"{int(absent.sum()):,} leads of the leads table have no score")
    if problems:
        raise ModelError("refusing to write scores: " + "; ".join(problems))
