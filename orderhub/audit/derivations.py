"""The canonical rows of ``orderhub audit check``: traced to their records, then re-derived.

``marts.fct_order_status_events`` is derived, so never logged row by row. Each row's
source record (system, key, content hash, batch) must be an intact raw row of a logged,
intact batch (:func:`check_lineage`); and the row must equal what the canonical model
derives from that record now (:func:`check_derived_columns`): it is paired with the row of
the dbt view it is built from (``intermediate.int_order_events__mapped``) that carries the
same ``event_id`` for the same record version, and every column both have is compared.
The event id is the view's own column (the dbt model computes it; nothing here re-derives
it): a row whose id its record's view rows do not carry has an id its record does not
derive. A view without that column (a dbt project older than this check) is a note.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from orderhub.audit.queries import (
    CANONICAL_TABLE,
    DERIVATION_VIEW,
    CheckReport,
    Progress,
    columns,
    exists,
)

#: An intact raw row: ``(system, record_key, content_hash)`` -> its batch.
Intact = dict[tuple[str, str, str], str]

#: fct_order_status_events columns named differently in the view they derive from.
RENAMED_FROM_VIEW: dict[str, str] = {
    "source_content_hash": "content_hash",
    "source_batch_id": "batch_id",
    "source_extracted_at": "extracted_at",
}

#: The canonical rows whose id or columns are not what the view derives, with what differs
#: and, when their own id is not derived, the ids their record's view rows carry that no
#: canonical row does.
_DIFFERENCES = """
select f.event_id, r.event_id is not null as paired,
       array_remove(array[{differs}], null) as columns,
       (select string_agg(m.event_id, ', ' order by m.event_id) from {view} m
        where m.source_system = f.source_system and m.source_record_key = f.source_record_key
          and m.content_hash = f.source_content_hash
          and not exists (select 1 from {table} g where g.event_id = m.event_id)) as derived
from {table} f
left join {view} r on r.event_id = f.event_id and r.content_hash = f.source_content_hash
where r.event_id is null or cardinality(array_remove(array[{differs}], null)) > 0
order by f.event_id
"""


def check_lineage(conn: psycopg.Connection[Any], intact: Intact, report: CheckReport) -> int:
    """Each canonical row's source record is intact and in its batch; how many rows."""
    count = 0
    for event_id, system, key, digest, batch_id in conn.execute(
        sql.SQL(
            "select event_id, source_system, source_record_key, source_content_hash,"
            " source_batch_id from {} order by event_id"
        ).format(sql.SQL(CANONICAL_TABLE))
    ):
        count += 1
        logged_batch = intact.get((system, key, digest))
        where = f"{CANONICAL_TABLE} event_id={event_id}"
        if logged_batch is None:
            report.add(
                where,
                f"its source record {system} {key} version {digest} is not an intact raw row "
                "of a logged batch",
            )
        elif logged_batch != batch_id:
            report.add(
                where, f"source_batch_id {batch_id} is not its record's batch {logged_batch}"
            )
    return count


def check_derived_columns(conn: psycopg.Connection[Any], report: CheckReport) -> None:
    """Each canonical row equals the view row of the same event id and record version."""
    if not exists(conn, DERIVATION_VIEW):
        report.notes.append(f"{DERIVATION_VIEW} does not exist: derivations not recomputed")
        return
    view_columns = set(columns(conn, DERIVATION_VIEW))
    if "event_id" not in view_columns:
        report.notes.append(
            f"{DERIVATION_VIEW} has no event_id column (built by an older dbt project): "
            "derivations not recomputed"
        )
        return
    pairs = [
        (column, RENAMED_FROM_VIEW.get(column, column))
        for column in columns(conn, CANONICAL_TABLE)
        if column != "event_id" and RENAMED_FROM_VIEW.get(column, column) in view_columns
    ]
    differs = sql.SQL(", ").join(
        sql.SQL("case when f.{} is distinct from r.{} then {} end").format(
            sql.Identifier(fct), sql.Identifier(view), sql.Literal(fct)
        )
        for fct, view in pairs
    )
    query = sql.SQL(_DIFFERENCES).format(
        view=sql.SQL(DERIVATION_VIEW), table=sql.SQL(CANONICAL_TABLE), differs=differs
    )
    for event_id, paired, differing, derived in conn.execute(query):
        where = f"{CANONICAL_TABLE} event_id={event_id}"
        if paired:
            report.add(
                where, f"{', '.join(differing)} differ(s) from what its source record derives to"
            )
        elif derived:
            report.add(where, f"its event_id is not one its source record derives ({derived})")
        else:
            report.add(where, "its source record no longer derives this event")
    report.counts["derived columns compared"] = len(pairs)


def check_canonical(
    conn: psycopg.Connection[Any], intact: Intact, report: CheckReport, progress: Progress
) -> None:
    """:func:`check_lineage` and :func:`check_derived_columns` of every canonical row."""
    if not exists(conn, CANONICAL_TABLE):
        report.notes.append(f"{CANONICAL_TABLE} does not exist: no canonical row checked")
        return
    report.counts["canonical rows"] = check_lineage(conn, intact, report)
    check_derived_columns(conn, report)
    progress(f"{CANONICAL_TABLE}: {report.counts['canonical rows']} rows traced and re-derived")
