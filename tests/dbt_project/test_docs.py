"""dbt docs generate documents every model, column and seed; the ephemeral exception rule
models, which the catalog does not list, are documented column for column too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
from dbt_builds import Build, run_dbt

from quality.suites import EXCEPTION_TYPES


def columns_of(url: str, node: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """The columns a model's relation has (from the catalog), or an ephemeral model's SQL
    returns (it has no relation: its compiled SQL is run with no row); an api function has
    none (its description is its comment in PostgreSQL, checked below)."""
    if node["config"]["materialized"] == "api_function":
        return []
    if node["config"]["materialized"] != "ephemeral":
        return list(catalog[node["unique_id"]]["columns"])
    with psycopg.connect(url) as conn:
        cursor = conn.execute(f"select * from ({node['compiled_code']}) as model limit 0")
        return [column.name for column in cursor.description or []]


def test_dbt_docs_generate(main_build: Build, tmp_path: Path) -> None:
    result, _ = run_dbt(main_build.url, tmp_path, "docs", "generate")
    assert result.success, result.exception
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert (tmp_path / "target" / "index.html").exists()
    nodes = catalog["nodes"]
    for model in ("fct_order_exceptions", "fct_order_timeline", "fct_order_tags", "api_order_tags"):
        (node,) = [n for uid, n in nodes.items() if uid == f"model.orderhub.{model}"]
        assert node["columns"], model
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    ephemeral = {node["name"] for node in models if node["config"]["materialized"] == "ephemeral"}
    # one rule model per exception type (the list the quality suite checks the mart with)
    assert ephemeral == {f"int_order_exceptions__{kind}" for kind in EXCEPTION_TYPES}
    # every model and every column of it is documented in yml, and nothing else is
    undocumented, phantom = [], []
    for node in models:
        columns = columns_of(main_build.url, node, nodes)
        documented = {name for name, column in node["columns"].items() if column["description"]}
        undocumented += [
            f"{node['name']}.{column}" for column in columns if column not in documented
        ]
        phantom += [
            f"{node['name']}.{column}" for column in node["columns"] if column not in columns
        ]
    assert undocumented == []
    assert phantom == []
    functions = [node for node in models if node["config"]["materialized"] == "api_function"]
    assert functions
    for node in functions:
        with psycopg.connect(main_build.url) as conn:
            (comment,) = conn.execute(
                "select obj_description(to_regproc(%s), 'pg_proc')", (f"api.{node['alias']}",)
            ).fetchone()
        assert comment == node["description"]
    assert all(
        node["description"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    )
