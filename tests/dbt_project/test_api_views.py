"""The api schema PostgREST serves: its views, the columns their yml documents, granted
to the anonymous role."""

from __future__ import annotations

import psycopg
import pytest
import yaml
from dbt_builds import PROJECT, Build

API_MODELS = PROJECT / "models" / "api" / "_api__models.yml"


def test_api_views_are_granted_to_web_anon(main_build: Build) -> None:
    views = {
        "orders",
        "order_events",
        "order_timeline",
        "order_exceptions",
        "unmapped_status_codes",
        "order_tags",
        "shipments",
        "daily_demand",
        "demand_forecasts",
        "ledger_checkpoints",
    }
    assert {
        name
        for (name,) in main_build.query(
            "select table_name from information_schema.views where table_schema = 'api'"
        )
    } == views
    with psycopg.connect(main_build.url) as conn:
        conn.execute("set role web_anon")
        for view in sorted(views):
            conn.execute(f"select * from api.{view} limit 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from marts.fct_order_current_status")


def test_api_views_serve_the_columns_their_yml_documents(main_build: Build) -> None:
    # models/api/_api__models.yml is the contract: each view selects what it documents,
    # in that order (macro api_view)
    documented = {
        model["config"]["alias"]: [column["name"] for column in model["columns"]]
        for model in yaml.safe_load(API_MODELS.read_text())["models"]
    }
    served = {
        view: columns.split(",")
        for view, columns in main_build.query(
            "select table_name, string_agg(column_name, ',' order by ordinal_position)"
            " from information_schema.columns where table_schema = 'api' group by 1"
        )
    }
    assert served == documented
    assert "built_at" not in served["orders"]
