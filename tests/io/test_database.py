"""Database sources and sinks, on a real PostgreSQL server and real DuckDB files.

The PostgreSQL server is pgserver's (its binaries come in the wheel, installed
by the dev extra); the tests marked ``postgres`` are skipped only when no
server can start, saying why. No mock database.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intent_model.errors import InputError
from intent_model.io.config import Config, FeatureConfig, InputConfig
from intent_model.io.database import (
    is_database_url,
    parse_database_url,
    read_database_table,
    write_database_table,
)

pytest.importorskip("adbc_driver_postgresql", reason="the sql extra is not installed")


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """The URL (without a table) of a PostgreSQL server that lives for this module."""
    try:
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    except Exception as exc:  # any reason a server cannot start here: say it
        pytest.skip(f"no PostgreSQL server could start: {exc}")
    yield server.get_uri()
    server.cleanup()


def _table(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}table={name}"


def _demo_in(url: str, small_demo) -> dict[str, str]:
    sources = {"events": _table(url, "events"), "leads": _table(url, "leads")}
    write_database_table(small_demo.events, parse_database_url(sources["events"]))
    write_database_table(small_demo.leads, parse_database_url(sources["leads"]))
    return sources


def _same_scores(from_database: pd.DataFrame, from_file: pd.DataFrame) -> None:
    assert list(from_database.columns) == list(from_file.columns)
    assert from_database["lead_id"].tolist() == from_file["lead_id"].tolist()
    np.testing.assert_allclose(from_database["p_hard"], from_file["p_hard"], rtol=0, atol=1e-12)
    # A database has no pandas metadata: a rank column with nulls reads back as float.
    assert from_database["rank"].astype("Int64").equals(from_file["rank"].astype("Int64"))
    for column in from_file.columns.difference(["p_hard", "rank"]):
        assert from_database[column].astype(str).tolist() == from_file[column].astype(str).tolist()


# --- URLs -------------------------------------------------------------------------------


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=20)


@given(user=names, password=names, table=names, schema=st.none() | names)
def test_a_url_names_its_table_and_never_shows_its_password(user, password, table, schema):
    full = f"{schema}.{table}" if schema else table
    parsed = parse_database_url(f"postgresql://{user}:{password}@db.example:5432/crm?table={full}")
    assert parsed.table == full and parsed.query is None
    assert f":{password}@" not in str(parsed)
    assert f":{password}@" in parsed.connection
    assert "table=" not in parsed.connection


def test_a_query_is_the_rest_of_the_url_as_written():
    sql = "SELECT v AS lead_id, ts, a FROM web.events WHERE a <> 'x' AND n = 1 & 2"
    parsed = parse_database_url(f"postgresql://me@host/db?sslmode=require&query={sql}")
    assert parsed.query == sql and parsed.select() == sql
    assert parsed.connection == "postgresql://me@host/db?sslmode=require"


def test_duckdb_urls_take_absolute_and_relative_paths():
    assert parse_database_url("duckdb:///srv/w.duckdb?table=e").connection == "/srv/w.duckdb"
    assert parse_database_url("duckdb:data/w.duckdb?table=e").connection == "data/w.duckdb"
    assert is_database_url("DuckDB:data/w.duckdb?table=e")
    assert not is_database_url("data/events.parquet") and not is_database_url(None)


@pytest.mark.parametrize("url", ["postgresql://me@host/db", "duckdb:w.duckdb?table=a&query=x"])
def test_a_url_must_name_a_table_or_a_query(url):
    with pytest.raises(InputError, match="name a table"):
        parse_database_url(url)


def test_an_unreachable_server_is_named_without_its_password():
    url = "postgresql://me:secret@127.0.0.1:1/db?table=events&connect_timeout=2"
    with pytest.raises(InputError, match="cannot connect") as error:
        read_database_table(parse_database_url(url))
    assert "secret" not in str(error.value) and "127.0.0.1:1/db" in str(error.value)


# --- DuckDB -----------------------------------------------------------------------------


def test_duckdb_file_as_source_and_sink(trained, small_demo, tmp_path):
    from intent_model import predict

    database = f"duckdb:{tmp_path / 'warehouse.duckdb'}"
    write_database_table(small_demo.events, parse_database_url(f"{database}?table=events"))
    small_demo.events.to_parquet(tmp_path / "events.parquet")
    model = trained[1] / "models" / "first"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = predict(model, tmp_path / "events.parquet", small_demo.leads).scores
        result = predict(
            model, f"{database}?table=events", small_demo.leads, out=f"{database}?table=scores"
        )
    assert "run_id" in result.summary()
    written = read_database_table(parse_database_url(f"{database}?table=scores")).to_pandas()
    assert (written["run_id"] == result.run_id).all()
    _same_scores(written.drop(columns="run_id"), from_file)


def test_a_large_table_is_streamed_in_chunks_with_the_same_features(small_demo, tmp_path):
    from intent_model import build_features

    database = f"duckdb:{tmp_path / 'w.duckdb'}?table=events"
    write_database_table(small_demo.events, parse_database_url(database))
    # Chunks much smaller than the log: the streamed path, chunk files in workdir.
    config = Config(features=FeatureConfig(chunk_events=len(small_demo.events) // 5))
    as_of = small_demo.start + pd.Timedelta(days=200)
    streamed = build_features(database, small_demo.leads, as_of, config, workdir=tmp_path)
    whole = build_features(small_demo.events, small_demo.leads, as_of, Config())
    pd.testing.assert_frame_equal(streamed.sort_index(), whole.sort_index())


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.mark.postgres
def test_training_from_postgres_tables_equals_training_from_parquet(postgres, small_demo, tmp_path):
    from intent_model import train

    sources = _demo_in(postgres, small_demo)
    small_demo.events.to_parquet(tmp_path / "events.parquet")
    small_demo.leads.to_parquet(tmp_path / "leads.parquet")
    config = Config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_files = train(
            tmp_path / "events.parquet",
            tmp_path / "leads.parquet",
            tmp_path / "a",
            config,
            track=False,
        )
        from_tables = train(
            sources["events"], sources["leads"], tmp_path / "b", config, track=False
        )
    pd.testing.assert_frame_equal(from_tables.metrics, from_files.metrics)


@pytest.mark.postgres
def test_predict_writes_a_postgres_table_equal_to_the_parquet_output(
    postgres, trained, small_demo, tmp_path
):
    from intent_model import predict

    sources = _demo_in(postgres, small_demo)
    model = trained[1] / "models" / "first"
    out = _table(postgres, "lead_scores")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = predict(model, small_demo.events, small_demo.leads, out=tmp_path / "s.parquet")
        result = predict(model, sources["events"], sources["leads"], out=out)
    written = read_database_table(parse_database_url(out)).to_pandas()
    assert written["run_id"].unique().tolist() == [result.run_id]
    _same_scores(written.drop(columns="run_id"), pd.read_parquet(tmp_path / "s.parquet"))
    assert len(written) == len(from_file.scores) == small_demo.leads["lead_id"].nunique()


def _scalar(url: str, sql: str):
    query = f"{url}{'&' if '?' in url else '?'}query={sql}"
    return read_database_table(parse_database_url(query)).column(0)[0].as_py()


@pytest.mark.postgres
def test_a_killed_predict_leaves_the_previous_scores_table_whole(postgres, trained, small_demo):
    import adbc_driver_postgresql.dbapi as pg

    sources = _demo_in(postgres, small_demo)
    out = _table(postgres, "nightly_scores")
    yesterday = pd.DataFrame({"lead_id": ["L1", "L2"], "p_hard": [0.9, 0.1]})
    write_database_table(yesterday, parse_database_url(out))
    command = [
        sys.executable,
        "-m",
        "intent_model.cli",
        "predict",
        "--model",
        str(trained[1] / "models" / "first"),
        "--events",
        sources["events"],
        "--leads",
        sources["leads"],
        "--out",
        out,
    ]
    # A dashboard reading yesterday's table holds a lock on it: the run gets as far as the
    # swap (its staging table written, inside its transaction) and waits there; then it dies.
    reader = pg.connect(postgres)
    with reader.cursor() as cursor:
        cursor.execute('LOCK TABLE "nightly_scores" IN ACCESS SHARE MODE')
    waiting = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND query LIKE 'DROP TABLE%'"
    )
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not _scalar(postgres, waiting):
            assert run.poll() is None, run.stderr.read().decode()
            assert time.monotonic() < deadline, "predict never reached the swap"
            time.sleep(0.2)
        run.kill()
        run.wait()
    finally:
        reader.rollback()
        reader.close()
    # The server rolls the dead run's transaction back once it sees the client gone.
    deadline = time.monotonic() + 60
    leftovers = "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'nightly_scores_incoming%'"
    while _scalar(postgres, leftovers):
        assert time.monotonic() < deadline, "the staging table outlived the killed run"
        time.sleep(0.2)
    assert read_database_table(parse_database_url(out)).to_pandas().equals(yesterday)


@pytest.mark.postgres
def test_bad_rows_of_a_postgres_table_are_quarantined_with_their_key_and_row(postgres, tmp_path):
    from intent_model import load_events
    from intent_model.io.load import write_quarantine

    events = pd.DataFrame(
        {
            "event_id": [101, 102, 103],
            "lead_id": ["a", "b", "c"],
            "timestamp": ["2024-03-01T09:00:00Z", "not a date", "2024-03-02T09:00:00Z"],
            "event_type": ["page_view", "demo_request", "email_open"],
        }
    )
    source = _table(postgres, "raw_events")
    write_database_table(events, parse_database_url(source))
    config = Config(input=InputConfig(on_bad_rows="quarantine"))
    log = load_events(source, config)
    assert log.checked.n_read == 3 and log.checked.n_used == 2
    path = write_quarantine(log.checked, tmp_path)
    assert path.name == "raw_events.rejected.csv"
    rejected = pd.read_csv(path)
    assert rejected["event_id"].tolist() == [102]
    assert rejected["_rejected_row"].tolist() == ["row 1"]
    assert rejected["_rejected_column"].tolist() == ["timestamp"]
