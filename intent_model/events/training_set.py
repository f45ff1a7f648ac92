"""The feature-table API notebooks and the CLI use: inputs in, (X, y, keys) out, chunk by chunk.

:func:`build_training_set` turns an event log (and optionally a leads table)
into point-in-time training snapshots; :func:`build_features` computes the
same features for every lead as of one moment, for scoring. Both accept
DataFrames or file paths, stream a large Parquet log by lead (see
:func:`intent_model.events.log.open_events`), and call the pure functions of
:mod:`intent_model.events.labels` and :mod:`intent_model.events.features` on each chunk.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError
from intent_model.events.chunks import EventChunks, lead_chunk, open_events
from intent_model.events.features import (
    FeatureSpec,
    add_account_features,
    compute_features,
    lead_rows,
)
from intent_model.events.guards import check_sufficiency, leakage_alarm, outcome_like_columns
from intent_model.events.inputs import (
    EventsInput,
    LeadsInput,
    Progress,
    account_map,
    chunk_pairs,
    feature_spec_for,
    lead_table_of,
    profile_placeholders,
    quarantine_files,
)
from intent_model.events.labels import (
    Cadence,
    choose_cadence,
    crm_labels,
    keep_by_population_rules,
    label_rate_per_cutoff,
    label_snapshots,
    make_cutoffs,
    population,
)
from intent_model.events.log import count_duplicate_events
from intent_model.events.taxonomy import Taxonomy, describe_unknown, load_taxonomy
from intent_model.io.config import Config
from intent_model.io.validate import CheckedTable
from intent_model.table.checks import check_columns, describe_checks, out_of_fold_score


@dataclass
class TrainingReport:
    """What went into a training set, and what to worry about."""

    events_accounting: str
    leads_accounting: str | None
    first_event: pd.Timestamp
    last_event: pd.Timestamp
    quarantine_files: list[Path]
    unknown_types: pd.DataFrame
    label_rates: pd.DataFrame
    leakage: pd.DataFrame
    outcome_like_columns: list[str]
    warnings: list[str] = field(default_factory=list)
    n_duplicate_events: int = 0
    placeholders: pd.DataFrame | None = None
    # The post-outcome checks of the leads table's other columns (they join the features).
    table_checks: pd.DataFrame | None = None
    # How the cutoffs were spaced (None in CRM label mode: the table's labels are used).
    cadence: Cadence | None = None

    def summary(self) -> str:
        """A few lines for a terminal or a model card."""
        lines = [self.events_accounting]
        if self.leads_accounting:
            lines.append(self.leads_accounting)
        lines.extend(f"rejected rows and their reasons: {path}" for path in self.quarantine_files)
        if self.placeholders is not None and len(self.placeholders):
            lines.append(
                "placeholders and blanks counted as not given: "
                + ", ".join(
                    f"{row.column}={row.value!r} ({row.n_cells:,})"
                    for row in self.placeholders.itertuples(index=False)
                )
            )
        if self.n_duplicate_events:
            lines.append(
                f"{self.n_duplicate_events:,} duplicated events (same lead, time and type) kept "
                "as events; remove them at the source if the tracker fires twice"
            )
        if self.cadence is not None:
            lines.append(self.cadence.describe())
        rates = self.label_rates
        if len(rates):
            lines.append(
                f"{int(rates['n_snapshots'].sum()):,} snapshots at {len(rates)} cutoffs, "
                f"{int(rates['n_positive'].sum()):,} positive "
                f"({rates['n_positive'].sum() / rates['n_snapshots'].sum():.1%}); "
                f"label rate per cutoff {rates['label_rate'].min():.1%}"
                f"-{rates['label_rate'].max():.1%}"
            )
        if len(self.unknown_types):
            lines.append(
                "event types not in the taxonomy (counted as engagement): "
                + describe_unknown(self.unknown_types)
            )
        if self.outcome_like_columns:
            lines.append(
                "never used as features (look like CRM outcomes): "
                + ", ".join(self.outcome_like_columns)
            )
        if self.table_checks is not None and len(self.table_checks):
            used = self.table_checks.loc[~self.table_checks["left_out"], "column"]
            lines.append("leads-table columns used as features: " + (", ".join(used) or "none"))
            lines.extend(describe_checks(self.table_checks))
        for _, row in self.leakage.iterrows():
            lines.append(
                f"LEAKAGE ALARM: feature {row['feature']} alone has an out-of-time AUC of "
                f"{row['auc_out_of_time']:.3f}; check that it cannot see the outcome"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


@dataclass
class TrainingSet:
    """Training snapshots: features ``X``, labels ``y``, and ``keys`` (lead_id, cutoff).

    Unpacks as ``X, y, keys = build_training_set(...)``.
    """

    X: pd.DataFrame
    y: pd.Series
    keys: pd.DataFrame
    spec: FeatureSpec
    report: TrainingReport

    def __iter__(self) -> Iterator:
        return iter((self.X, self.y, self.keys))


def build_training_set(
    events: EventsInput,
    leads: LeadsInput = None,
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    spec: FeatureSpec | None = None,
    check: bool = True,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
) -> TrainingSet:
    """Point-in-time training snapshots from an event log.

    Parameters
    ----------
    events : path, DataFrame or EventLog
        The event log (see the input contract in ``docs/contracts.md``).
    leads : path, DataFrame or CheckedTable, optional
        Profile table; with ``config.labels.label_col`` set, labels come from
        it (CRM label mode) instead of from hard events.
    config : Config, optional
    taxonomy : Taxonomy, optional
    spec : FeatureSpec, optional
        The features to build (e.g. a registered model's); by default the
        config, taxonomy and leads columns decide.
    check : bool
        Run the data-sufficiency guard (raises :class:`InputError`).
    workdir : path, optional
        Where to spill chunks of a large Parquet log (default: a temp dir).
    progress : callable, optional
        Called with a short message as each chunk is done.

    Returns
    -------
    TrainingSet
        Rows sorted by cutoff, then lead id; ``X`` is float32.

    Examples
    --------
    >>> from intent_model.simulate.funnel import simulate_funnel
    >>> from intent_model.io.config import Config, GuardConfig
    >>> demo = simulate_funnel(n_leads=300, seed=1, n_days=200)
    >>> X, y, keys = build_training_set(demo.events, demo.leads,
    ...     Config(guards=GuardConfig(min_positives=1, min_negatives=1)))
    >>> len(X) == len(y) == len(keys)
    True
    """
    config = config or Config()
    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="intent-model-") as tmp:
        chunks = open_events(events, config, taxonomy, tmp)
        lead_table = lead_table_of(leads, config)
        # Table columns are checked for post-outcome leaks only when the spec is made here.
        fitted_here = spec is None
        spec = spec or feature_spec_for(config, taxonomy, lead_table, notes)
        cadence = None
        if not config.labels.label_col:
            cadence = choose_cadence(
                chunks.timeline,
                chunks.first_timestamp,
                chunks.last_timestamp,
                config.labels,
                config.training.holdout_cutoffs,
                config.guards.min_cutoffs,
            )
            config = config.replace(labels=cadence.labels(config.labels))
            if progress:
                progress(cadence.describe())
        snapshots_of = _snapshot_labeller(chunks, lead_table, config)
        parts, n_duplicates = [], 0
        for i, chunk_events, chunk_leads in chunk_pairs(chunks, lead_table):
            n_duplicates += count_duplicate_events(chunk_events)
            keys, labels = snapshots_of(i, chunk_events, chunk_leads)
            features = compute_features(chunk_events, keys, spec, chunk_leads)
            parts.append((features.astype(np.float32), labels, keys))
            if progress:
                progress(f"features: chunk {i + 1}/{chunks.n_chunks}, {len(keys):,} snapshots")
    X, y, keys = _concat_sorted(parts, spec)
    X = add_account_features(X, keys, account_map(lead_table), spec)
    leads_frame = lead_table.frame if lead_table is not None else None
    table_checks = None
    if fitted_here:
        X, spec, table_checks = check_table_columns(X, y, keys, spec, leads_frame, config)
    if check:
        check_sufficiency(y, keys, chunks.first_timestamp, chunks.last_timestamp, config)
    report = TrainingReport(
        events_accounting=chunks.checked.accounting(),
        leads_accounting=lead_table.accounting() if lead_table is not None else None,
        first_event=chunks.first_timestamp,
        last_event=chunks.last_timestamp,
        quarantine_files=quarantine_files([chunks.checked, lead_table], config),
        n_duplicate_events=n_duplicates,
        placeholders=profile_placeholders(leads_frame, spec),
        unknown_types=chunks.unknown_types,
        label_rates=label_rate_per_cutoff(keys, y),
        leakage=leakage_alarm(X, y, keys, config.guards.feature_alarm_auc),
        outcome_like_columns=[]
        if leads_frame is None
        else outcome_like_columns(leads_frame.columns),
        warnings=notes,
        table_checks=table_checks,
        cadence=cadence,
    )
    return TrainingSet(X=X, y=y, keys=keys, spec=spec, report=report)


def _snapshot_labeller(
    chunks: EventChunks, lead_table: CheckedTable | None, config: Config
) -> Callable[[int, pd.DataFrame, pd.DataFrame | None], tuple[pd.DataFrame, pd.Series]]:
    """``snapshots_of(chunk, events, leads) -> (keys, labels)`` for one chunk: from hard
    events at monthly cutoffs, or (``labels.label_col`` set) from the leads table's labels."""
    if not config.labels.label_col:
        cutoffs = make_cutoffs(chunks.first_timestamp, chunks.last_timestamp, config.labels)
        return lambda i, events, leads: event_snapshots(events, leads, cutoffs, config)
    if lead_table is None:
        raise ConfigError("labels.label_col is set but no leads table was given")
    all_keys, all_labels = crm_labels(
        lead_table.frame, config.labels, chunks.last_timestamp, lead_table.source
    )
    key_chunk = lead_chunk(all_keys["lead_id"], chunks.n_chunks)

    def snapshots_of(i: int, events, leads) -> tuple[pd.DataFrame, pd.Series]:
        in_chunk = key_chunk == i
        return (
            all_keys.loc[in_chunk].reset_index(drop=True),
            all_labels.loc[in_chunk].reset_index(drop=True),
        )

    return snapshots_of


def check_table_columns(
    X: pd.DataFrame,
    y: pd.Series,
    keys: pd.DataFrame,
    spec: FeatureSpec,
    leads: pd.DataFrame | None,
    config: Config,
) -> tuple[pd.DataFrame, FeatureSpec, pd.DataFrame | None]:
    """Run the post-outcome checks on the leads table's other columns against the snapshot
    labels; drop the features of the columns left out, from ``X`` and from the spec."""
    if not spec.table_columns or leads is None or not len(X):
        return X, spec, None
    columns = spec.table_columns
    roles = pd.DataFrame({"column": [c.name for c in columns], "role": [c.role for c in columns]})
    rows = lead_rows(leads, keys, spec).reset_index(drop=True)
    labels = y.to_numpy().astype(int)
    # The event features count among "all the other columns" of the dominance check.
    event_features = X.drop(columns=spec.names_of("lead_table"))
    context = out_of_fold_score(event_features, labels) if event_features.shape[1] else None
    checks = check_columns(rows, roles, labels, config, context)
    left_out = set(checks.loc[checks["left_out"], "column"])
    if not left_out:
        return X, spec, checks
    dropped = [f for c in columns if c.name in left_out for f in c.feature_names()]
    kept = tuple(c for c in columns if c.name not in left_out)
    return X.drop(columns=dropped), dataclasses.replace(spec, table_columns=kept), checks


def event_snapshots(
    events: pd.DataFrame, leads: pd.DataFrame | None, cutoffs: pd.DatetimeIndex, config: Config
) -> tuple[pd.DataFrame, pd.Series]:
    """Snapshot keys (lead_id, cutoff) and their labels from hard events, for one chunk.

    A lead enters at its first event or its ``created_at``, whichever is
    earlier; the population rules of ``config.labels`` decide which stay.
    """
    first_event = events.groupby(events["lead_id"].astype(object))["timestamp"].min()
    first_seen = first_event
    if leads is not None and "created_at" in leads:
        created = leads.set_index(leads["lead_id"].astype(object))["created_at"].dropna()
        first_seen = pd.concat([first_event, created]).groupby(level=0).min()
    keys = population(first_seen, cutoffs)
    hard = events.loc[events["event_class"] == "hard", ["lead_id", "timestamp"]]
    labels = label_snapshots(keys, hard, config.labels.horizon_days)
    keep = keep_by_population_rules(keys, labels, hard, config.labels)
    return keys.loc[keep].reset_index(drop=True), labels.loc[keep].reset_index(drop=True)


def _concat_sorted(parts: list, spec: FeatureSpec) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    if not parts:
        empty_keys = pd.DataFrame({"lead_id": [], "cutoff": pd.DatetimeIndex([], tz="UTC")})
        return (
            pd.DataFrame(columns=spec.feature_names, dtype=np.float32),
            pd.Series([], dtype=np.int8, name="label"),
            empty_keys,
        )
    X = pd.concat([p[0] for p in parts], ignore_index=True)
    y = pd.concat([p[1] for p in parts], ignore_index=True)
    keys = pd.concat([p[2] for p in parts], ignore_index=True)
    order = np.lexsort((keys["lead_id"].astype(str).to_numpy(), keys["cutoff"].array.asi8))
    return (
        X.iloc[order].reset_index(drop=True),
        y.iloc[order].reset_index(drop=True).astype(np.int8).rename("label"),
        keys.iloc[order].reset_index(drop=True),
    )
