"""The api schema PostgREST serves: its views, the columns their yml documents, granted
to the anonymous role, and still there after a build that does not publish them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml
from dbt_builds import PROJECT, Build, build, database

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


def test_a_build_without_the_api_views_keeps_serving_them(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    # the flow's canonical step builds everything but the api views; when a blocking check
    # then fails, the api views are not built that run. The marts rebuilt in full each run
    # (tags, unmapped codes, demand) are replaced in place, so the views on them stay.
    views = "select table_name from information_schema.views where table_schema = 'api'"
    with database(pg_server, template=main_build.url) as url:
        rebuilt = build(url, tmp_path, "--exclude", "path:models/api")
        assert rebuilt.success, rebuilt.not_passing()
        assert rebuilt.status_of("fct_order_tags") == "success"
        assert "model.orderhub.api_order_tags" not in rebuilt.results
        assert rebuilt.query(views) == main_build.query(views)
        with psycopg.connect(url) as conn:
            conn.execute("set role web_anon")
            for (view,) in rebuilt.query(views):
                conn.execute(f"select * from api.{view} limit 1")
