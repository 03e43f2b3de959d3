"""The sandbox's scenarios as the dbt tests load them: extraction batches per round (the
messy scenario) or in two deliveries (the generated one), each batch extracted minutes after
the scenario's ``as_of``, so the SLA clock (the extraction time) stands just after it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from dbt_builds import Build, Tables
from dbt_records import Batch
from psycopg.rows import dict_row

from orderhub.sources import API_SYSTEMS
from sandbox.messy import MessyScenario
from sandbox.scenario import Scenario
from sandbox.store import CURSOR_FIELD

#: Where the scenarios of the dbt tests stand.
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class WorldBuilds:
    """A sandbox scenario built round by round (incrementally), then in one full build."""

    rounds: list[Build]
    differences: list[list[str]]  # per round: the api against the scenario's ground truth
    incremental: Tables
    full: Build
    full_tables: Tables


def extracted(round_number: int, delivery: int = 0) -> datetime:
    """When round ``round_number``'s batches are extracted."""
    return AS_OF + timedelta(minutes=10 * round_number + delivery)


def messy_round(scenario: MessyScenario, round_number: int) -> list[Batch]:
    """The batches a sync after round ``round_number`` stores: what that round changed."""
    return [
        Batch(system, extracted(round_number), records)
        for system in API_SYSTEMS
        if (
            records := scenario.records(system)
            if round_number == 1
            else scenario.changes(round_number, system)
        )
    ]


def generated_deliveries(scenario: Scenario) -> list[list[Batch]]:
    """The generated scenario's records in two deliveries: those changed before the median
    change time of their system, then the rest."""
    first, second = [], []
    for system in API_SYSTEMS:
        records = sorted(scenario.records(system), key=lambda r: r[CURSOR_FIELD[system]])
        half = len(records) // 2
        first.append(Batch(system, extracted(1), records[:half]))
        second.append(Batch(system, extracted(1, 1), records[half:]))
    return [first, second]


def api_rows(url: str) -> Any:
    """``fetch(view, columns)`` on the api schema of the database at ``url``."""

    def fetch(view: str, columns: Iterable[str]) -> list[Mapping[str, Any]]:
        with psycopg.connect(url, row_factory=dict_row) as conn:
            return conn.execute(f"select {', '.join(columns)} from api.{view}").fetchall()

    return fetch


__all__ = ["AS_OF", "WorldBuilds", "api_rows", "extracted", "generated_deliveries", "messy_round"]
