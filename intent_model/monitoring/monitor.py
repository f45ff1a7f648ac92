"""``intent_model.monitor``: how a past scoring run turned out, measured, logged and shown.

Reads what ``predict`` wrote (a file or a database table), finds each scored
lead's outcome in the events (or a newer export) that followed, measures the
ranking the scores made against what training promised, and writes
``outcomes.parquet``, ``summary.json`` and ``report.html`` into one folder.
A monitoring run is logged to MLflow per ``as_of`` (experiment
``<experiment>-monitoring``), tagged with the model version, so that nights
line up as a trend.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError, InputError
from intent_model.events.log import load_events
from intent_model.io.config import Config, with_columns
from intent_model.io.database import shown_source
from intent_model.io.files import atomic_path, read_table, write_table
from intent_model.io.validate import as_utc
from intent_model.modeling.drift import psi
from intent_model.modeling.pipeline import MAIN_MODEL
from intent_model.modeling.report import write_page
from intent_model.monitoring.outcomes import (
    MONITORED,
    decile_rates,
    event_outcomes,
    realized,
    table_outcomes,
    tier_rates,
)
from intent_model.monitoring.report import monitoring_report
from intent_model.scoring.loaded import LoadedModel, load_model
from intent_model.table.roles import label_values, load_lead_table
from intent_model.words import duration

OUTCOME_COLUMNS = ("converted", "converted_at")


@dataclass
class MonitorResult:
    """A monitoring run: every scored lead's outcome, the summary, where they were written."""

    outcomes: pd.DataFrame
    summary: dict[str, Any]
    out: Path
    run_id: str | None = None
    failed: list[str] = field(default_factory=list)

    def summary_text(self) -> str:
        s = self.summary
        partial = "" if s["window_complete"] else " (PARTIAL: the window is not complete)"
        lines = [
            f"Scores as of {s['as_of']} by {s['model_version']}: {s['n_leads']:,} ranked leads, "
            f"{s['n_converted']:,} converted within {duration(s['horizon_days'])}{partial}; "
            f"{s['elapsed_days']:.1f} days of outcomes seen.",
            "metric              realized (90% interval)       promised",
        ]
        for metric in MONITORED:
            value = s.get(metric, math.nan)
            low, high = s["intervals"].get(metric, (math.nan, math.nan))
            band = f"({low:.4f} to {high:.4f})" if low == low else ""
            promised = s["promised"].get(metric, math.nan)
            lines.append(f"  {metric:<17} {value:8.4f} {band:<22} {promised:8.4f}")
        lines.append(
            "  tiers: "
            + ", ".join(
                f"{tier} {t['converted']:,}/{t['leads']:,}"
                + (f" ({t['rate']:.1%})" if t["leads"] else "")
                for tier, t in s["tiers"].items()
            )
        )
        lines.append(f"  written to {self.out} (report.html, summary.json, outcomes.parquet)")
        if self.run_id:
            lines.append(f"  MLflow monitoring run {self.run_id}")
        lines += [f"  BELOW THE LINE: {f}" for f in self.failed]
        return "\n".join(lines)


def monitor(
    scores: str | Path | pd.DataFrame,
    events: str | Path | pd.DataFrame | None = None,
    leads: str | Path | pd.DataFrame | None = None,
    out: str | Path = "reports/monitoring",
    *,
    model: str | Path | LoadedModel | None = None,
    label_col: str | None = None,
    config: Config | None = None,
    columns: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
    track: bool = True,
    fail_below: Mapping[str, float] | None = None,
) -> MonitorResult:
    """Measure how a past scoring run turned out.

    Parameters
    ----------
    scores : path, database URL or DataFrame
        What ``predict`` wrote (``lead_id``, ``as_of``, ``model_version``,
        ``p_hard``, ``tier``, ``rank``, ...).
    events : path or DataFrame, optional
        The event log since (an event model's outcomes: a hard conversion by the
        model's taxonomy in the model's horizon after ``as_of``).
    leads : path or DataFrame, optional
        A table model's newer export, whose ``label_col`` says who converted since.
    out : path
        The folder for ``outcomes.parquet``, ``summary.json`` and ``report.html``.
    model : path, MLflow URI or LoadedModel, optional
        The model that scored; by default the registry version the scores name.
    label_col : str, optional
        A table model's label column in ``leads`` (default: the model's own).
    fail_below : mapping, optional
        ``{"roc_auc": 0.7}``: the metrics whose realized value must not be lower; the
        result's ``failed`` says which were (the CLI exits non-zero).

    Returns
    -------
    MonitorResult
    """
    config = with_columns(config, columns)
    past = _past_scores(scores, config)
    as_of = as_utc(past["as_of"].iloc[0])
    loaded = _model(model, past, config, tracking_uri)
    info = loaded.info
    if info.is_table_model:
        outcomes, data_end, horizon = _table_outcomes(past, leads, label_col, loaded, config)
    else:
        if events is None:
            raise ConfigError("monitoring an event model needs the events since: --events")
        log = load_events(events, config, loaded.taxonomy)
        hard = log.events[log.events["event_class"] == "hard"]
        horizon = float(info.horizon_days)
        outcomes = event_outcomes(past, hard, as_of, horizon)
        data_end = log.events["timestamp"].max()
    summary = _summary(outcomes, loaded, as_of, data_end, horizon, config)
    failed = _below(summary, fail_below or {})
    out = Path(out)
    write_table(outcomes, out / "outcomes.parquet")
    result = MonitorResult(outcomes, summary, out, failed=failed)
    if track:
        result.run_id = _log_run(summary, loaded, tracking_uri or config.training.tracking_uri)
    _write_json(summary, out / "summary.json")
    write_page(monitoring_report(summary, outcomes, decile_rates(outcomes)), out / "report.html")
    return result


def _past_scores(scores, config: Config) -> pd.DataFrame:
    frame = scores.copy() if isinstance(scores, pd.DataFrame) else read_table(scores)
    name = "<DataFrame>" if isinstance(scores, pd.DataFrame) else shown_source(scores)
    theirs = config.columns.lead_id
    if "lead_id" not in frame.columns and theirs in frame.columns:
        frame = frame.rename(columns={theirs: "lead_id"})
    needed = ["lead_id", "as_of", "model_version", "p_hard", "tier", "rank"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name}: the past scores need column(s) {', '.join(missing)} (what predict writes)"
        )
    as_ofs = pd.to_datetime(frame["as_of"], utc=True).unique()
    if len(as_ofs) != 1:
        raise InputError(f"{name}: one scoring run at a time; it holds {len(as_ofs)} as_of times")
    frame["rank"] = pd.to_numeric(frame["rank"], errors="coerce")
    return frame.assign(lead_id=frame["lead_id"].astype(str)).drop(
        columns=[c for c in OUTCOME_COLUMNS if c in frame.columns]
    )


def _model(model, past: pd.DataFrame, config: Config, tracking_uri: str | None) -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    if model is not None:
        return load_model(model, tracking_uri or config.training.tracking_uri)
    version = str(past["model_version"].iloc[0])
    registered = re.fullmatch(r"(.+) v(\d+)", version)
    if registered is None:
        raise ConfigError(
            f"the scores were made by {version!r}, not a registered version: give the model "
            "that scored them (--model DIR)"
        )
    uri = f"models:/{registered[1]}/{registered[2]}"
    return load_model(uri, tracking_uri or config.training.tracking_uri)


def _table_outcomes(past, leads, label_col, loaded: LoadedModel, config: Config):
    if leads is None:
        raise ConfigError("monitoring a table model needs a newer export: --leads F --label-col C")
    column = label_col or loaded.info.label_col
    table = load_lead_table(leads, config)
    if column not in table.frame.columns:
        raise InputError(f"{table.source}: no label column {column!r} (--label-col)")
    labels = label_values(table.frame[column]).fillna(0).astype(int)
    newer = pd.Series(labels.to_numpy(), index=table.frame["lead_id"].astype(str).to_numpy())
    # A newer export has no event times: the window is complete when the user says it is.
    return table_outcomes(past, newer), pd.NaT, math.nan


def _summary(outcomes, loaded: LoadedModel, as_of, data_end, horizon, config) -> dict[str, Any]:
    metrics, intervals = realized(outcomes, config.training.sales_capacity)
    ranked = outcomes[outcomes["rank"].notna()]
    every = loaded.metadata.get("metrics", {})
    # Models trained before the model row was named "model" called it "gradient_boosting".
    promised_all = every.get(MAIN_MODEL) or every.get("gradient_boosting", {})
    complete = bool(data_end == data_end and data_end >= as_of + pd.Timedelta(days=horizon))
    elapsed = (data_end - as_of) / pd.Timedelta(days=1) if data_end == data_end else math.nan
    summary = {
        "as_of": str(as_of),
        "model_version": str(outcomes["model_version"].iloc[0]),
        "n_scored": int(len(outcomes)),
        "n_leads": int(len(ranked)),
        "n_converted": int(ranked["converted"].sum()),
        "horizon_days": horizon,
        "elapsed_days": float(elapsed),
        "window_complete": complete if horizon == horizon else True,
        **{k: float(v) for k, v in metrics.items() if k != "n"},
        "intervals": {k: [float(a), float(b)] for k, (a, b) in intervals.items()},
        "promised": {k: float(promised_all[k]) for k in MONITORED if k in promised_all},
        "tiers": tier_rates(outcomes),
        "score_psi": _score_drift(ranked, loaded),
    }
    return summary


def _score_drift(ranked: pd.DataFrame, loaded: LoadedModel) -> float | None:
    """PSI of the scores against the training's score distribution."""
    reference = (loaded.info.drift_reference or {}).get("score")
    if not reference or not len(ranked):
        return None
    edges = np.asarray(reference["edges"])
    p = ranked["p_hard"].to_numpy(dtype=float)
    counts = np.bincount(np.searchsorted(edges, p, side="right"), minlength=len(edges) + 1)
    shares = np.append(counts, 0) / len(p)
    return float(psi(np.asarray(reference["shares"]), shares))


def _below(summary: dict, lines: Mapping[str, float]) -> list[str]:
    failed = []
    for metric, line in lines.items():
        if metric not in summary:
            raise ConfigError(
                f"--fail-below {metric}: not a monitored metric; use one of "
                + ", ".join([*MONITORED, "precision_at_capacity"])
            )
        value = summary[metric]
        if not value >= line:
            failed.append(f"{metric} {value:.4f} < {line:g}")
    return failed


def _log_run(summary: dict, loaded: LoadedModel, tracking_uri: str) -> str:
    from intent_model.modeling import tracking

    experiment = f"{loaded.info.registered_model}-monitoring"
    with tracking.training_run(tracking_uri, experiment, f"as of {summary['as_of']}") as run_id:
        tracking.set_tags(
            {
                "model_version": summary["model_version"],
                "as_of": summary["as_of"],
                "window_complete": str(summary["window_complete"]),
            }
        )
        numbers = {k: v for k, v in summary.items() if isinstance(v, int | float) and v is not None}
        numbers |= {f"promised.{k}": v for k, v in summary["promised"].items()}
        numbers |= {f"tier_{t}.rate": v["rate"] for t, v in summary["tiers"].items()}
        tracking.log_metrics({k: float(v) for k, v in numbers.items()})
    return run_id


def _write_json(summary: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n")
