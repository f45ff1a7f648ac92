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
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from intent_model.errors import ConfigError
from intent_model.events.chunks import EventChunks, lead_chunk, open_events
from intent_model.events.features import (
    FeatureSpec,
    add_account_features,
    compute_features,
    lead_rows,
)
from intent_model.events.guards import check_sufficiency, leakage_alarm, outcome_like_columns
from intent_model.events.labels import (
    crm_labels,
    keep_by_population_rules,
    label_rate_per_cutoff,
    label_snapshots,
    make_cutoffs,
    population,
)
from intent_model.events.log import EventLog, count_duplicate_events
from intent_model.events.taxonomy import Taxonomy, describe_unknown, load_taxonomy
from intent_model.io.config import Config
from intent_model.io.load import load_leads, write_quarantine
from intent_model.io.validate import PROVIDED_AT_SUFFIX, CheckedTable, as_utc
from intent_model.runtime import release_free_memory, resolve_jobs
from intent_model.table.checks import check_columns, describe_checks, out_of_fold_score
from intent_model.table.encoding import TableSpec, placeholder_report
from intent_model.table.roles import infer_roles

Progress = Callable[[str], None]
EventsInput = str | Path | pd.DataFrame | EventLog
LeadsInput = str | Path | pd.DataFrame | CheckedTable | None


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
        lead_table = _lead_table(leads, config)
        # Table columns are checked for post-outcome leaks only when the spec is made here.
        fitted_here = spec is None
        spec = spec or feature_spec_for(config, taxonomy, lead_table, notes)
        snapshots_of = _snapshot_labeller(chunks, lead_table, config)
        parts, n_duplicates = [], 0
        for i, chunk_events, chunk_leads in _chunk_pairs(chunks, lead_table):
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
        quarantine_files=_quarantine([chunks.checked, lead_table], config),
        n_duplicate_events=n_duplicates,
        placeholders=_profile_placeholders(leads_frame, spec),
        unknown_types=chunks.unknown_types,
        label_rates=label_rate_per_cutoff(keys, y),
        leakage=leakage_alarm(X, y, keys, config.guards.feature_alarm_auc),
        outcome_like_columns=[]
        if leads_frame is None
        else outcome_like_columns(leads_frame.columns),
        warnings=notes,
        table_checks=table_checks,
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


def build_features(
    events: EventsInput,
    leads: LeadsInput = None,
    as_of: str | pd.Timestamp | None = None,
    config: Config | None = None,
    spec: FeatureSpec | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> pd.DataFrame:
    """Features of every lead as of one moment, from events strictly before it.

    Parameters
    ----------
    events, leads, config, taxonomy, workdir, progress
        As for :func:`build_training_set`.
    as_of : str or Timestamp, optional
        The cutoff; defaults to one second after the latest event (so every
        event counts). Naive times are UTC.
    spec : FeatureSpec, optional
        The features to build (a trained model's spec); by default the one
        the config and taxonomy give.
    jobs : int, optional
        Chunks computed at once (threads); defaults to ``config.runtime.jobs``,
        else the cores this process may use.

    Returns
    -------
    pandas.DataFrame
        One row per lead in the events or the leads table, indexed by
        ``lead_id`` (sorted), float32 columns ``spec.feature_names``.
    """
    with FeatureStream(
        events, leads, as_of, config, spec, taxonomy, workdir=workdir, jobs=jobs
    ) as stream:
        parts = list(stream.chunks(progress))
    return _sorted_by_lead(parts, stream.spec.feature_names)


def _sorted_by_lead(parts: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    """The parts as one table sorted by lead id, each part moved into place and let go, so
    that the table is held about once instead of three times (parts, concat, sort)."""
    if not parts:
        return pd.DataFrame(columns=names, dtype=np.float32, index=pd.Index([], name="lead_id"))
    ids = np.concatenate([part.index.to_numpy(dtype=object) for part in parts])
    # Arrow sorts half a million text ids several times faster than pandas' sort_index.
    order = pc.sort_indices(pa.array(ids, pa.string())).to_numpy()
    position = np.empty(len(ids), dtype=np.int64)
    position[order] = np.arange(len(ids))
    values = np.empty((len(ids), len(names)), dtype=np.float32, order="F")
    start = 0
    while parts:
        part = parts.pop(0)
        values[position[start : start + len(part)]] = part.to_numpy(dtype=np.float32)
        start += len(part)
        del part
    index = pd.Index(ids[order], name="lead_id")
    return pd.DataFrame(values, index=index, columns=names, copy=False)


class FeatureStream:
    """Features of every lead as of one moment, one chunk of leads at a time.

    Use as a context manager (it may spill a large log to a temporary
    directory); :meth:`chunks` yields one DataFrame per chunk, indexed by
    ``lead_id``. Scoring uses it to keep memory bounded by the chunk.

    Attributes (after entering)
    ---------------------------
    as_of : pandas.Timestamp
    spec : FeatureSpec
    events : EventChunks
        The account of the events input and its unknown types.
    lead_table : CheckedTable or None
    quarantine_files : list of Path
    n_duplicate_events, n_events_at_or_after_as_of : int
        Counted while :meth:`chunks` runs.
    """

    def __init__(
        self,
        events: EventsInput,
        leads: LeadsInput = None,
        as_of: str | pd.Timestamp | None = None,
        config: Config | None = None,
        spec: FeatureSpec | None = None,
        taxonomy: Taxonomy | None = None,
        *,
        workdir: str | Path | None = None,
        jobs: int | None = None,
    ) -> None:
        self._inputs = (events, leads)
        self._as_of = as_of
        self.config = config or Config()
        # Every caller (scoring, build_features, training's drift reference) honours
        # [runtime] jobs / --jobs unless it gives its own number.
        self._jobs = resolve_jobs(jobs or self.config.runtime.jobs)
        self.taxonomy = taxonomy or load_taxonomy(self.config.taxonomy)
        self.spec = spec
        self._workdir = workdir

    def __enter__(self) -> FeatureStream:
        self._tmp = tempfile.TemporaryDirectory(dir=self._workdir, prefix="intent-model-")
        try:
            events, leads = self._inputs
            self.events = open_events(
                events, self.config, self.taxonomy, self._tmp.name, jobs=self._jobs
            )
            release_free_memory()  # what streaming the events left behind
            self.lead_table = _lead_table(leads, self.config)
            self.quarantine_files = _quarantine([self.events.checked, self.lead_table], self.config)
            self.spec = self.spec or feature_spec_for(
                self.config, self.taxonomy, self.lead_table, []
            )
            self.n_duplicate_events = 0
            self.n_events_at_or_after_as_of = 0
            self.as_of = (
                as_utc(self._as_of)
                if self._as_of is not None
                else self.events.last_timestamp.floor("s") + pd.Timedelta(seconds=1)
            )
        except BaseException:
            self._tmp.cleanup()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tmp.cleanup()

    def chunks(self, progress: Progress | None = None) -> Iterator[pd.DataFrame]:
        """Yield the features of each chunk of leads (float32, indexed by ``lead_id``), in
        chunk order; with account roll-ups, one table of every lead.

        Chunks are computed ``jobs`` at a time in threads: the feature code is
        numpy and Arrow, which release the GIL, and threads share the spilled
        dictionaries and the leads table instead of copying them per process.
        """
        if self.spec.accounts:
            yield self._with_accounts(self._computed_chunks(progress))
            return
        yield from self._computed_chunks(progress)

    def _with_accounts(self, chunks: Iterator[pd.DataFrame]) -> pd.DataFrame:
        """Every chunk as one table with the account roll-ups filled: an account's contacts
        may sit in different chunks, so scoring with accounts holds every lead at once."""
        accounts = account_map(self.lead_table)
        if accounts.empty:
            # Silently zero roll-ups would score every lead as if it were alone.
            raise ConfigError(
                "this model uses account roll-ups: give the leads table and map its account "
                "column with [columns] account_id (as in training)"
            )
        features = pd.concat(list(chunks))
        keys = pd.DataFrame({"lead_id": features.index.to_numpy(), "cutoff": self.as_of})
        rolled = add_account_features(features.reset_index(drop=True), keys, accounts, self.spec)
        return rolled.set_axis(features.index)

    def _computed_chunks(self, progress: Progress | None) -> Iterator[pd.DataFrame]:
        n_chunks = self.events.n_chunks
        pairs = _chunk_pairs(self.events, self.lead_table)
        with ThreadPoolExecutor(max_workers=self._jobs, thread_name_prefix="features") as pool:
            # At most `jobs` chunks in flight, so memory stays a few chunks whatever their number.
            pending = deque(pool.submit(self._chunk, *pair) for pair in islice(pairs, self._jobs))
            while pending:
                i, features, n_duplicates, n_late = pending.popleft().result()
                release_free_memory()
                pending.extend(pool.submit(self._chunk, *pair) for pair in islice(pairs, 1))
                self.n_duplicate_events += n_duplicates
                self.n_events_at_or_after_as_of += n_late
                if progress:
                    progress(f"features: chunk {i + 1}/{n_chunks}, {len(features):,} leads")
                yield features

    def _chunk(
        self, i: int, chunk_events: pd.DataFrame, chunk_leads: pd.DataFrame | None
    ) -> tuple[int, pd.DataFrame, int, int]:
        lead_ids = pd.unique(chunk_events["lead_id"].astype(object))
        if chunk_leads is not None:
            lead_ids = pd.unique(np.concatenate([lead_ids, chunk_leads["lead_id"].to_numpy()]))
        keys = pd.DataFrame({"lead_id": lead_ids, "cutoff": self.as_of})
        features = compute_features(chunk_events, keys, self.spec, chunk_leads, np.float32)
        features = features.set_axis(pd.Index(lead_ids, name="lead_id"))
        n_late = int((chunk_events["timestamp"] >= self.as_of).sum())
        return i, features, count_duplicate_events(chunk_events), n_late


def account_map(lead_table: CheckedTable | None) -> pd.Series:
    """Account id per lead id (empty without a leads table or an ``account_id`` column)."""
    if lead_table is None or "account_id" not in lead_table.frame:
        return pd.Series(dtype=object)
    frame = lead_table.frame
    return pd.Series(
        frame["account_id"].astype(object).to_numpy(),
        index=frame["lead_id"].astype(object).to_numpy(),
    )


def _profile_placeholders(leads: pd.DataFrame | None, spec: FeatureSpec) -> pd.DataFrame | None:
    """Cells of the profile fields counted as not given (placeholders and blanks), counted
    as in CRM-table mode."""
    if leads is None:
        return None
    fields = [f for f in spec.profile_fields if f in leads]
    return placeholder_report(leads, fields, spec.missing_values)


def _chunk_pairs(
    chunks: EventChunks, lead_table: CheckedTable | None
) -> Iterator[tuple[int, pd.DataFrame, pd.DataFrame | None]]:
    """Each chunk's events with the rows of the leads table that hash to the same chunk."""
    leads_frame = lead_table.frame if lead_table is not None else None
    leads_chunk = (
        lead_chunk(leads_frame["lead_id"], chunks.n_chunks) if leads_frame is not None else None
    )
    for i in range(chunks.n_chunks):
        chunk_leads = leads_frame.loc[leads_chunk == i] if leads_frame is not None else None
        yield i, chunks.chunk(i), chunk_leads


def _quarantine(tables: list[CheckedTable | None], config: Config) -> list[Path]:
    """Write the rejected rows of each table to the quarantine directory."""
    written = [write_quarantine(t, config.input.quarantine_dir) for t in tables if t is not None]
    return [path for path in written if path is not None]


def _lead_table(leads: LeadsInput, config: Config) -> CheckedTable | None:
    if leads is None:
        return None
    if isinstance(leads, CheckedTable):
        return leads
    return load_leads(leads, config)


def feature_spec_for(
    config: Config, taxonomy: Taxonomy, lead_table: CheckedTable | None, notes: list[str]
) -> FeatureSpec:
    """The features a new model builds from this config, taxonomy and leads table.

    Refuses profile fields named like CRM outcomes; appends to ``notes`` (and
    warns) when a profile field has no ``<field>_provided_at`` column.
    """
    columns = list(lead_table.frame.columns) if lead_table is not None else []
    refused = outcome_like_columns(config.features.profile_fields)
    if refused:
        raise ConfigError(
            f"features.profile_fields names column(s) that look like CRM outcomes: "
            f"{', '.join(refused)}; an outcome must never be a feature"
        )
    accounts = bool(config.columns.account_id)
    if accounts and "account_id" not in columns:
        source = lead_table.source if lead_table is not None else "no leads table"
        raise ConfigError(
            f"{source}: [columns] account_id = {config.columns.account_id!r}, but there is no "
            "such column in the leads table (account roll-ups need the leads table to map "
            "each lead to its account)"
        )
    spec = FeatureSpec.from_config(config.features, taxonomy, columns, accounts=accounts)
    if lead_table is not None:
        spec = dataclasses.replace(
            spec,
            table_columns=_table_columns(lead_table, spec, config),
            profile_columns=_profile_columns(lead_table, spec, config),
        )
    undated = [f for f in spec.profile_fields if f"{f}{PROVIDED_AT_SUFFIX}" not in columns]
    if undated:
        since = "created_at" if "created_at" in columns else "the start of time"
        message = (
            f"profile field(s) {', '.join(undated)} have no <field>{PROVIDED_AT_SUFFIX} column, "
            f"so they count as given since {since}: the features may see information given "
            "after a cutoff"
        )
        notes.append(message)
        warnings.warn(message, UserWarning, stacklevel=3)
    return spec


def _table_columns(lead_table: CheckedTable, spec: FeatureSpec, config: Config) -> tuple:
    """The leads table's other columns (not the id, dates, label or profile fields), encoded
    as in CRM-table mode, so that they join the event features."""
    frame = lead_table.frame
    labels = config.labels
    reserved = {"lead_id", "created_at", "account_id", labels.label_col, labels.labeled_at_col}
    reserved |= set(spec.profile_fields)
    extra = [
        c for c in frame.columns if c not in reserved and not str(c).endswith(PROVIDED_AT_SUFFIX)
    ]
    if not extra or frame.empty:
        return ()
    table = _fit_encoding(frame, extra, config)
    clashes = sorted(set(table.feature_names) & set(spec.feature_names))
    if clashes:
        raise ConfigError(
            f"{lead_table.source}: leads-table column(s) would make features named like event "
            f"features ({', '.join(clashes)}); rename them or set their role to 'ignore' in "
            "[columns.roles]"
        )
    return table.columns


def _profile_columns(lead_table: CheckedTable, spec: FeatureSpec, config: Config) -> tuple:
    """The profile fields whose value is a feature (categorical or numeric: a job title, a
    company size; not an e-mail or a free-text message), encoded as in CRM-table mode but
    without ``has_<field>`` (the information features have it)."""
    frame = lead_table.frame
    fields = [f for f in spec.profile_fields if f in frame.columns]
    if not fields or frame.empty:
        return ()
    table = _fit_encoding(frame, fields, config, roles_kept=("categorical", "numeric"))
    return tuple(dataclasses.replace(c, presence=False) for c in table.columns)


def _fit_encoding(
    frame: pd.DataFrame,
    columns: list[str],
    config: Config,
    roles_kept: tuple[str, ...] | None = None,
) -> TableSpec:
    """The CRM-table encoding of some leads-table columns: roles inferred (``[columns.roles]``
    overriding), only ``roles_kept`` when given, categories learned from the table."""
    overrides = {k: v for k, v in config.columns.roles.items() if k in columns}
    placeholders = config.features.placeholders()
    roles = infer_roles(frame[["lead_id", *columns]], placeholders, None, overrides)
    if roles_kept is not None:
        roles = roles[roles["role"].isin(roles_kept)]
    return TableSpec.fit(
        frame,
        roles,
        placeholders,
        config.table.max_categories,
        config.table.min_category_rows,
        information=False,
    )


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
