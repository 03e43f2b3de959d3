"""Write-audit-publish of the canonical build: write a colour, audit it, publish it.

The Dagster assets (:mod:`orchestration.dbt_assets`, :mod:`orchestration.quality_checks`)
and the tests use these same steps:

1. *write*: :func:`start_build` picks the colour not published
   (:func:`orderhub.publishing.build_colour`) and records the build's raw watermark;
   ``dbt build`` runs with :func:`colour_vars` (the marts go to ``marts_<colour>``, secured
   for the API by the access macros like any mart);
2. *audit*: :func:`audit_build` - the Great Expectations suites on that colour and the
   guards against the published colour (:mod:`quality.guards`); in Dagster each is a
   blocking asset check, and a failed one raises a ``publish_blocked`` case
   (:func:`block_case`);
3. *publish*: :func:`publish_build` compiles the api views and functions for the colour
   and hands them to :func:`orderhub.publishing.publish` (one transaction, under the
   publish lock). The first publish of a warehouse, when the api objects do not exist yet,
   creates them with dbt first (their grants and row security come from their post-hooks).
   The per-order engine is the publish's recompute hook
   (:func:`orderhub.publish_recompute.publish_hook`): the orders live pushes changed after
   the build's watermark are recomputed into the colour before it is published (compiled
   for the colour only when there are such orders).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from orchestration.dbt_run import invoke_dbt
from orderhub import publish_recompute, publishing
from orderhub.cases import raise_case
from orderhub.cases.store import raise_from_marts
from quality.guards import GUARDS, check_guard
from quality.new_rows import validate_built
from quality.suites import SUITES

API_SELECTION = "path:models/api"


def colour_vars(colour: str) -> str:
    """dbt's ``--vars`` for a build into ``colour``."""
    return json.dumps({"mart_colour": publishing.ColourSchemas.of(colour).colour})


def start_build(url: str, run_id: str | None = None) -> tuple[str, datetime]:
    """The colour the build writes, and its raw watermark (recorded)."""
    with psycopg.connect(url) as conn:
        colour = publishing.build_colour(conn).colour
        watermark = publishing.record_build(conn, colour, run_id)
    return colour, watermark


def colours(url: str) -> tuple[publishing.ColourSchemas, str | None]:
    """The colour being built (not published) and the published marts schema (or None)."""
    with psycopg.connect(url) as conn:
        live = publishing.published_colour(conn)
        built = publishing.build_colour(conn)
    return built, (None if live is None else publishing.ColourSchemas.of(live).marts)


@dataclass(frozen=True)
class CheckOutcome:
    """One blocking check of a build: its name, whether it passed, what it found."""

    name: str
    table: str
    passed: bool
    description: str


def audit_build(url: str) -> list[CheckOutcome]:
    """Every blocking check (suites, guards) on the colour being built."""
    built, published = colours(url)
    outcomes = [
        CheckOutcome(
            f"gx_{suite.name}",
            suite.table,
            (found := validate_built(url, suite, built.marts)).success,
            found.summary(),
        )
        for suite in SUITES.values()
    ]
    for guard in GUARDS:
        result = check_guard(url, guard, built.marts, published)
        outcomes.append(
            CheckOutcome(f"guard_{guard.name}", guard.table, result.passed, result.description)
        )
    return outcomes


def block_case(url: str, check: str, table: str, description: str, run_id: str | None) -> int:
    """Raise (or note again) the case of a blocking check that failed: what it blocked."""
    built, published = colours(url)
    detail: dict[str, Any] = {
        "check": check,
        "table": f"{built.marts}.{table}",
        "blocked": f"publish of {built.colour} (api views and marts)",
        "serving": published,
        "description": description,
        "run_id": run_id,
    }
    case_id = raise_case(url, "publish_blocked", check, detail)
    assert case_id is not None  # a case without a condition key is always raised
    return case_id


def _compiled(url: str, colour: str, work: Path) -> dict[str, tuple[str, str]]:
    result = invoke_dbt(
        url, work, "compile", "--select", f"{API_SELECTION},resource_type:model",
        "--vars", colour_vars(colour),
    )  # fmt: skip
    if not result.success:
        raise RuntimeError(f"dbt compile of the api models for {colour} failed")
    objects: dict[str, tuple[str, str]] = {}
    for node_result in result.result.results:
        node = node_result.node
        if node.resource_type != "model":
            continue
        kind = "function" if node.config.materialized == "api_function" else "view"
        objects[node.alias] = (kind, node.compiled_code)
    return objects


def _missing(url: str, objects: dict[str, tuple[str, str]], schema: str = "api") -> list[str]:
    with psycopg.connect(url) as conn:
        found = {
            row[0]
            for row in conn.execute(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = %s and c.relkind = 'v' union"
                " select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                " where n.nspname = %s",
                (schema, schema),
            )
        }
    return sorted(set(objects) - found)


def publish_build(url: str, work: Path, run_id: str | None = None) -> publishing.Published:
    """Publish the colour just built and audited (see the module)."""
    built, _ = colours(url)
    objects = _compiled(url, built.colour, work)
    if _missing(url, objects):
        created = invoke_dbt(
            url, work, "run", "--select", API_SELECTION, "--vars", colour_vars(built.colour)
        )
        if not created.success:
            raise RuntimeError(f"dbt run of the api models for {built.colour} failed")
    # the per-order engine recomputes in this colour the orders whose raw rows came after
    # the build (the publish rule); compiled before the publish takes its lock when needed
    unregister = publishing.register_recompute(
        publish_recompute.publish_hook(url, work / "recompute", built.colour)
    )
    try:
        with psycopg.connect(url) as conn:
            published = publishing.publish(conn, built.colour, objects, run_id=run_id)
    finally:
        unregister()
    with psycopg.connect(url) as conn:
        raise_from_marts(conn)  # the batch flow raises the cases of what it published
    return published


def audit_and_publish(
    url: str, work: Path, run_id: str | None = None
) -> tuple[list[CheckOutcome], publishing.Published | None]:
    """Outside Dagster: audit the colour just built; publish it when every check passed,
    else raise a case per failed check and publish nothing."""
    outcomes = audit_build(url)
    failed = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in failed:
        block_case(url, outcome.name, outcome.table, outcome.description, run_id)
    return outcomes, (None if failed else publish_build(url, work, run_id))


__all__ = [
    "API_SELECTION", "CheckOutcome", "audit_and_publish", "audit_build", "block_case",
    "colour_vars", "colours", "publish_build", "start_build",
]  # fmt: skip
