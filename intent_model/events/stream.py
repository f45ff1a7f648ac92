"""Features of every lead as of one moment (scoring), one chunk of leads at a time."""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from intent_model.errors import ConfigError
from intent_model.events.chunks import open_events
from intent_model.events.features import FeatureSpec, add_account_features, compute_features
from intent_model.events.inputs import (
    EventsInput,
    LeadsInput,
    Progress,
    account_map,
    chunk_pairs,
    feature_spec_for,
    lead_table_of,
    quarantine_files,
)
from intent_model.events.log import count_duplicate_events
from intent_model.events.taxonomy import Taxonomy, load_taxonomy
from intent_model.io.config import Config
from intent_model.io.validate import as_utc
from intent_model.runtime import release_free_memory, resolve_jobs


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
            self.lead_table = lead_table_of(leads, self.config)
            self.quarantine_files = quarantine_files(
                [self.events.checked, self.lead_table], self.config
            )
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
        pairs = chunk_pairs(self.events, self.lead_table)
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
