"""Benchmark: what a build's narrowed data tests read, against the same tests reading every
row, on a built warehouse (dbt_project/README.md, "Tests on the models a mart reads").

    ORDERHUB_HOME=<home of a demo> uv run python bench/explain_tests.py TEST [TEST ...]

For each named test of the home's latest ``canonical_models`` build: its node time in that
build (``run_results.json``), then ``EXPLAIN (ANALYZE, BUFFERS)`` of its compiled SQL as the
build ran it (narrowed to the orders or records the mart rebuilt) and with the narrowing
taken out (what ``dbt test`` reads: the relation itself), one after the other on the same
warehouse: execution time, shared buffers read or hit, and the sequential scan that read
most rows (a filter PostgreSQL does not push down shows as a scan of every row).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import psycopg

from orderhub.settings import Settings
from orderhub.warehouse import warehouse_url

#: what get_where_subquery (dbt_project/macros/tested_rows.sql) writes around a relation
NARROWED = re.compile(r"\(select \* from (\S+) where \((.*)\)\) dbt_subquery", re.DOTALL)


def latest_build(home: Path) -> Path:
    runs = (home / "dbt" / "runs").glob("canonical_models-*/run_results.json")
    return max(runs, key=lambda path: path.stat().st_mtime).parent


def compiled_tests(build: Path, names: list[str]) -> dict[str, tuple[float, str]]:
    """Test name → (node seconds in the build, compiled SQL)."""
    found = {}
    for result in json.loads((build / "run_results.json").read_text())["results"]:
        name = result["unique_id"].split(".")[2]
        if result["unique_id"].startswith("test.") and name in names:
            found[name] = (float(result["execution_time"]), result["compiled_code"])
    return found


def _walk(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _walk(child))]


def explain(conn: psycopg.Connection, sql: str) -> tuple[float, int, str]:
    """(execution ms, shared buffers hit + read, the largest sequential scan)."""
    ((document,),) = conn.execute(f"explain (analyze, buffers, format json) {sql}").fetchall()
    plan = document[0]["Plan"]
    nodes = _walk(plan)
    scans = [n for n in nodes if n["Node Type"] == "Seq Scan"]
    largest = max(scans, key=lambda n: n["Actual Rows"] * n["Actual Loops"], default=None)
    scan = (
        f"{largest['Relation Name']} {largest['Actual Rows'] * largest['Actual Loops']:,} rows"
        if largest
        else "none"
    )
    buffers = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
    return document[0]["Execution Time"], buffers, scan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests", nargs="+")
    args = parser.parse_args(argv)
    settings = Settings()
    build = latest_build(settings.home)
    tests = compiled_tests(build, args.tests)
    print(f"build {build.name}")
    with psycopg.connect(warehouse_url(settings)) as conn:
        for name in args.tests:
            if name not in tests:
                print(f"{name}: not in the build", file=sys.stderr)
                continue
            seconds, sql = tests[name]
            every_row = NARROWED.sub(r"\1", sql)
            narrowed = "narrowed" if every_row != sql else "NOT narrowed"
            print(f"{name}: node {seconds:.2f} s in the build ({narrowed})")
            for label, query in (("as built", sql), ("every row", every_row)):
                ms, buffers, scan = explain(conn, query)
                print(f"  {label:9} {ms:9.1f} ms  {buffers:9,} buffers  largest seq scan: {scan}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
