"""Feature building for one cutoff: intent_model against a reference DuckDB SQL query.

Run: .venv/bin/python benchmarks/features.py [--leads 6500 65000] [--int-leads 65000 500000 2000000]
(needs the bench extra: pip install -e '.[bench]'; `make bench` does it)

Two shapes of data, both written to Parquet:

* ``demo``: the simulated funnel as the demo writes it (string ids like
  ``L000123``, UTC timestamps), at each ``--leads`` size;
* ``integer ids``: the events of the largest simulated funnel given to
  ``--int-leads`` visitors with 11-digit integer ids (as web analytics export
  them) and naive timestamps, each simulated lead's events dealt among several
  visitors; the leads table repeats each lead's profile for its visitors. The
  events stay the same (~10M for 65,000 simulated leads), so the rows of the
  table show how the cost grows with the number of leads alone.

For each case it times, each in a fresh subprocess so that peak memory
(max RSS) is the engine's own:

* intent_model: ``build_features(events.parquet, leads.parquet, as_of=...)``,
  reading, validating, classifying and streaming the log by lead;
* DuckDB: one SQL query over the same Parquet files computing the same
  features (given the taxonomy's mapping of raw event types, a tiny table).

It cross-checks every feature of every lead between the two, and prints
events per second, peak memory and the time ratio (intent_model / DuckDB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = "2025-06-01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[6500, 65000])
    parser.add_argument("--int-leads", type=int, nargs="*", default=[65000, 500000, 2000000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=["intent_model", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", default=AS_OF, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.data, args.out, args.as_of)
        return
    from intent_model.simulate.funnel import simulate_funnel, write_demo_data

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        demo = None
        for n_leads in sorted(set(args.leads)):
            data = Path(tmp) / f"leads-{n_leads}"
            demo = simulate_funnel(n_leads=n_leads, seed=args.seed)
            write_demo_data(demo, data)
            rows += _measure(data, "demo, string ids", n_leads, len(demo.events))
        if args.int_leads:
            if demo is None or len(demo.leads) != max(args.leads):
                demo = simulate_funnel(n_leads=max(args.leads), seed=args.seed)
            for n_visitors in args.int_leads:
                data = Path(tmp) / f"int-{n_visitors}"
                n_written = _write_integer_ids(demo, n_visitors, data, args.seed)
                rows += _measure(data, "integer ids, naive", n_written, len(demo.events))
    print(f"Features for one cutoff ({AS_OF}), 2-core machine; ratio < 1 means faster than DuckDB")
    print(pd.DataFrame(rows).to_string(index=False))


def _measure(data: Path, shape: str, n_leads: int, n_events: int) -> list[dict]:
    results = {}
    for engine in ("intent_model", "duckdb"):
        out = data / f"{engine}.parquet"
        command = [sys.executable, __file__, "--worker", engine, "--data", str(data)]
        finished = subprocess.run(
            [*command, "--out", str(out)], check=True, capture_output=True, text=True
        )
        results[engine] = json.loads(finished.stdout.strip().splitlines()[-1])
        results[engine]["features"] = pd.read_parquet(out)
    mismatches = _compare(results["intent_model"]["features"], results["duckdb"]["features"])
    rows = []
    for engine in ("intent_model", "duckdb"):
        seconds = results[engine]["seconds"]
        rows.append(
            {
                "shape": shape,
                "leads": f"{n_leads:,}",
                "events": f"{n_events:,}",
                "engine": engine,
                "seconds": round(seconds, 2),
                "events_per_s": f"{n_events / seconds:,.0f}",
                "peak_rss_MB": round(results[engine]["peak_rss_mb"]),
                "ratio_to_duckdb": round(seconds / results["duckdb"]["seconds"], 2),
                "features_match": "yes" if not mismatches else f"NO: {mismatches[:3]}",
            }
        )
    return rows


def _write_integer_ids(demo, n_visitors: int, data: Path, seed: int) -> int:
    """Deal each simulated lead's events among visitors with integer ids; naive timestamps.

    Returns the number of visitors in the leads table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_leads = len(demo.leads)
    per_lead = max(1, round(n_visitors / n_leads))
    first_id = 10_000_000_000  # 11 digits, as visitor ids often are
    lead_index = pd.Index(demo.leads["lead_id"].astype(str)).get_indexer(
        demo.events["lead_id"].astype(str)
    )
    share = rng.integers(0, per_lead, len(demo.events))
    events = pd.DataFrame(
        {
            "lead_id": first_id + lead_index.astype(np.int64) * per_lead + share,
            "timestamp": demo.events["timestamp"].dt.tz_convert(None),
            "event_type": demo.events["event_type"].astype(str),
            "channel": demo.events["channel"].astype(str),
        }
    )
    leads = demo.leads.loc[np.repeat(np.arange(n_leads), per_lead)].reset_index(drop=True)
    leads["lead_id"] = first_id + np.arange(len(leads), dtype=np.int64)
    for name in leads.columns:
        if isinstance(leads[name].dtype, pd.DatetimeTZDtype):
            leads[name] = leads[name].dt.tz_convert(None)
    data.mkdir(parents=True)
    for name, frame in (("events", events), ("leads", leads)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, data / f"{name}.parquet", coerce_timestamps="us")
    return len(leads)


def _worker(engine: str, data: Path, out: Path, as_of: str = AS_OF) -> None:
    started = time.perf_counter()
    features = _intent_model(data, as_of) if engine == "intent_model" else _duckdb(data, as_of)
    seconds = time.perf_counter() - started
    # Peak memory of the feature build itself, before the table is written for the comparison.
    peak = peak_rss_mb()
    features.reset_index().to_parquet(out)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not
    inherited from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _intent_model(data: Path, as_of: str = AS_OF) -> pd.DataFrame:
    from intent_model.events.stream import build_features

    with tempfile.TemporaryDirectory(prefix="bench-work-") as work:
        return build_features(
            data / "events.parquet", data / "leads.parquet", as_of=as_of, workdir=work
        )


def _duckdb(data: Path, as_of: str = AS_OF) -> pd.DataFrame:
    import duckdb
    import pyarrow.parquet as pq

    from intent_model.events.features import FeatureSpec
    from intent_model.events.taxonomy import EVENT_CLASSES, load_taxonomy
    from intent_model.io.config import Config

    config = Config()
    taxonomy = load_taxonomy()
    lead_columns = pq.read_schema(data / "leads.parquet").names
    spec = FeatureSpec.from_config(config.features, taxonomy, lead_columns)
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    events_path, leads_path = str(data / "events.parquet"), str(data / "leads.parquet")
    raw_types = connection.execute(
        f"SELECT DISTINCT event_type FROM read_parquet('{events_path}')"
    ).fetchall()
    type_map = pd.DataFrame(
        {
            "raw": [t for (t,) in raw_types],
            "canonical": [taxonomy.canonical(t) for (t,) in raw_types],
            "event_class": [taxonomy.class_of(t) for (t,) in raw_types],
            "is_known": [taxonomy.is_known(t) for (t,) in raw_types],
        }
    )
    connection.register("type_map", type_map)
    day = 86_400 * 10**9
    # The counts are written from the feature contract: each count's meaning (what is
    # counted, over which window) becomes one FILTER clause.
    aggregates = []
    for name, meaning in spec.meanings.items():
        if meaning.family != "counts" or meaning.what == "unknown types":
            continue
        within = "TRUE" if meaning.window is None else f"age_ns <= {meaning.window * day}"
        if meaning.what == "events":
            which = "TRUE"
        elif meaning.what in EVENT_CLASSES:
            which = f"event_class = '{meaning.what}'"
        else:
            which = f"event_type = '{meaning.what}'"
        aggregates.append(f"count(*) FILTER (WHERE {which} AND {within}) AS {name}")
    for name, meaning in spec.meanings.items():
        if name.startswith("n_active_days_"):
            within = "TRUE" if meaning.window is None else f"age_ns <= {meaning.window * day}"
            aggregates.append(f"count(DISTINCT day) FILTER (WHERE {within}) AS {name}")
    aggregates += [
        "count(*) FILTER (WHERE NOT is_known) AS n_unknown_type_events_all",
        "max(age_ns) / 86400e9 AS days_since_first_event",
        "min(age_ns) / 86400e9 AS days_since_last_event",
        *[
            f"min(age_ns) FILTER (WHERE event_class = '{c}') / 86400e9 AS days_since_last_{c}"
            for c in EVENT_CLASSES
        ],
        f"count(*) FILTER (WHERE age_ns <= {7 * day}) AS recent_7d",
        f"count(*) FILTER (WHERE age_ns > {7 * day} AND age_ns <= {37 * day}) AS prior_30d",
        "count(DISTINCT event_type) AS n_distinct_event_types",
        "count(DISTINCT channel) AS n_distinct_channels",
        *[
            f"coalesce(sum(pow(2, -age_ns / 86400e9 / {spec.decay_half_life_days})) "
            f"FILTER (WHERE event_class = '{c}'), 0) AS decayed_{c}_events"
            for c in EVENT_CLASSES
        ],
        f"sum(pow(2, -age_ns / 86400e9 / {spec.decay_half_life_days})) AS decayed_events_total",
        "max(age_ns) AS first_age_ns",
    ]
    fields = spec.profile_fields
    cutoff_ns = pd.Timestamp(as_of, tz="UTC").value
    given = {
        f: f"({f} IS NOT NULL AND trim({f}) <> '' "
        f"AND epoch_ns(coalesce({f}_provided_at, created_at)) < {cutoff_ns})"
        for f in fields
    }
    free = ", ".join(f"'{d}'" for d in spec.free_email_domains)
    information = [f"CAST({given[f]} AS DOUBLE) AS has_{f}" for f in fields]
    n_given = " + ".join(f"CAST({given[f]} AS INTEGER)" for f in fields)
    information += [
        f"CAST({n_given} AS DOUBLE) AS n_fields_provided",
        f"({n_given}) / {len(fields)}.0 AS share_fields_provided",
        f"CASE WHEN {given['email']} THEN CAST(lower(regexp_extract(email, '@([^@]*)$', 1)) "
        f"NOT IN ({free}) AS DOUBLE) END AS email_is_corporate",
    ]
    # The leads table's other columns join as the "lead_table" family; in the demo
    # they are categorical: given-or-not, one indicator per frequent value, "(other)".
    placeholders = ", ".join("'" + v.replace("'", "''") + "'" for v in spec.missing_values)
    reserved = {"lead_id", "created_at", *fields}
    table_features, table_names = [], []
    for column in lead_columns:
        if column in reserved or column.endswith("_provided_at"):
            continue
        key = f"lower(trim({column}))"
        present = (
            f"({column} IS NOT NULL AND trim({column}) <> '' AND {key} NOT IN ({placeholders}))"
        )
        kept = connection.execute(
            f"""SELECT {key} AS k, mode(trim({column})) AS label, count(*) AS n
                FROM read_parquet('{leads_path}') WHERE {present}
                GROUP BY k HAVING n >= {config.table.min_category_rows}
                ORDER BY n DESC, k LIMIT {config.table.max_categories}"""
        ).fetchall()
        table_features.append(f'CAST({present} AS DOUBLE) AS "has_{column}"')
        table_features += [
            f"CAST(coalesce({present} AND {key} = '{k}', FALSE) AS DOUBLE) AS \"{column}={label}\""
            for k, label, _ in kept
        ]
        others = " AND ".join(f"{key} <> '{k}'" for k, _, _ in kept) or "TRUE"
        table_features.append(
            f'CAST(coalesce({present} AND {others}, FALSE) AS DOUBLE) AS "{column}=(other)"'
        )
        table_names += [f"has_{column}"] + [f"{column}={label}" for _, label, _ in kept]
        table_names.append(f"{column}=(other)")
    information += table_features
    query = f"""
    WITH ev AS (
        SELECT e.lead_id, m.canonical AS event_type, m.event_class, m.is_known,
               coalesce(nullif(trim(e.channel), ''), 'unknown') AS channel,
               {cutoff_ns} - epoch_ns(e.timestamp) AS age_ns,
               epoch_ns(e.timestamp) // {day} AS day
        FROM read_parquet('{events_path}') e
        JOIN type_map m ON e.event_type = m.raw
        WHERE epoch_ns(e.timestamp) < {cutoff_ns}
    ),
    agg AS (SELECT lead_id, {", ".join(aggregates)} FROM ev GROUP BY lead_id),
    leads AS (SELECT * FROM read_parquet('{leads_path}')),
    everyone AS (
        SELECT lead_id FROM leads UNION SELECT DISTINCT lead_id FROM read_parquet('{events_path}')
    )
    SELECT w.lead_id, {", ".join(information)}, agg.*,
        CASE WHEN epoch_ns(leads.created_at) < {cutoff_ns} THEN
            greatest({cutoff_ns} - epoch_ns(leads.created_at),
                     coalesce(agg.first_age_ns, 0)) END AS created_age_ns
    FROM everyone w LEFT JOIN leads USING (lead_id) LEFT JOIN agg USING (lead_id)
    """
    frame = connection.execute(query).df().set_index("lead_id").sort_index()
    frame[table_names] = frame[table_names].fillna(0.0)  # leads the table lacks
    counts = [n for n in spec.names_of("counts")] + [
        f"n_active_days_{s}" for s in spec.window_suffixes
    ]
    frame[counts] = frame[counts].fillna(0.0)
    frame["n_distinct_event_types"] = frame["n_distinct_event_types"].fillna(0.0)
    frame["n_distinct_channels"] = frame["n_distinct_channels"].fillna(0.0)
    for name in spec.names_of("decay"):
        frame[name] = frame[name].fillna(0.0)
    frame["events_per_active_day"] = frame["n_events_all"] / frame["n_active_days_all"]
    frame["trend_7d_vs_prior_30d"] = ((frame["recent_7d"].fillna(0) + 1) / 7) / (
        (frame["prior_30d"].fillna(0) + 1) / 30
    )
    created = frame["created_age_ns"].where(frame["created_age_ns"].notna(), frame["first_age_ns"])
    frame["days_since_created"] = created / 86400e9
    return frame[spec.feature_names + table_names].astype(float)


def _compare(ours: pd.DataFrame, reference: pd.DataFrame) -> list[str]:
    # Our lead ids are text; the reference keeps the file's type (integers here).
    ours = ours.set_index(ours["lead_id"].astype(str)).drop(columns="lead_id").sort_index()
    reference = reference.set_index(reference["lead_id"].astype(str))
    reference = reference.drop(columns="lead_id").sort_index()
    if not ours.index.equals(reference.index):
        return ["different leads"]
    mismatched = []
    for name in ours.columns:
        a = ours[name].to_numpy(dtype=float)
        b = reference[name].to_numpy(dtype=float)
        if not np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True):
            mismatched.append(name)
    return mismatched


if __name__ == "__main__":
    main()
