"""The backlog the ``unpublished_backlog`` sensor reads: raw rows after the published
build's raw watermark (all of them before the first publish)."""

from __future__ import annotations

import psycopg

from connectors.schema import ensure_schema
from orchestration.sensors import unpublished_backlog
from orderhub import publishing


def _raw(conn: psycopg.Connection, key: str, extracted: str) -> None:
    conn.execute(
        "insert into raw_erp.sales_orders (record_key, content_hash, data, cursor_value,"
        " batch_id, extracted_at) values (%s, %s, '{}', '', 'b', %s)",
        (key, key, extracted),
    )


def test_rows_after_the_published_watermark_wait(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        ensure_schema(conn)
        publishing.ensure_pointer(conn)
        _raw(conn, "a", "2026-12-01T00:00:00Z")
        _raw(conn, "b", "2026-12-03T00:00:00Z")
    assert unpublished_backlog(db_url)[0] == 2
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "insert into orderhub_meta.published (layer, colour, raw_watermark)"
            " values ('marts', 'blue', '2026-12-02T00:00:00Z')"
        )
    rows, watermark = unpublished_backlog(db_url)
    assert rows == 1 and watermark.isoformat().startswith("2026-12-02")


def test_assets_older_than_their_window_are_stale() -> None:
    import time

    from dagster import AssetKey, AssetMaterialization, DagsterInstance, build_sensor_context

    from orchestration.definitions import defs
    from orchestration.sensors import stale_keys

    forecast = AssetKey(["ml", "demand_forecasts"])
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, definitions=defs)
        assert forecast in dict(stale_keys(context, time.time()))
        instance.report_runless_asset_event(AssetMaterialization(forecast))
        assert forecast not in dict(stale_keys(context, time.time()))
        # 26 hours later (the forecast group's fail window) it is stale again
        assert forecast in dict(stale_keys(context, time.time() + 26 * 3600 + 60))
