"""The dbt models on the published audit vectors (docs/audit-vectors/).

The source records of every valid vector - each version with the batch and extraction
time it carries - are stored in a fresh warehouse and the dbt project is built with the
seeds the vectors were generated with (``inputs/seeds/``): the events mart must hold each
bundle's events, column for column, the current-status marts its claim, the crosswalk
must have the version its build logged, and the project's derivation spec must be the one
the bundles carry. ``tests/ledger/test_audit_vectors.py`` runs ``audit verify`` on the same
vectors: so the SQL that derives events and the verifier that re-derives them are held to
the same documents. Regenerate the vectors (``docs/audit-vectors/generate.py``) after a
deliberate change of the rules.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dbt_builds import Build, build, copy_of_project, database, run_dbt
from psycopg.types.json import Jsonb

from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orderhub.claims import event_rows, order_claims
from orderhub.crosswalk import crosswalk_version
from orderhub.derivation import derivation_spec

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "audit-vectors"
BUNDLES = [
    json.loads((VECTORS / e["file"]).read_text(encoding="utf-8"))
    for e in json.loads((VECTORS / "manifest.json").read_text())["vectors"]
    if e["valid"]
]


def store(url: str) -> None:
    """Every record version of the bundles in its raw table, its batch as succeeded."""
    with psycopg.connect(url) as conn:
        for bundle in BUNDLES:
            for record in bundle["records"]:
                conn.execute(
                    "insert into orderhub_meta.extraction_batches (batch_id, system, stream,"
                    " started_at, finished_at, status) values (%s, %s, %s, %s, %s, 'succeeded')"
                    " on conflict do nothing",
                    (record["batch_id"], record["system"], record["table"].split(".")[1],
                     record["extracted_at"], record["extracted_at"]),
                )  # fmt: skip
                conn.execute(
                    f"insert into {record['table']} (record_key, content_hash, data, batch_id,"
                    " extracted_at) values (%s, %s, %s, %s, %s) on conflict do nothing",
                    (record["record_key"], record["content_hash"], Jsonb(record["data"]),
                     record["batch_id"], record["extracted_at"]),
                )  # fmt: skip


@pytest.fixture(scope="module")
def vectors_build(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    work = tmp_path_factory.mktemp("dbt-vectors")
    project = copy_of_project(work)
    for seed in (VECTORS / "inputs" / "seeds").glob("*.csv"):
        shutil.copyfile(seed, project / "seeds" / seed.name)
    with database(pg_server) as url:
        store(url)
        yield build(url, work, *FLOW_BUILD_EXCLUDES, project=project)


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b["subject"]["order_id"])
def test_the_models_derive_each_vector(vectors_build: Build, bundle: dict[str, Any]) -> None:
    order = bundle["subject"]["order_id"]
    logged = json.loads(bundle["build"]["log_entry"])["payload"]
    with psycopg.connect(vectors_build.url) as conn:
        served = {row["event_id"]: row for row in event_rows(conn, order)}
        claim = order_claims(conn, [order])[order]
        (version,) = conn.execute(
            "select distinct crosswalk_version from intermediate.int_status_crosswalk__versioned"
        ).fetchone() or (None,)
    assert served == {e["row"]["event_id"]: e["row"] for e in bundle["events"]}
    assert claim == bundle["claim"]["order"]
    assert version == logged["crosswalk_version"]


def test_the_spec_of_the_project_is_the_one_the_vectors_carry() -> None:
    assert derivation_spec() == BUNDLES[0]["derivation"]["spec"]


#: Crosswalks with awkward text (quotes, backslash, tab, line break, non-ASCII, astral,
#: "null" and blank cells) and the version orderhub.crosswalk computed for each.
CROSSWALK_ROOTS: dict[str, str] = json.loads((VECTORS / "crosswalk" / "roots.json").read_text())


@pytest.mark.parametrize("name", sorted(CROSSWALK_ROOTS))
def test_python_and_the_model_give_each_crosswalk_its_version(
    name: str, pg_server: str, tmp_path: Path
) -> None:
    crosswalk = VECTORS / "crosswalk" / name
    assert crosswalk_version(crosswalk) == CROSSWALK_ROOTS[name]
    project = copy_of_project(tmp_path)
    shutil.copyfile(crosswalk, project / "seeds" / "status_crosswalk.csv")
    with database(pg_server) as url:
        for command in (["seed"], ["run", "--select", "int_status_crosswalk__versioned"]):
            result, _ = run_dbt(url, tmp_path, *command, project=project)
            assert result.success, result
        with psycopg.connect(url) as conn:
            versions = conn.execute(
                "select distinct crosswalk_version"
                " from intermediate.int_status_crosswalk__versioned"
            ).fetchall()
    assert versions == [(CROSSWALK_ROOTS[name],)]


def test_python_gives_the_vectors_crosswalk_the_version_its_build_logged() -> None:
    logged = json.loads(BUNDLES[0]["build"]["log_entry"])["payload"]["crosswalk_version"]
    assert crosswalk_version(VECTORS / "inputs" / "seeds" / "status_crosswalk.csv") == logged
