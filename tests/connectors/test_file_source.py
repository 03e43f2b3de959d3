"""The file source: order lines from CSV, JSON Lines and Parquet files, at a path or an
http(s) URL, through the column mapping and the connectors' loader, into a real PostgreSQL."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from connectors.errors import ConnectorError
from connectors.file_source.mapping import ColumnMapping, FileSourceError
from connectors.file_source.sync import sync_file
from connectors.loader import ensure_schema
from orderhub.sources import FileSourceSettings

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "ml" / "data" / "completejourney_sample.parquet"
CJ_MAPPING = ROOT / "connectors" / "file_source" / "mappings" / "completejourney.yaml"
LINES = pd.DataFrame(
    {
        "Receipt": ["R1", "R1", "R2", "R3"],
        "Article": ["A-01", "B-02", "A-01", "A-01"],
        "Shop": ["0042", "0042", "0042", "0007"],
        "Qty": ["2", "1", "-1", "3"],
        "Price": ["1.50", "4.00", "1.50", ""],
        "SoldAt": [
            "2026-10-03 09:15:00",
            "2026-10-03 09:15:00",
            "2026-10-04 18:00:00",
            "2026-10-04 23:30:00",
        ],
        "Promo": ["yes", "no", "", "1"],
    }
)
MAPPING = {
    "columns": {
        "order_id": "Receipt",
        "sku": "Article",
        "store_id": "Shop",
        "quantity": "Qty",
        "unit_price": "Price",
        "ordered_at": "SoldAt",
        "on_promotion": "Promo",
    },
    "constants": {"country": "DE", "region": "berlin"},
    "timestamp_format": "%Y-%m-%d %H:%M:%S",
    "timezone": "Europe/Berlin",
}


@pytest.fixture
def url(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        ensure_schema(conn)
        conn.commit()
    return db_url


def _files(folder: Path, lines: pd.DataFrame = LINES) -> dict[str, Path]:
    (folder / "mapping.yaml").write_text(json.dumps(MAPPING))  # JSON is YAML too
    paths = {"csv": folder / "lines.csv", "jsonl": folder / "lines.jsonl"}
    lines.to_csv(paths["csv"], index=False)
    lines.to_json(paths["jsonl"], orient="records", lines=True)
    paths["parquet"] = folder / "lines.parquet"
    lines.to_parquet(paths["parquet"], index=False)
    return paths


def _source(path: Path | str, mapping: Path | None) -> FileSourceSettings:
    return FileSourceSettings(location=str(path), mapping=str(mapping) if mapping else None)


def _stored(url: str) -> dict[str, dict]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select record_key, data from raw_file.order_lines").fetchall()
    return {key: data for key, data in rows}


def test_csv_lines_are_mapped_returns_kept_times_in_utc(url: str, tmp_path: Path) -> None:
    paths = _files(tmp_path)
    (result,) = sync_file(_source(paths["csv"], tmp_path / "mapping.yaml"), url)
    assert (result.system, result.stream) == ("file", "order_lines")
    assert (result.records_read, result.records_stored, result.records_quarantined) == (4, 4, 0)
    assert len(result.merkle_root) == 64
    stored = _stored(url)
    assert set(stored) == {"R1/1", "R1/2", "R2/1", "R3/1"}  # lines numbered within each order
    assert stored["R1/1"] == {
        "line_key": "R1/1",
        "order_id": "R1",
        "line_id": "1",
        "sku": "A-01",
        "store_id": "0042",  # ids stay text: leading zeros kept
        "quantity": 2,
        "unit_price": 1.5,
        "ordered_at": "2026-10-03T07:15:00+00:00",  # 09:15 in Berlin (CEST)
        "on_promotion": True,
        "country": "DE",
        "region": "berlin",
    }
    assert stored["R2/1"]["quantity"] == -1  # a return, kept
    assert "unit_price" not in stored["R3/1"] and "on_promotion" not in stored["R2/1"]
    assert result.cursor_to == "2026-10-04T21:30:00+00:00"


def test_the_same_lines_in_jsonl_and_parquet_are_the_same_records(url: str, tmp_path: Path) -> None:
    paths = _files(tmp_path)
    mapping = tmp_path / "mapping.yaml"
    sync_file(_source(paths["csv"], mapping), url)
    for kind in ("jsonl", "parquet"):
        (result,) = sync_file(_source(paths[kind], mapping), url)
        assert (result.records_read, result.records_new) == (4, 0), kind


def test_an_unchanged_file_is_not_read_and_a_changed_line_is_a_new_version(
    url: str, tmp_path: Path
) -> None:
    paths = _files(tmp_path)
    source = _source(paths["csv"], tmp_path / "mapping.yaml")
    sync_file(source, url)
    (again,) = sync_file(source, url)
    assert (again.records_read, again.records_new) == (0, 0)
    changed = LINES.copy()
    changed.loc[1, "Qty"] = "5"
    changed.to_csv(paths["csv"], index=False)
    (third,) = sync_file(source, url)
    assert (third.records_read, third.records_new) == (4, 1)
    with psycopg.connect(url) as conn:
        versions = conn.execute(
            "select count(*) from raw_file.order_lines where record_key = 'R1/2'"
        ).fetchone()
    assert versions == (2,)


def test_a_missing_column_names_the_file_and_the_column(url: str, tmp_path: Path) -> None:
    paths = _files(tmp_path, LINES.drop(columns=["Shop"]))
    for kind in ("csv", "jsonl", "parquet"):
        with pytest.raises(
            ConnectorError, match=rf"file .*lines\.{kind}: missing column\(s\) Shop"
        ):
            sync_file(_source(paths[kind], tmp_path / "mapping.yaml"), url)
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw_file.order_lines").fetchone() == (0,)
        statuses = conn.execute("select distinct status from orderhub_meta.extraction_batches")
        assert statuses.fetchall() == [("failed",)]


def test_an_unparsable_date_names_file_row_and_column(url: str, tmp_path: Path) -> None:
    bad = LINES.copy()
    bad.loc[2, "SoldAt"] = "04/10/2026 6pm"
    paths = _files(tmp_path, bad)
    with pytest.raises(
        ConnectorError,
        match=r"lines\.csv: row 3, column 'SoldAt': cannot parse '04/10/2026 6pm' as a timestamp",
    ):
        sync_file(_source(paths["csv"], tmp_path / "mapping.yaml"), url)
    assert _stored(url) == {}


def test_a_quantity_that_is_no_number_is_quarantined_with_its_reason(
    url: str, tmp_path: Path
) -> None:
    bad = LINES.copy()
    bad.loc[3, "Qty"] = "three"
    paths = _files(tmp_path, bad)
    (result,) = sync_file(_source(paths["csv"], tmp_path / "mapping.yaml"), url)
    assert (result.records_stored, result.records_quarantined) == (3, 1)
    with psycopg.connect(url) as conn:
        reason = conn.execute("select record_key, reason from orderhub_meta.quarantine").fetchall()
    assert reason == [("R3/1", "field 'quantity' is str 'three', which cannot be cast to number")]


def test_mappings_are_checked() -> None:
    with pytest.raises(FileSourceError, match=r"unknown field.*colour"):
        ColumnMapping.parse({"columns": {**MAPPING["columns"], "colour": "c"}}, "m.yaml")
    with pytest.raises(FileSourceError, match=r"required field.*sku"):
        ColumnMapping.parse({"columns": {"order_id": "a"}}, "m.yaml")
    with pytest.raises(FileSourceError, match="both a column and a constant"):
        ColumnMapping.parse({**MAPPING, "constants": {"sku": "x"}}, "m.yaml")
    with pytest.raises(FileSourceError, match="unknown timezone"):
        ColumnMapping.parse({**MAPPING, "timezone": "Mars/Olympus"}, "m.yaml")
    assert ColumnMapping.load(None).columns["sku"] == "sku"  # the canonical names


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    _files(tmp_path)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_file_at_an_http_url(url: str, tmp_path: Path, served: str) -> None:
    (result,) = sync_file(_source(f"{served}/lines.parquet", tmp_path / "mapping.yaml"), url)
    assert result.records_stored == 4
    with pytest.raises(ConnectorError, match=r"nothing\.csv: HTTP 404"):
        sync_file(_source(f"{served}/nothing.csv", tmp_path / "mapping.yaml"), url)


def test_the_complete_journey_sample_loads_whole(url: str) -> None:
    (result,) = sync_file(_source(SAMPLE, CJ_MAPPING), url)
    lines = pd.read_parquet(SAMPLE)
    assert result.records_read == result.records_stored == len(lines)
    assert result.records_quarantined == 0
    with psycopg.connect(url) as conn:
        skus, stores, promoted = conn.execute(
            "select count(distinct data->>'sku'), count(distinct data->>'store_id'),"
            " count(*) filter (where (data->>'on_promotion')::boolean)"
            " from raw_file.order_lines"
        ).fetchone()
    assert (stores, promoted) == (3, int(lines["on_display_or_mailer"].sum()))
    assert skus == lines["product_category"].nunique()
