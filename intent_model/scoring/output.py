"""The output contract: scores, tiers, reasons and next steps, as every score file holds them.

``lead_id, as_of, p_hard, intent, score, tier, rank, top_reasons,
next_action, model_version, scored_from`` (see ``docs/contracts.md``), plus
``trend`` when the previous run's output is given. Batch scoring, the Spark
engine and the MLflow pyfunc all build their rows here, so they agree.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from intent_model.errors import InputError
from intent_model.events.families import count_name
from intent_model.events.features import FeatureSpec
from intent_model.io.config import Config
from intent_model.io.database import shown_source
from intent_model.io.files import read_table
from intent_model.modeling.evaluate import TIER_NAMES
from intent_model.modeling.model import IntentModel
from intent_model.names import OUTPUT_COLUMNS
from intent_model.runtime import StageTimes
from intent_model.scoring.explain import explain, reason_texts
from intent_model.scoring.population import CONVERTED, OPEN

# Rows explained at once (their contributions are rows x features float64).
REASON_BLOCK_ROWS = 16_384


def score_features(
    model: IntentModel,
    features: pd.DataFrame,
    spec: FeatureSpec | None,
    config: Config,
    times: StageTimes | None = None,
    **wording: Callable,
) -> pd.DataFrame:
    """``p_hard, intent, score, tier, top_reasons, next_action`` for a features table.

    The MLflow pyfunc model and batch scoring both call this, so they agree.
    ``wording`` (``concept``, ``text``) words the reasons of a table model
    (see :func:`intent_model.scoring.explain.top_drivers`); ``times`` gets the
    seconds of the ``scores`` and ``reasons`` stages.
    """
    times = times or StageTimes()
    with times.stage("scores"):
        scored = model.score(features)
    # Reasons block by block: the per-feature contributions of a whole chunk of leads
    # would be its largest table by far, and the texts need only a block at a time.
    blocks = [
        features.iloc[start : start + REASON_BLOCK_ROWS]
        for start in range(0, len(features), REASON_BLOCK_ROWS)
    ] or [features]
    with times.stage("reasons"):
        reasons = _reasons(blocks, model, spec, config, wording)
    return scored.assign(
        top_reasons=reasons.to_numpy(),
        next_action=next_actions(scored["intent"], scored["tier"], config),
    )


def _reasons(blocks, model, spec, config, wording) -> pd.Series:
    """The reason texts of every block of rows, in order."""
    return pd.concat(
        [
            reason_texts(
                block,
                explain(model, block),
                spec,
                config.predict.positive_reasons,
                config.predict.negative_reasons,
                **_rows_of(wording, start=i * REASON_BLOCK_ROWS),
            )
            for i, block in enumerate(blocks)
        ]
    )


def _rows_of(wording: dict, start: int) -> dict:
    """The wording callbacks with row positions counted from ``start`` (they take the
    position of the row in the whole table)."""
    text = wording.get("text")
    if text is None or start == 0:
        return wording
    return {**wording, "text": lambda row, feature, value: text(row + start, feature, value)}


def event_lead_scores(
    model: IntentModel,
    features: pd.DataFrame,
    spec: FeatureSpec,
    config: Config,
    times: StageTimes | None = None,
) -> pd.DataFrame:
    """Scores of event features indexed by lead: ``lead_id`` first, ``scored_from``, and
    the two columns the scoring population is decided from (dropped by :func:`output_rows`)."""
    scored = score_features(model, features, spec, config, times).reset_index(drop=True)
    scored.insert(0, "lead_id", features.index.astype(str))
    scored["scored_from"] = np.where(
        features[count_name("events", "all")].to_numpy() > 0, "events", "profile only"
    )
    # Who is ranked is decided from these once every chunk is scored; output_rows drops them.
    scored["_days_since_last_hard"] = features["days_since_last_hard"].to_numpy()
    scored["_n_events"] = features[count_name("events", "all")].to_numpy()
    return scored


def next_actions(intent: pd.Series, tier: pd.Series, config: Config) -> np.ndarray:
    """The playbook's next step for each lead: urgent for hard intent in tier A."""
    playbook = config.playbook
    hard = intent.to_numpy() == "hard"
    urgent = hard & (tier.to_numpy() == TIER_NAMES[0])
    return np.where(urgent, playbook.hard_urgent, np.where(hard, playbook.hard, playbook.soft))


def add_rank(scores: pd.DataFrame) -> pd.DataFrame:
    """Add ``rank`` (1 = highest p_hard; ties broken by lead id, so ranks are stable).

    Rows keep their order.
    """
    tie_break = scores["lead_id"] if "lead_id" in scores else pd.Series(np.arange(len(scores)))
    order = np.lexsort((tie_break.astype(str).to_numpy(), -scores["p_hard"].to_numpy()))
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(1, len(scores) + 1)
    return scores.assign(rank=rank)


def settle_status(scored: pd.DataFrame, status: np.ndarray, config: Config) -> pd.DataFrame:
    """Leads that are not open take their status as intent, no tier, and the playbook's
    step for converted or closed leads."""
    done = status != OPEN
    settled = scored.copy()
    settled.loc[done, "intent"] = status[done]
    settled.loc[done, "tier"] = None
    settled.loc[done, "next_action"] = np.where(
        status[done] == CONVERTED, config.playbook.converted, config.playbook.closed
    )
    return settled


def output_rows(
    scored: pd.DataFrame,
    status: np.ndarray,
    as_of: pd.Timestamp,
    model_version: str,
    config: Config,
    previous: str | Path | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The output contract: open leads ranked best first, the others after them (not
    ranked, no tier, their own next action), with the trend when ``previous`` is given.

    The one place a score file's rows are assembled, for event and table models alike.
    """
    is_open = status == OPEN
    scored = settle_status(scored, status, config)
    ranked = add_rank(scored.loc[is_open]).sort_values("rank")
    others = scored.loc[~is_open].assign(rank=pd.NA)
    others = others.sort_values(["p_hard", "lead_id"], ascending=[False, True])
    scores = pd.concat([ranked, others], ignore_index=True)
    scores["rank"] = scores["rank"].astype("Int64")
    scores.insert(1, "as_of", as_of)
    scores["model_version"] = model_version
    scores = scores[list(OUTPUT_COLUMNS)]
    if previous is not None:
        earlier = previous_scores(previous, config.columns.lead_id)
        scores["trend"] = trend(scores, earlier, config.predict.trend_points)
    return scores


def trend(scores: pd.DataFrame, previous: pd.DataFrame, points: int) -> np.ndarray:
    """rising / steady / falling against the previous run's score, or new."""
    before = previous.drop_duplicates("lead_id").set_index("lead_id")["score"]
    earlier = before.reindex(scores["lead_id"].astype(str)).to_numpy(dtype=float)
    change = scores["score"].to_numpy(dtype=float) - earlier
    return np.select(
        [np.isnan(earlier), change >= points, change <= -points],
        ["new", "rising", "falling"],
        default="steady",
    )


def output_id_column(config: Config) -> str:
    """The lead id column's name in a score file: the user's, when they mapped one (their
    CRM imports the file by it), unless it is the name of another column of the output."""
    theirs = config.columns.lead_id
    if theirs == "lead_id":
        return theirs
    if theirs in (*OUTPUT_COLUMNS, "trend", "run_id"):
        warnings.warn(
            f"the scores name the lead id column lead_id, not {theirs!r}: that is the name of "
            "another column of the output",
            UserWarning,
            stacklevel=4,
        )
        return "lead_id"
    return theirs


def previous_scores(
    previous: str | Path | pd.DataFrame, id_column: str = "lead_id"
) -> pd.DataFrame:
    frame = previous if isinstance(previous, pd.DataFrame) else read_table(previous)
    if "lead_id" not in frame.columns and id_column in frame.columns:
        frame = frame.rename(columns={id_column: "lead_id"})
    missing = [c for c in ("lead_id", "score") if c not in frame.columns]
    if missing:
        name = "<DataFrame>" if isinstance(previous, pd.DataFrame) else shown_source(previous)
        raise InputError(
            f"{name}: the previous scores need column(s) {', '.join(missing)} "
            "(an earlier predict output)"
        )
    return frame.assign(lead_id=frame["lead_id"].astype(str))
