"""A seed is emptied and filled again when its columns are unchanged, so the views reading
it survive a build (``macros/seed_reset.sql``); a seed whose columns changed (a type, a
new column) is recreated."""

from __future__ import annotations

from pathlib import Path

import psycopg
from dbt_builds import Build, copy_of_project, database, run_dbt

SEED = "sales_channels"
#: a view outside the project reading the seed, as the other colour's views over the marts do
READER = "public.reads_sales_channels"


def _columns(url: str) -> dict[str, str]:
    """The seed table's columns in order, with their types."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'seeds' and table_name = %s order by ordinal_position",
            (SEED,),
        ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _reader_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select to_regclass(%s) is not null", (READER,)).fetchone()[0]


def _seed(url: str, work: Path, project: Path) -> None:
    result, _ = run_dbt(url, work, "seed", "--select", SEED, "--full-refresh", project=project)
    assert result.success, result.exception


def test_a_seed_keeps_its_readers_until_its_columns_change(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    project = copy_of_project(tmp_path)
    csv = project / "seeds" / f"{SEED}.csv"
    with database(pg_server, template=main_build.url) as url:
        with psycopg.connect(url) as conn:
            conn.execute(f"create view {READER} as select * from seeds.{SEED}")
        rows_before = main_build.query(f"select count(*) from seeds.{SEED}")
        # the same columns: emptied and filled again, the reader stays
        _seed(url, tmp_path, project)
        assert _reader_exists(url)
        with psycopg.connect(url) as conn:
            assert conn.execute(f"select count(*) from {READER}").fetchall() == rows_before
        # a column's type changed, the names the same: recreated, the reader gone
        seeds_yml = project / "seeds" / "_seeds.yml"
        declared = seeds_yml.read_text(encoding="utf-8")
        retyped = declared.replace(
            "payment_required_before_shipping: boolean", "payment_required_before_shipping: text"
        )
        assert retyped != declared
        seeds_yml.write_text(retyped, encoding="utf-8")
        _seed(url, tmp_path, project)
        assert not _reader_exists(url)
        assert _columns(url)["payment_required_before_shipping"] == "text"
        with psycopg.connect(url) as conn:
            conn.execute(f"create view {READER} as select * from seeds.{SEED}")
        # a new column: the table is recreated (its readers go with the old one)
        lines = csv.read_text(encoding="utf-8").splitlines()
        csv.write_text(
            "\n".join([lines[0] + ",region", *(line + ",eu" for line in lines[1:])]) + "\n",
            encoding="utf-8",
        )
        _seed(url, tmp_path, project)
        assert list(_columns(url))[-1] == "region"
        assert not _reader_exists(url)
