"""The canonical build outside Dagster: ``dbt build`` in this process, logged as the flow logs it.

:func:`build_and_log` makes sure the tables the dbt sources read exist (raw tables and
batch bookkeeping, forecasts, the ledger, the tracking key's schema), runs ``dbt build``
through dbt's programmatic runner with the warehouse's connection in the environment
(:func:`orderhub.dbt_env.dbt_env`) and its artefacts under ``work`` (:func:`invoke_dbt`, which
runs any dbt command so), and appends the invocation's ``dbt_build`` provenance event with
what it derived (:func:`orchestration.derived_state.log_dbt_build`). The audit test
warehouse, the audit vectors (``docs/audit-vectors/generate.py``) and the trace benchmark
build their warehouses with it; the flow runs the same models as Dagster assets
(:mod:`orchestration.dbt_assets`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from ledger.log import ProvenanceLog
from orchestration.derived_state import log_dbt_build
from orderhub.dbt_env import dbt_env
from orderhub.dbt_parse import partial_parse
from orderhub.seeds import PROJECT_DIR as DBT_PROJECT_DIR

#: What the flow's builds leave out: dbt's unit tests check the models' logic on fixed
#: inputs, so they belong to development and CI (``dbt build`` in ``dbt_project/`` and
#: ``tests/dbt_project/test_build.py`` run them), not to every build of the data - dbt's own
#: advice for production builds.
FLOW_BUILD_EXCLUDES: tuple[str, ...] = ("--exclude-resource-type", "unit_test")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ensure_sources(url: str) -> None:
    """The tables the dbt project's sources read, created where missing, and the tracking
    key's schema (:mod:`orderhub.tracking`), which the project's on-run-start grants."""
    from connectors.schema import ensure_schema as ensure_raw
    from fulfilment.store import ensure_schema as ensure_fulfilment
    from ml.store import ensure_schema as ensure_ml
    from orderhub import tracking
    from orderhub.live_tables import ensure_live_schema

    with psycopg.connect(url) as conn:
        ensure_raw(conn)
        ensure_ml(conn)
        ensure_fulfilment(conn)
        tracking.ensure_schema(conn)
        ensure_live_schema(conn)


def invoke_dbt(url: str, work: Path, *args: str, project: Path = DBT_PROJECT_DIR) -> Any:
    """dbt ``args`` (a command and its options) on ``url`` through dbt's programmatic runner,
    artefacts under ``work``; dbt's result. Raises RuntimeError when dbt could not run."""
    from dbt.cli.main import dbtRunner

    env = dbt_env(url)
    parse = partial_parse(
        work.parent / "parse", project, args, work / "target", env["ORDERHUB_PGDATABASE"]
    )
    with _environment(env), parse:
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir", str(project),
                "--profiles-dir", str(project),
                "--target-path", str(work / "target"),
                "--log-path", str(work / "logs"),
                "--no-use-colors",
                "--quiet",
            ]
        )  # fmt: skip
    if result.exception is not None:
        raise RuntimeError(f"dbt {args[0]} did not run: {result.exception}")
    return result


def build_and_log(
    url: str,
    log: ProvenanceLog,
    work: Path,
    *args: str,
    project: Path = DBT_PROJECT_DIR,
) -> tuple[int, dict[str, Any]]:
    """``dbt build`` (with ``args``) of ``project`` on ``url``, and its ``dbt_build`` event
    in ``log``; the event's log index and payload. Raises RuntimeError when dbt fails."""
    ensure_sources(url)
    result = invoke_dbt(url, work, "build", *args, project=project)
    manifest = json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))
    run_results = json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))
    index, event = log_dbt_build(
        log, url, manifest, run_results, success=bool(result.success), project=project
    )
    if not result.success:
        failed = [uid for uid, status in event["statuses"].items() if status in ("error", "fail")]
        raise RuntimeError(f"dbt build failed: {', '.join(failed) or 'see the dbt log'}")
    return index, event


__all__ = ["FLOW_BUILD_EXCLUDES", "build_and_log", "ensure_sources", "invoke_dbt"]
