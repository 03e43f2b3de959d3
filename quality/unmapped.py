"""Status codes the crosswalk does not know yet, read from ``marts.fct_unmapped_status_codes``.

The canonical model keeps an unknown code (the event is stored with ``is_mapped =
false`` and decides nothing) and lists it in ``fct_unmapped_status_codes``; this module
turns that table into one line per code, naming the system, the field and the code, for
the Dagster check that fails while the list is not empty (a warning that does not stop
the api views from publishing the rest of the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

TABLE = "marts.fct_unmapped_status_codes"


@dataclass(frozen=True)
class UnmappedCode:
    """One (system, field, code) the crosswalk lacks, with where it was seen."""

    source_system: str
    source_field: str
    source_code: str | None
    event_count: int
    order_count: int
    example_order_id: str | None
    first_seen: datetime
    last_seen: datetime
    #: ``unmapped status code: system=wms field=PICK.state code='x' (…)``, as the model
    #: writes it (macro ``unmapped_status_code_message``).
    message: str

    def line(self) -> str:
        """The line that names the code."""
        return self.message


def unmapped_status_codes(database_url: str, schema: str = "marts") -> list[UnmappedCode]:
    """Every unmapped code, by system, field and code ([] before the first build)."""
    table = f'"{schema}".{TABLE.split(".", 1)[1]}'
    with psycopg.connect(database_url) as conn:
        found = conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()
        if not found or not found[0]:
            return []
        rows = conn.execute(
            "select source_system, source_field, source_code, event_count, order_count,"
            " example_order_id, first_seen at time zone 'UTC', last_seen at time zone 'UTC',"
            f" message from {table} order by source_system, source_field, source_code"
        ).fetchall()
    return [UnmappedCode(*row) for row in rows]


def markdown_table(codes: list[UnmappedCode]) -> str:
    """The codes as a Markdown table (Dagster check metadata)."""
    lines = [
        "| system | field | code | events | orders | example order | first seen |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines.extend(
        f"| {c.source_system} | {c.source_field} | `{c.source_code}` | {c.event_count} | "
        f"{c.order_count} | {c.example_order_id} | {c.first_seen:%Y-%m-%dT%H:%M:%SZ} |"
        for c in codes
    )
    return "\n".join(lines)


__all__ = ["UnmappedCode", "markdown_table", "unmapped_status_codes"]
