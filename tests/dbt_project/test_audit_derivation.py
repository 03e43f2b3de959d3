"""The audit's verifier and the dbt models derive the same events and statuses.

For every order of the scenario builds (the nine orders of the main build, the messy
scenario built round by round and in full, the generated scenario), the order's source
records - every stored version - are handed to the verifier's derivation
(``ledger.bundle.derive`` with the derivation spec of this project, and the crosswalk rows
the build holds) and to its status rules (``ledger.bundle.rollup``): the events must be the
events mart's, column for column, and the claim (status, deciding event, node, since when,
payment, shipments, event ids) the one the current-status marts serve. So the SQL that
derives events and the verifier that re-derives them cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg
import pytest
from dbt_builds import Build
from dbt_worlds import WorldBuilds

from ledger.bundle.derive import Version, derive_events
from ledger.bundle.format import CROSSWALK_COLUMNS
from ledger.bundle.rollup import rederive_claim
from ledger.bundle.values import read_iso_utc
from orderhub.audit.records import record_versions
from orderhub.claims import event_rows, order_claims
from orderhub.crosswalk import crosswalk_version
from orderhub.derivation import derivation_spec, event_tables


def differences(url: str) -> tuple[int, list[str]]:
    """How many orders were re-derived, and every difference with the marts."""
    spec = derivation_spec()
    found: list[str] = []
    with psycopg.connect(url) as conn:
        columns = ", ".join(CROSSWALK_COLUMNS)
        rows = conn.execute(
            f"select {columns}, crosswalk_version from intermediate.int_status_crosswalk__versioned"
        ).fetchall()
        by_field: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_field[(row[0], row[1])].append(dict(zip(CROSSWALK_COLUMNS, row, strict=False)))
        version = rows[0][-1]
        claims = order_claims(conn)
        for order, claim in sorted(claims.items()):
            served = {e["event_id"]: e for e in event_rows(conn, order)}
            keys = {(e["source_system"], e["source_record_key"]) for e in served.values()}
            versions = [
                Version(n, v.system, v.relation, v.record_key, v.content_hash, v.batch_id,
                        read_iso_utc(v.extracted_at, "version"), v.data)
                for n, v in enumerate(record_versions(conn, keys, event_tables(spec)))
            ]  # fmt: skip
            derivation = derive_events(
                spec, versions, lambda s, f: by_field.get((s, f), []), version
            )
            derived = derivation.events
            for event_id in sorted(set(served) | set(derived)):
                mine, theirs = derived.get(event_id), served.get(event_id)
                if mine != theirs:
                    changed = sorted(k for k in (mine or theirs or {})
                                     if (mine or {}).get(k) != (theirs or {}).get(k))  # fmt: skip
                    found.append(
                        f"{order} event {event_id}: "
                        + ", ".join(
                            f"{k} derived {(mine or {}).get(k)!r}, served {(theirs or {}).get(k)!r}"
                            for k in changed
                        )
                    )
            again = rederive_claim(order, list(derived.values()), spec)
            if again != claim:
                changed = sorted(k for k in claim if claim[k] != again[k])
                found.append(
                    f"{order} claim: "
                    + ", ".join(f"{k} derived {again[k]!r}, served {claim[k]!r}" for k in changed)
                )
    return len(claims), found


def test_the_main_build_is_rederived(main_build: Build) -> None:
    orders, found = differences(main_build.url)
    assert orders >= 9
    assert found == []


@pytest.mark.parametrize("which", ["rounds", "full"])
def test_the_messy_scenario_is_rederived(messy: WorldBuilds, which: str) -> None:
    build = messy.rounds[-1] if which == "rounds" else messy.full
    orders, found = differences(build.url)
    assert orders > 20
    assert found == []


def test_the_generated_scenario_is_rederived(generated: WorldBuilds) -> None:
    orders, found = differences(generated.full.url)
    assert orders >= 80
    assert found == []


def test_the_crosswalk_version_is_the_same_in_python_and_sql(main_build: Build) -> None:
    (version,) = main_build.query(
        "select distinct crosswalk_version from intermediate.int_status_crosswalk__versioned"
    )
    assert version == (crosswalk_version(),)
