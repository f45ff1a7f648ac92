"""Events split by lead into chunks that fit in memory.

Every event of a lead lands in the same chunk (a stable hash of its id), so
per-lead features computed chunk by chunk equal those computed in one piece.
A Parquet log larger than a chunk is streamed in record batches, validated
and classified batch by batch, and spilled by lead to chunk files as integer
codes; peak memory is about one chunk plus one entry per distinct lead id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from intent_model.errors import InputError
from intent_model.events.log import EventLog, empty_events, load_events
from intent_model.events.taxonomy import EVENT_CLASSES, UNKNOWN_CLASS, Taxonomy, load_taxonomy
from intent_model.io.config import Config
from intent_model.io.database import count_rows, is_database_url, parse_database_url, read_batches
from intent_model.io.files import apply_column_mapping, table_format
from intent_model.io.validate import CheckedTable, check_events, with_user_columns


def lead_chunk(lead_ids: pd.Series, n_chunks: int) -> np.ndarray:
    """The chunk of each lead id: a stable hash, so events and leads agree on it.

    Every event of a lead lands in the same chunk, whatever file or batch it
    came from. Categoricals are hashed per category (fast on large logs).
    """
    if n_chunks <= 1:
        return np.zeros(len(lead_ids), dtype=np.int64)
    if isinstance(lead_ids.dtype, pd.CategoricalDtype):
        per_category = _hash_chunk(np.asarray(lead_ids.cat.categories, dtype=object), n_chunks)
        return np.append(per_category, 0)[lead_ids.cat.codes.to_numpy()]
    return _hash_chunk(lead_ids.astype(object).to_numpy(), n_chunks)


def _hash_chunk(values: np.ndarray, n_chunks: int) -> np.ndarray:
    # Ids are text by now; anything else is hashed as its text, so both agree.
    if not all(isinstance(v, str) for v in values[:1000]):
        values = values.astype(str)
    hashed = pd.util.hash_array(values.astype(object), categorize=False)
    return (hashed % np.uint64(n_chunks)).astype(np.int64)


def _split_order(chunk_of_row: np.ndarray, n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that groups rows by chunk (file order kept within one), and each chunk's
    bounds in it."""
    # A stable sort of 16-bit keys is a radix sort in numpy: linear, not n log n.
    keys = chunk_of_row.astype(np.int16) if n_chunks < 2**15 else chunk_of_row
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(chunk_of_row[order], np.arange(n_chunks + 1))


@dataclass(frozen=True)
class LeadTimeline:
    """When each lead appeared and when it converted (hard), in nanoseconds since the
    epoch: enough to count the snapshots and positives of any cadence before the features
    are built. Small: one entry per lead and one per hard conversion."""

    first_seen: np.ndarray
    hard_lead: np.ndarray  # index into first_seen
    hard_time: np.ndarray

    @classmethod
    def of(cls, lead_codes: np.ndarray, times: np.ndarray, hard: np.ndarray) -> LeadTimeline:
        """From events given as lead codes (0..n-1), times and a hard-conversion mask."""
        first_seen = np.full(
            int(lead_codes.max()) + 1 if len(lead_codes) else 0, np.iinfo(np.int64).max
        )
        np.minimum.at(first_seen, lead_codes, times)
        return cls(first_seen, lead_codes[hard], times[hard])

    def merged(self, other: LeadTimeline) -> LeadTimeline:
        """Two timelines of batches that code leads alike (codes of a shared dictionary)."""
        size = max(len(self.first_seen), len(other.first_seen))
        first_seen = np.full(size, np.iinfo(np.int64).max)
        first_seen[: len(self.first_seen)] = self.first_seen
        first_seen[: len(other.first_seen)] = np.minimum(
            first_seen[: len(other.first_seen)], other.first_seen
        )
        return LeadTimeline(
            first_seen,
            np.concatenate([self.hard_lead, other.hard_lead]),
            np.concatenate([self.hard_time, other.hard_time]),
        )


@dataclass
class EventChunks:
    """Validated, classified events split by lead into chunks that fit in memory.

    Chunk ``i`` holds every event of the leads with ``lead_chunk(lead_id) == i``,
    in file order. Build one with :func:`open_events`.

    Attributes
    ----------
    n_chunks : int
    first_timestamp, last_timestamp : pandas.Timestamp
        Span of the accepted events.
    checked : CheckedTable
        The account of the input: rows read, used, quarantined.
    unknown_types : pandas.DataFrame
    """

    n_chunks: int
    first_timestamp: pd.Timestamp
    last_timestamp: pd.Timestamp
    checked: CheckedTable
    unknown_types: pd.DataFrame
    timeline: LeadTimeline | None = None
    _frames: list[pd.DataFrame] | None = None
    _spill: _SpilledChunks | None = None

    def chunk(self, index: int) -> pd.DataFrame:
        """The events of chunk ``index`` (``lead_id``, ``timestamp``, ``event_type``, ...)."""
        if self._frames is not None:
            return self._frames[index]
        assert self._spill is not None
        return self._spill.read(index)


@dataclass
class _SpilledChunks:
    """Chunk files of a streamed log, as integer codes into shared dictionaries.

    Codes keep the spill small and fast to write and read; the dictionaries
    (distinct lead ids, event types, channels) grow with the number of
    distinct values, not with the number of events.
    """

    paths: list[Path]
    lead_ids: _Dictionary
    event_types: _Dictionary
    channels: _Dictionary

    SCHEMA = pa.schema(
        [
            ("lead", pa.int64()),
            ("timestamp", pa.int64()),
            ("event_type", pa.int32()),
            ("event_class", pa.int8()),
            ("channel", pa.int32()),
        ]
    )

    def read(self, index: int) -> pd.DataFrame:
        path = self.paths[index]
        if not path.exists():
            return empty_events()
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        column = {name: table.column(name).to_numpy() for name in self.SCHEMA.names}
        return pd.DataFrame(
            {
                "lead_id": self.lead_ids.decode(column["lead"]),
                "timestamp": pd.to_datetime(column["timestamp"], unit="ns", utc=True),
                "event_type": self.event_types.decode(column["event_type"]),
                "event_class": pd.Categorical.from_codes(
                    column["event_class"], categories=EVENT_CLASSES
                ),
                "channel": self.channels.decode(column["channel"]),
            }
        )


class _Dictionary:
    """Distinct values seen so far, each with a stable integer code."""

    def __init__(self) -> None:
        self.values = pd.Index([], dtype=object)
        self._chunks = np.zeros(0, dtype=np.int64)

    def chunk_of(self, codes: np.ndarray, n_chunks: int) -> np.ndarray:
        """The chunk of each coded lead id: each distinct id is hashed once per run."""
        if len(self._chunks) < len(self.values):
            new = self.values[len(self._chunks) :].to_numpy(dtype=object)
            self._chunks = np.concatenate([self._chunks, _hash_chunk(new, n_chunks)])
        return self._chunks[codes]

    def encode(self, categorical: pd.Series) -> np.ndarray:
        categories = pd.Index(categorical.cat.categories, dtype=object)
        position = self.values.get_indexer(categories)
        if (position < 0).any():
            self.values = self.values.append(categories[position < 0])
            position = self.values.get_indexer(categories)
        codes = categorical.cat.codes.to_numpy()
        return position[codes]

    def decode(self, codes: np.ndarray) -> pd.Categorical:
        used = np.zeros(len(self.values), dtype=bool)
        used[codes] = True
        local_code = np.cumsum(used) - 1
        return pd.Categorical.from_codes(local_code[codes], categories=self.values[used])


def open_events(
    source: str | Path | pd.DataFrame | EventLog,
    config: Config | None = None,
    taxonomy: Taxonomy | None = None,
    workdir: str | Path | None = None,
    jobs: int = 1,
) -> EventChunks:
    """Read, validate and classify events, split by lead into chunks.

    A Parquet file with more than ``config.features.chunk_events`` rows is
    streamed in record batches and spilled by lead into chunk files under
    ``workdir``, so a log larger than memory can be processed: peak memory is
    about one chunk of events plus one entry per distinct lead id. CSV files
    and DataFrames are read whole and split in memory.

    Parameters
    ----------
    source : path, DataFrame or EventLog
    config : Config, optional
    taxonomy : Taxonomy, optional
    workdir : path, optional
        Where chunk files go when streaming (required then).
    jobs : int
        Chunks that will be worked on at once: ``chunk_events`` bounds the
        events in memory together, so each chunk holds a ``jobs``-th of it.
    """
    config = config or Config()
    taxonomy = taxonomy or load_taxonomy(config.taxonomy)
    chunk_events = max(1, config.features.chunk_events // max(1, jobs))
    is_parquet = (
        not isinstance(source, pd.DataFrame | EventLog)
        and not is_database_url(source)
        and table_format(source) == "parquet"
    )
    if is_database_url(source):
        database = parse_database_url(source)
        n_rows = count_rows(database)
        if n_rows > chunk_events:
            if workdir is None:
                raise ValueError("workdir is needed to stream a database table in chunks")
            spiller = _BatchSpiller(
                str(database), config, taxonomy, Path(workdir), -(-n_rows // chunk_events)
            )
            return spiller.spill_all(read_batches(database, min(chunk_events, 1_000_000)))
    elif is_parquet and Path(source).is_file() and Path(source).stat().st_size > 0:
        n_rows = _parquet_rows(Path(source))
        if n_rows > chunk_events:
            if workdir is None:
                raise ValueError("workdir is needed to stream a Parquet file in chunks")
            return _stream_parquet(
                Path(source), config, taxonomy, Path(workdir), n_rows, chunk_events
            )
    log = source if isinstance(source, EventLog) else load_events(source, config, taxonomy)
    events = log.events
    n_chunks = max(1, -(-len(events) // chunk_events))
    chunk_of_row = lead_chunk(events["lead_id"], n_chunks)
    order, bounds = _split_order(chunk_of_row, n_chunks)
    frames = [events.iloc[order[bounds[i] : bounds[i + 1]]] for i in range(n_chunks)]
    timeline = LeadTimeline.of(
        pd.factorize(events["lead_id"])[0],
        events["timestamp"].array.asi8,
        (events["event_class"] == "hard").to_numpy(),
    )
    return EventChunks(
        n_chunks=n_chunks,
        first_timestamp=events["timestamp"].min(),
        last_timestamp=events["timestamp"].max(),
        checked=log.checked,
        unknown_types=log.unknown_types,
        timeline=timeline,
        _frames=frames,
    )


def _parquet_rows(path: Path) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as parquet: {exc}") from None


def _stream_parquet(
    path: Path, config: Config, taxonomy: Taxonomy, workdir: Path, n_rows: int, chunk_events: int
) -> EventChunks:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as parquet: {exc}") from None
    spiller = _BatchSpiller(str(path), config, taxonomy, workdir, -(-n_rows // chunk_events))
    # Text columns read as dictionaries: a log repeats few ids and types many times.
    text_columns = [c for c in spiller.wanted_of(schema) if c != spiller.theirs("timestamp")]
    parquet = pq.ParquetFile(path, read_dictionary=text_columns)
    return spiller.spill_all(parquet.iter_batches(batch_size=min(chunk_events, 1_000_000)))


class _BatchSpiller:
    """Validates and classifies one record batch at a time (from a Parquet file or a
    database) and spills its rows, by lead, into per-chunk Arrow files; keeps the account
    (rejected rows, unknown types, span)."""

    def __init__(
        self, source: str, config: Config, taxonomy: Taxonomy, workdir: Path, n_chunks: int
    ) -> None:
        self.source, self.config, self.taxonomy = source, config, taxonomy
        self.n_chunks = n_chunks
        workdir.mkdir(parents=True, exist_ok=True)
        self.spill = _SpilledChunks(
            paths=[workdir / f"events-chunk-{i:05d}.arrow" for i in range(n_chunks)],
            lead_ids=_Dictionary(),
            event_types=_Dictionary(),
            channels=_Dictionary(),
        )
        self.writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        self.rejected: list[pd.DataFrame] = []
        self.unknown_counts: dict[str, int] = {}
        self.unknown_rows: dict[str, list] = {}
        self.first = self.last = None
        self.timeline: LeadTimeline | None = None
        self.offset = 0

    def theirs(self, ours: str) -> str:
        """The source's name of one of our columns."""
        return {o: t for t, o in self.config.columns.renames().items()}.get(ours, ours)

    def wanted_of(self, schema: pa.Schema) -> list[str]:
        """The source's names of the contract's columns that the source has."""
        names = [self.theirs(c) for c in ("lead_id", "timestamp", "event_type", "channel")]
        return [c for c in names if c in schema.names]

    def spill_all(self, batches) -> EventChunks:
        try:
            for batch in batches:
                self.add(batch)
        finally:
            self.close()
        return self.chunks()

    def add(self, whole_batch: pa.RecordBatch) -> None:
        # Every column is read, but only the contract's are turned into pandas; the rest
        # are there for the rare rejected rows, which the quarantine file shows whole.
        wanted = self.wanted_of(whole_batch.schema)
        repeated = [self.theirs("event_type"), self.theirs("channel")]
        raw = _ids_as_dictionary(whole_batch.select(wanted), self.theirs("lead_id"), repeated)
        raw = apply_column_mapping(raw, self.config.columns, self.source)
        row_numbers = np.arange(self.offset, self.offset + len(raw))
        self.offset += len(raw)
        policy = self.config.input.on_bad_rows
        checked = check_events(raw, self.source, self.config.columns, policy, row_numbers)
        if checked.n_rejected:
            bad = np.flatnonzero(~np.isin(row_numbers, checked.frame.index))
            user_rows = whole_batch.take(pa.array(bad)).to_pandas()
            self.rejected.append(with_user_columns(checked.rejected, user_rows))
        if not checked.frame.empty:
            self._spill(checked.frame)

    def _spill(self, frame: pd.DataFrame) -> None:
        spill = self.spill
        classified = self.taxonomy.classify(frame["event_type"])
        _count_unknown(self.taxonomy, frame["event_type"], self.unknown_counts, self.unknown_rows)
        channel = (
            frame["channel"] if "channel" in frame else pd.Series("unknown", index=frame.index)
        )
        timestamp = frame["timestamp"].array.asi8
        self.first = timestamp.min() if self.first is None else min(self.first, timestamp.min())
        self.last = timestamp.max() if self.last is None else max(self.last, timestamp.max())
        codes = {
            "lead": spill.lead_ids.encode(frame["lead_id"].astype("category")),
            "timestamp": timestamp,
            "event_type": spill.event_types.encode(classified["event_type"]),
            "event_class": classified["event_class"].cat.codes.to_numpy(),
            "channel": spill.channels.encode(channel.astype("category")),
        }
        hard = (classified["event_class"] == "hard").to_numpy()
        batch_timeline = LeadTimeline.of(codes["lead"], timestamp, hard)
        self.timeline = (
            batch_timeline if self.timeline is None else self.timeline.merged(batch_timeline)
        )
        chunk_of_row = spill.lead_ids.chunk_of(codes["lead"], self.n_chunks)
        order, bounds = _split_order(chunk_of_row, self.n_chunks)
        table = pa.Table.from_arrays(
            [pa.array(codes[name][order]) for name in spill.SCHEMA.names], schema=spill.SCHEMA
        )
        for i in np.flatnonzero(np.diff(bounds)):
            if i not in self.writers:
                self.writers[i] = pa.ipc.new_file(str(spill.paths[i]), spill.SCHEMA)
            self.writers[i].write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]))

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()

    def chunks(self) -> EventChunks:
        if self.first is None:
            raise InputError(f"{self.source}: no usable event rows")
        rejected = pd.concat(self.rejected, ignore_index=True) if self.rejected else pd.DataFrame()
        checked = CheckedTable(
            frame=empty_events(), rejected=rejected, source=self.source, n_read=self.offset
        )
        unknown = pd.DataFrame(
            {
                "event_type": list(self.unknown_counts),
                "counted_as": UNKNOWN_CLASS,
                "n_rows": list(self.unknown_counts.values()),
                "first_rows": [self.unknown_rows[k] for k in self.unknown_counts],
            }
        ).sort_values("n_rows", ascending=False, ignore_index=True)
        return EventChunks(
            n_chunks=self.n_chunks,
            first_timestamp=pd.Timestamp(self.first, tz="UTC"),
            last_timestamp=pd.Timestamp(self.last, tz="UTC"),
            checked=checked,
            unknown_types=unknown,
            timeline=self.timeline,
            _spill=self.spill,
        )


def _ids_as_dictionary(
    batch: pa.RecordBatch, lead_column: str, text_columns: list[str]
) -> pd.DataFrame:
    """The batch as pandas, its lead ids dictionary-encoded (a categorical) whatever their
    type, and ``text_columns`` too when they are plain text.

    Integer ids (web analytics visitor ids) are hashed in Arrow, so validation
    and chunking then work once per distinct id instead of once per event; a
    database hands event types and channels as plain text, which Arrow encodes
    here as a Parquet reader's ``read_dictionary`` does.
    """
    for index, field in enumerate(batch.schema):
        is_text = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        is_id = field.name == lead_column and not pa.types.is_dictionary(field.type)
        if is_id or (field.name in text_columns and is_text):
            batch = batch.set_column(index, field.name, pc.dictionary_encode(batch.column(index)))
    return batch.to_pandas()


def _count_unknown(
    taxonomy: Taxonomy, event_types: pd.Series, counts: dict, first_rows: dict
) -> None:
    report = taxonomy.unknown_report(event_types)
    for name, n_rows, rows in report[["event_type", "n_rows", "first_rows"]].itertuples(
        index=False
    ):
        counts[name] = counts.get(name, 0) + n_rows
        first_rows[name] = (first_rows.get(name, []) + list(rows))[:3]
