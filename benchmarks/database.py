"""Reading an event log from PostgreSQL and DuckDB against the same log in Parquet.

Run: .venv/bin/python benchmarks/database.py [--leads 65000]
(needs the dev and sql extras: a pgserver PostgreSQL is started in a temporary
directory and removed afterwards)

The simulated funnel's events (about 10M rows for 65,000 leads) are written to
a Parquet file, a PostgreSQL table and a DuckDB file. Each measurement runs in
a fresh process, so that peak memory (max RSS) is its own:

* ``arrow``: the raw read into Arrow record batches, all columns, streamed
  (``pyarrow.parquet.ParquetFile.iter_batches`` / ADBC's binary COPY /
  DuckDB's Arrow reader), batches counted and let go;
* ``open_events``: what training and scoring do with a source: stream it,
  validate and classify every row, and spill it by lead into chunk files
  (``intent_model.events.chunks.open_events``, chunks of 2M events).

Prints seconds, rows per second, peak memory and the time ratio to Parquet.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=65000)
    parser.add_argument("--worker", choices=["arrow", "open_events"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.source)))
        return
    import pgserver

    from intent_model.io.database import parse_database_url, write_database_table
    from intent_model.simulate.funnel import simulate_funnel

    with tempfile.TemporaryDirectory(prefix="bench-database-") as tmp:
        root = Path(tmp)
        events = simulate_funnel(n_leads=args.leads, seed=0).events
        n_events = len(events)
        parquet = root / "events.parquet"
        events.to_parquet(parquet)
        server = pgserver.get_server(root / "pg", cleanup_mode="delete")
        try:
            uri = server.get_uri()
            sources = {
                "Parquet": str(parquet),
                "PostgreSQL": f"{uri}&table=events",
                "DuckDB": f"duckdb:{root / 'w.duckdb'}?table=events",
            }
            started = time.perf_counter()
            write_database_table(events, parse_database_url(sources["PostgreSQL"]))
            loading = time.perf_counter() - started
            write_database_table(events, parse_database_url(sources["DuckDB"]))
            del events
            rows = []
            for worker in ("arrow", "open_events"):
                for name, source in sources.items():
                    measured = _run(worker, source)
                    assert measured["rows"] == n_events, (name, worker, measured)
                    rows.append({"read": worker, "source": name, **measured})
        finally:
            server.cleanup()
    table = pd.DataFrame(rows)
    parquet_seconds = table[table["source"] == "Parquet"].set_index("read")["seconds"]
    table["ratio_to_parquet"] = (table["seconds"] / table["read"].map(parquet_seconds)).round(2)
    table["rows_per_s"] = (n_events / table["seconds"]).map("{:,.0f}".format)
    table["rows"] = table["rows"].map("{:,}".format)
    print(
        f"Reading {n_events:,} events ({args.leads:,} leads); loading them into PostgreSQL "
        f"(ADBC ingest, one transaction) took {loading:.1f} s"
    )
    print(
        table[
            ["read", "source", "rows", "seconds", "rows_per_s", "peak_mb", "ratio_to_parquet"]
        ].to_string(index=False)
    )


def _run(worker: str, source: str) -> dict:
    command = [sys.executable, __file__, "--worker", worker, "--source", source]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _worker(worker: str, source: str) -> dict:
    import pyarrow.parquet as pq

    from intent_model.events.chunks import open_events
    from intent_model.io.database import is_database_url, parse_database_url, read_batches

    started = time.perf_counter()
    if worker == "arrow":
        if is_database_url(source):
            batches = read_batches(parse_database_url(source))
        else:
            batches = pq.ParquetFile(source).iter_batches(batch_size=1_000_000)
        rows = sum(batch.num_rows for batch in batches)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-chunks-") as workdir:
            chunks = open_events(source, workdir=workdir)
            rows = chunks.checked.n_read
    seconds = time.perf_counter() - started
    sys.path.insert(0, str(Path(__file__).parent))
    from features import peak_rss_mb

    peak_mb = peak_rss_mb()
    return {"rows": rows, "seconds": round(seconds, 2), "peak_mb": round(peak_mb)}


if __name__ == "__main__":
    main()
