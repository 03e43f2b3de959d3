"""The api schema PostgREST serves: its views, the columns their yml documents, each a
security_invoker view granted to exactly the roles its yml declares, the tables behind them
under row-level security - kept through a build that does not publish the views and through
a rebuild that recreates the tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from dbt_builds import PROJECT, Build, build, database

from orchestration.dbt_run import FLOW_BUILD_EXCLUDES

API_MODELS = PROJECT / "models" / "api" / "_api__models.yml"
VIEWS = {
    "orders",
    "order_events",
    "order_timeline",
    "order_exceptions",
    "unmapped_status_codes",
    "order_tags",
    "shipments",
    "delivery_estimates",
    "daily_demand",
    "demand_forecasts",
    "ledger_checkpoints",
    "fulfilment_allocations",
    "manual_review",
    "replenishment",
    "order_emissions",
    "consolidation_suggestions",
    "order_changes",
}
ROLES = ("anon", "customer", "partner", "analyst", "ops", "auditor")


def _declared() -> dict[str, dict[str, Any]]:
    """The api views' yml: alias → access and documented columns."""
    return {
        model["config"]["alias"]: {
            **model["config"]["meta"]["access"],
            "columns": [column["name"] for column in model["columns"]],
        }
        for model in yaml.safe_load(API_MODELS.read_text())["models"]
        if "alias" in model.get("config", {})
    }


@contextmanager
def _as(url: str, role: str, **claims: str) -> Iterator[psycopg.Connection]:
    """A connection acting as an API role, with a request's JWT claims, as PostgREST sets them."""
    with psycopg.connect(url) as conn:
        conn.execute(f"set role {role}")
        conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
        yield conn


def test_api_views_are_security_invoker_views_granted_as_declared(main_build: Build) -> None:
    served = main_build.query(
        "select c.relname, c.reloptions from pg_class c"
        " where c.relnamespace = 'api'::regnamespace and c.relkind = 'v'"
    )
    assert {name for name, _ in served} == VIEWS
    assert all(options == ["security_invoker=true"] for _, options in served)
    declared = _declared()
    assert set(declared) == VIEWS
    for view, access in declared.items():
        for role in ROLES:
            hidden = access.get("hidden", {}).get(role, [])
            for column in access["columns"]:
                (granted,) = main_build.query(
                    "select has_column_privilege(%s, %s, %s, 'select')",
                    role, f"api.{view}", column,
                )[0]  # fmt: skip
                expected = role in access["roles"] and column not in hidden
                assert granted == expected, (role, view, column)
    with psycopg.connect(main_build.url) as conn:
        conn.execute("set role anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from api.orders")


def test_the_tables_behind_the_views_have_row_security(main_build: Build) -> None:
    # every table a customer's or partner's view reads: row-level security, one policy per
    # restricted role and one for the roles that read every row
    policies = main_build.query(
        "select tablename, policyname, roles::text[] from pg_policies where schemaname = 'marts'"
        " order by 1, 2"
    )
    per_table: dict[str, dict[str, list[str]]] = {}
    for table, policy, roles in policies:
        per_table.setdefault(table, {})[policy] = roles
    assert per_table["fct_order_current_status"] == {
        "api_all_rows": ["analyst", "api_tracker", "auditor", "ops"],
        "api_customer": ["customer"],
        "api_partner": ["partner"],
    }
    assert set(per_table["fct_shipment_current_status"]) == {
        "api_all_rows", "api_customer", "api_partner",
    }  # fmt: skip
    secured = main_build.query(
        "select relname from pg_class where relnamespace = 'marts'::regnamespace and relrowsecurity"
    )
    assert {name for (name,) in secured} == set(per_table)
    with _as(main_build.url, "customer", customer_id="C00001") as conn:
        rows = conn.execute("select order_id, customer_id from api.orders").fetchall()
        assert rows and {customer for _, customer in rows} == {"C00001"}
        # reading the mart itself gives the same rows: the policy is on the table
        assert conn.execute("select count(*) from marts.fct_order_current_status").fetchone() == (
            len(rows),
        )


def test_a_build_without_the_api_views_keeps_serving_them(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    # the flow's canonical step builds everything but the api views; when a blocking check
    # then fails, the api views are not built that run. The marts rebuilt in full each run
    # (tags, unmapped codes, demand) are replaced in place, so the views on them stay, with
    # their grants and the tables' policies.
    views = "select table_name from information_schema.views where table_schema = 'api'"
    with database(pg_server, template=main_build.url) as url:
        rebuilt = build(url, tmp_path, *FLOW_BUILD_EXCLUDES, "--exclude", "path:models/api")
        assert rebuilt.success, rebuilt.not_passing()
        assert rebuilt.status_of("fct_order_tags") == "success"
        assert "model.orderhub.api_order_tags" not in rebuilt.results
        assert rebuilt.query(views) == main_build.query(views)
        with _as(url, "analyst") as conn:
            for (view,) in rebuilt.query(views):
                conn.execute(f"select * from api.{view} limit 1")
        with _as(url, "customer", customer_id="C00001") as conn:
            owners = conn.execute("select distinct customer_id from api.orders").fetchall()
        assert owners == [("C00001",)]


def test_a_rebuild_that_recreates_the_tables_keeps_their_row_security(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    # --full-refresh drops and recreates the marts: the run secures them again before it
    # ends (on-run-end), the api views recreated with it or not
    policies = "select tablename, policyname, roles::text from pg_policies order by 1, 2"
    with database(pg_server, template=main_build.url) as url:
        before = main_build.query(policies)
        rebuilt = build(url, tmp_path, "--full-refresh", *FLOW_BUILD_EXCLUDES)
        assert rebuilt.success, rebuilt.not_passing()
        assert rebuilt.status_of("fct_order_current_status") == "success"
        assert rebuilt.query(policies) == before
        with _as(url, "partner", partner_id="UPS") as conn:
            carriers = conn.execute(
                "select distinct partner_id from api.shipments where warehouse_operator is null"
                " or warehouse_operator <> 'UPS'"
            ).fetchall()
            assert carriers == [("UPS",)]
            orders = {row[0] for row in conn.execute("select order_id from api.orders")}
        routed = rebuilt.query(
            "select distinct order_id from marts.fct_shipment_current_status"
            " where 'UPS' in (partner_id, warehouse_operator)"
        )
        assert orders == {order for (order,) in routed}
