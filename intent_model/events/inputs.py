"""The inputs of a feature build, read once: the leads table, its quarantine, the feature
spec it implies, the account of each lead, and the chunks of events with their leads.

Shared by :mod:`intent_model.events.training_set` (snapshots) and
:mod:`intent_model.events.stream` (features as of one moment).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from intent_model.errors import ConfigError
from intent_model.events.chunks import EventChunks, lead_chunk
from intent_model.events.features import FeatureSpec
from intent_model.events.guards import outcome_like_columns
from intent_model.events.log import EventLog
from intent_model.events.taxonomy import Taxonomy
from intent_model.io.config import Config
from intent_model.io.load import load_leads, write_quarantine
from intent_model.io.validate import PROVIDED_AT_SUFFIX, CheckedTable
from intent_model.table.encoding import TableSpec, placeholder_report
from intent_model.table.roles import infer_roles

Progress = Callable[[str], None]
EventsInput = str | Path | pd.DataFrame | EventLog
LeadsInput = str | Path | pd.DataFrame | CheckedTable | None


def account_map(lead_table: CheckedTable | None) -> pd.Series:
    """Account id per lead id (empty without a leads table or an ``account_id`` column)."""
    if lead_table is None or "account_id" not in lead_table.frame:
        return pd.Series(dtype=object)
    frame = lead_table.frame
    return pd.Series(
        frame["account_id"].astype(object).to_numpy(),
        index=frame["lead_id"].astype(object).to_numpy(),
    )


def profile_placeholders(leads: pd.DataFrame | None, spec: FeatureSpec) -> pd.DataFrame | None:
    """Cells of the profile fields counted as not given (placeholders and blanks), counted
    as in CRM-table mode."""
    if leads is None:
        return None
    fields = [f for f in spec.profile_fields if f in leads]
    return placeholder_report(leads, fields, spec.missing_values)


def chunk_pairs(
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


def quarantine_files(tables: list[CheckedTable | None], config: Config) -> list[Path]:
    """Write the rejected rows of each table to the quarantine directory."""
    written = [write_quarantine(t, config.input.quarantine_dir) for t in tables if t is not None]
    return [path for path in written if path is not None]


def lead_table_of(leads: LeadsInput, config: Config) -> CheckedTable | None:
    """The leads table, read and validated (as it is when already checked)."""
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
