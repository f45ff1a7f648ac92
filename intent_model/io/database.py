"""Tables in a database: PostgreSQL and DuckDB files, read as Arrow record batches and
written with one atomic swap.

A database source or sink is a URL wherever a file path is accepted
(``--events``, ``--leads``, ``--out``, ``--previous``, the Python API)::

    postgresql://user@host:5432/db?table=events
    postgresql://user@host/db?table=analytics.events&sslmode=require
    postgresql://user@host/db?query=SELECT visitor AS lead_id, ts, action FROM web.events
    duckdb:///absolute/path/warehouse.duckdb?table=events
    duckdb:relative/path/warehouse.duckdb?table=events

``table=`` names a table (``schema.table`` allowed); ``query=`` is the rest
of the URL, as written, so it comes last and needs no escaping. Other
parameters go to the database driver (PostgreSQL's ``sslmode``, ``host`` for
a socket directory...). Keep the password out of the URL: libpq reads
``PGPASSWORD`` and ``~/.pgpass``; messages never show a password anyway.

PostgreSQL is read and written through ADBC (``adbc-driver-postgresql``, an
Apache Arrow project): it speaks PostgreSQL's binary COPY protocol straight
into Arrow record batches, so rows never pass through Python objects, and it
streams (a cursor hands batches of about 16 MB). DuckDB files go through
``duckdb``'s own Arrow reader. Both are in the ``sql`` extra:
``pip install 'intent_model[sql]'``.

Writes never leave half a table: the rows go into a staging table, then, in
the same transaction, the old table is dropped and the staging table takes
its name. PostgreSQL and DuckDB both make DDL transactional, so a reader sees
the old rows or the new ones, and a run killed before the commit leaves the
old table as it was (its transaction is rolled back with the staging table).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from intent_model.errors import InputError

SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "duckdb": "duckdb"}
_EXTRA = "pip install 'intent_model[sql]'"


@dataclass(frozen=True)
class DatabaseTable:
    """A table or a query in a database, parsed from a URL (see the module's docstring).

    Attributes
    ----------
    kind : {"postgresql", "duckdb"}
    connection : str
        What the driver connects with: a PostgreSQL URL without ``table=`` or
        ``query=``, or a DuckDB file's path.
    table : str or None
    query : str or None
    shown_as : str
        The URL without its password, for messages.
    """

    kind: Literal["postgresql", "duckdb"]
    connection: str
    table: str | None
    query: str | None
    shown_as: str

    def __str__(self) -> str:
        return self.shown_as

    @property
    def stem(self) -> str:
        """A short name for files about this source (the table's name, or ``query``)."""
        return self.table.split(".")[-1] if self.table else "query"

    def select(self) -> str:
        return self.query if self.query else f"SELECT * FROM {quoted(self.table)}"


def is_database_url(value: object) -> bool:
    """True for a string that starts with a database scheme (``postgresql:``, ``duckdb:``)."""
    if not isinstance(value, str) or ":" not in value:
        return False
    return value.split(":", 1)[0].lower() in SCHEMES


def shown_source(source: object) -> str:
    """How messages name a source: a database URL without its password, else ``str()``."""
    return str(parse_database_url(source)) if is_database_url(source) else str(source)


def parse_database_url(url: str) -> DatabaseTable:
    """Parse a database URL naming a table or a query.

    Raises
    ------
    InputError
        When the URL names neither a table nor a query, or both.
    """
    base, _, params = url.partition("?")
    query = None
    if "query=" in params:
        params, _, query = params.partition("query=")
        params = params.rstrip("&")
    pairs = parse_qsl(params, keep_blank_values=True)
    table = dict(pairs).get("table")
    driver_params = [(k, v) for k, v in pairs if k != "table"]
    kind = SCHEMES[base.split(":", 1)[0].lower()]
    parts = urlsplit(base)
    shown = urlunsplit(parts._replace(netloc=_without_password(parts))) + (
        f"?{params}" if params else ""
    )
    if query is not None:
        shown += f"{'&' if params else '?'}query={query}"
    if (table is None) == (query is None):
        raise InputError(
            f"{shown}: name a table (?table=events) or a query (?query=SELECT ...), one of them"
        )
    if kind == "duckdb":
        path = parts.path if parts.netloc == "" else parts.netloc + parts.path
        connection = path
    else:
        connection = urlunsplit(
            ("postgresql", parts.netloc, parts.path, urlencode(driver_params), "")
        )
    return DatabaseTable(kind, connection, table, query, shown)


def _without_password(parts) -> str:
    if parts.password is None:
        return parts.netloc
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return f"{user}:***@{host}"


def quoted(name: str) -> str:
    """A (possibly schema-qualified) table name as a quoted SQL identifier."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


@contextlib.contextmanager
def _connect(source: DatabaseTable, read_only: bool = False):
    try:
        if source.kind == "duckdb":
            import duckdb

            if read_only and not Path(source.connection).is_file():
                raise InputError(f"{source}: no DuckDB file at {source.connection}")
            Path(source.connection).parent.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect(source.connection, read_only=read_only)
        else:
            import adbc_driver_postgresql.dbapi as postgres

            connection = postgres.connect(source.connection)
    except ImportError as exc:
        raise InputError(
            f"{source}: a database source or sink needs the sql extra: {_EXTRA}"
        ) from exc
    except InputError:
        raise
    except Exception as exc:  # the drivers' own error types differ: name the source
        raise InputError(f"{source}: cannot connect: {_first_line(exc)}") from None
    try:
        yield connection
    finally:
        connection.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def count_rows(source: DatabaseTable) -> int:
    """The number of rows of the table or query (a ``count(*)``: for a query, it runs once
    more), so that a large source can be split into chunks before it is read."""
    sql = f"SELECT count(*) FROM ({source.select()}) AS counted"
    with _connect(source, read_only=True) as connection:
        try:
            if source.kind == "duckdb":
                return int(connection.execute(sql).fetchone()[0])
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return int(cursor.fetchone()[0])
        except Exception as exc:
            raise InputError(f"{source}: {_first_line(exc)}") from None


def read_batches(source: DatabaseTable, batch_rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
    """Stream the table or query as Arrow record batches (at most ``batch_rows`` rows each
    for DuckDB; about 16 MB each for PostgreSQL)."""
    with _connect(source, read_only=True) as connection:
        try:
            if source.kind == "duckdb":
                relation = connection.sql(source.select())
                # duckdb 2 renamed fetch_arrow_reader (1.x) to to_arrow_reader.
                reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
                yield from reader(batch_rows)
                return
            with connection.cursor() as cursor:
                cursor.execute(source.select())
                yield from cursor.fetch_record_batch()
        except Exception as exc:
            raise InputError(f"{source}: {_first_line(exc)}") from None


def read_database_table(source: DatabaseTable) -> pa.Table:
    """The whole table or query as one Arrow table."""
    batches = list(read_batches(source))
    if not batches:
        raise InputError(f"{source}: no rows")
    return pa.Table.from_batches(batches)


def write_database_table(frame: pd.DataFrame | pa.Table, target: DatabaseTable) -> None:
    """Replace ``target``'s table by ``frame`` in one transaction (see the module's docstring).

    The staging table is named after the target and a random suffix, so two
    runs never write into each other's.
    """
    if target.table is None:
        raise InputError(f"{target}: a query cannot be written to; name a table (?table=...)")
    table = (
        pa.Table.from_pandas(frame, preserve_index=False)
        if isinstance(frame, pd.DataFrame)
        else frame
    )
    *schema, name = target.table.split(".")
    staging = f"{name[:40]}_incoming_{uuid.uuid4().hex[:8]}"
    staging_full = ".".join([*schema, staging])
    with _connect(target) as connection:
        try:
            if target.kind == "duckdb":
                _swap_in_duckdb(connection, table, staging_full, target.table, name)
            else:
                _swap_in_postgres(connection, table, schema, staging, target.table, name)
        except Exception as exc:
            raise InputError(f"{target}: cannot write the table: {_first_line(exc)}") from None


def _swap_in_duckdb(connection, table: pa.Table, staging: str, target: str, name: str) -> None:
    connection.execute("BEGIN TRANSACTION")
    connection.register("_intent_incoming", table)
    connection.execute(f"CREATE TABLE {quoted(staging)} AS SELECT * FROM _intent_incoming")
    connection.execute(f"DROP TABLE IF EXISTS {quoted(target)}")
    connection.execute(f"ALTER TABLE {quoted(staging)} RENAME TO {quoted(name)}")
    connection.execute("COMMIT")


def _swap_in_postgres(
    connection, table: pa.Table, schema: list[str], staging: str, target: str, name: str
) -> None:
    # The ADBC connection is not in autocommit mode: everything below is one transaction.
    with connection.cursor() as cursor:
        cursor.adbc_ingest(
            staging, table, mode="create", db_schema_name=schema[0] if schema else None
        )
        cursor.execute(f"DROP TABLE IF EXISTS {quoted(target)}")
        staged = quoted(".".join([*schema, staging]))
        cursor.execute(f"ALTER TABLE {staged} RENAME TO {quoted(name)}")
    connection.commit()
