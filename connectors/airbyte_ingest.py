"""Take what an Airbyte server's sync wrote into the warehouse into ``raw_<system>``.

On the Airbyte server path (``orderhub connectors deploy``) the server runs the manifests and
its PostgreSQL destination, set to "raw tables only" (``disable_type_dedupe``), writes each
stream's records, whole, into its raw table
``airbyte_internal.airbyte_<system>_raw__stream_<stream>`` (destination-postgres 2.x and 3.x:
``_airbyte_raw_id``, ``_airbyte_extracted_at``, ``_airbyte_loaded_at``, ``_airbyte_data``
jsonb, ``_airbyte_meta``, ``_airbyte_generation_id``). A 3.x destination without the option
writes typed final tables only; the ingest then fails saying so. :func:`ingest_system` reads
the rows added there since the last ingest, in ``(_airbyte_extracted_at, _airbyte_raw_id)``
order, and passes each record through the embedded runner's loader: the same content hash, schema
checks and quarantine, one extraction batch per stream, rows and position committed in one
transaction per chunk. So the dbt models, the provenance events and ``orderhub audit`` see the
same ``raw_<system>`` tables on both paths.

The position is kept in the stream's stored state under ``airbyte_raw`` beside the cursor
field (the newest cursor value ingested), so the embedded runner can take over from it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from connectors.airbyte_config import airbyte_raw_table, destination_namespace
from connectors.catalog import ConnectorSpec, StreamSpec, get_connector
from connectors.errors import ConnectorError
from connectors.loader import Batch, BatchResult, StreamLoader
from connectors.sync import batch_id, report_results, system_lock

__all__ = ["POSITION_KEY", "ingest_system"]

LOGGER = logging.getLogger("connectors.airbyte_ingest")
#: Where a stream's state keeps how far the destination's raw table has been ingested.
POSITION_KEY = "airbyte_raw"
#: Rows read and committed together.
CHUNK_ROWS = 5000
Progress = Callable[[str], None]


def ingest_system(
    system: str, database_url: str, *, progress: Progress | None = None
) -> list[BatchResult]:
    """Load the records Airbyte's destination added for ``system`` into its raw tables.

    Raises :class:`ConnectorError` naming the table when the destination has not written it
    (the connection never synced), with rows and state left as they were.
    """
    connector = get_connector(system)
    started_at = datetime.now(UTC)
    results = []
    with system_lock(system, database_url) as state:
        for stream in connector.streams:
            stored = state.get(stream.name, {})
            results.append(
                _ingest_stream(connector, stream, database_url, stored, started_at, progress)
            )
    report_results(system, results, progress)
    return results


def _ingest_stream(
    connector: ConnectorSpec,
    stream: StreamSpec,
    database_url: str,
    state: Mapping[str, Any],
    started_at: datetime,
    progress: Progress | None,
) -> BatchResult:
    system = connector.name
    schema, table = airbyte_raw_table(system, stream.name)
    with psycopg.connect(database_url) as reader:
        if not _exists(reader, schema, table):
            raise ConnectorError(
                system, _missing(reader, system, stream, schema, table), stream.name
            )
        position = state.get(POSITION_KEY) or {}
        cursor = state.get(stream.cursor_field)
        batch = Batch(
            batch_id=batch_id(system, stream.name, started_at),
            system=system,
            stream=stream.name,
            started_at=started_at,
            cursor_from=None if cursor is None else str(cursor),
        )
        loader = StreamLoader(database_url, connector, stream, batch, progress)
        started = time.monotonic()
        try:
            loader.open_batch()
            if progress is not None:
                since = position.get("extracted_at", "the beginning")
                progress(f"{system}.{stream.name}: ingesting {schema}.{table} from {since}")
            committed = dict(state)
            for rows in _chunks(reader, schema, table, position):
                for _, _, data in rows:
                    if not loader.add(data):
                        continue  # quarantined: its cursor value is not to be trusted
                    value = stream.as_read(data).get(stream.cursor_field)
                    if value is not None and (cursor is None or str(value) > str(cursor)):
                        cursor = str(value)
                extracted_at, raw_id, _ = rows[-1]
                committed = {
                    **committed,
                    stream.cursor_field: cursor,
                    POSITION_KEY: {"extracted_at": extracted_at.isoformat(), "raw_id": raw_id},
                }
                loader.commit(committed)
            if not loader.checkpoints:
                loader.commit(committed)  # nothing new: the batch closes with the state it had
            return loader.succeed(started, time.monotonic())
        except psycopg.Error as error:
            loader.fail()
            raise ConnectorError.from_warehouse(
                system, error, f"ingesting {schema}.{table}", stream.name
            ) from error
        except BaseException:
            loader.fail()
            raise
        finally:
            loader.close()


def _exists(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    found = conn.execute("select to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
    return bool(found and found[0] is not None)


def _missing(
    conn: psycopg.Connection[Any], system: str, stream: StreamSpec, schema: str, table: str
) -> str:
    """Why the raw table is not there: a destination writing typed final tables only
    (destination-postgres 3.x without "raw tables only"), or no sync yet."""
    final = destination_namespace(system), stream.name
    if _exists(conn, *final):
        return (
            f"the Airbyte destination wrote the typed final table {final[0]}.{final[1]} but no"
            f' raw table {schema}.{table}: it runs without "Raw tables only"'
            " (disable_type_dedupe, destination-postgres 3.x Direct Load), whose rows are not"
            " the records as the source sent them; run orderhub connectors deploy again (it"
            " sets the option) and sync"
        )
    return (
        f"the Airbyte destination has not written {schema}.{table}: has the connection "
        f"synced? (orderhub connectors deploy sets the destination's raw schema to {schema}"
        ' and "Raw tables only")'
    )


def _chunks(
    reader: psycopg.Connection[Any], schema: str, table: str, position: Mapping[str, Any]
) -> Iterator[list[tuple[datetime, str, Any]]]:
    """Rows ``(extracted_at, raw_id, data)`` after ``position``, ``CHUNK_ROWS`` at a time."""
    query = sql.SQL(
        "select _airbyte_extracted_at, _airbyte_raw_id::text, _airbyte_data from {}"
        " where _airbyte_data is not null {} order by _airbyte_extracted_at, _airbyte_raw_id::text"
    )
    after = sql.SQL("")
    params: tuple[Any, ...] = ()
    if position.get("extracted_at"):
        after = sql.SQL(
            "and (_airbyte_extracted_at, _airbyte_raw_id::text) > (%s::timestamptz, %s)"
        )
        params = (position["extracted_at"], str(position.get("raw_id", "")))
    with reader.cursor(name="orderhub_airbyte_ingest") as cur:
        cur.itersize = CHUNK_ROWS
        cur.execute(query.format(sql.Identifier(schema, table), after), params)
        while rows := cur.fetchmany(CHUNK_ROWS):
            yield rows
