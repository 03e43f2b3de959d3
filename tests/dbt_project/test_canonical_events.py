"""fct_order_status_events (and the intermediate views it reads): events are the moments
a code appeared, with a stable id and the crosswalk version that mapped them."""

from __future__ import annotations

import hashlib

from dbt_builds import PROJECT, Build
from dbt_records import at, trk

from orderhub.crosswalk import crosswalk_version


def test_events_are_changes_and_tracking_details_are_deduplicated(main_build: Build) -> None:
    # three ERP versions of 1000001 carry rejection status A: one event
    assert main_build.query(
        "select count(*) from marts.fct_order_status_events where order_id = '1000001'"
        " and source_field = 'OverallSDDocumentRejectionSts'"
    ) == [(1,)]
    # tracker 1 was stored twice (2 then 4 details): 4 events, provenance the first version
    rows = main_build.query(
        "select source_code, source_batch_id from marts.fct_order_status_events"
        " where source_record_key = %s order by event_time",
        trk(1),
    )
    assert [code for code, _ in rows] == [
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert rows[0][1] == rows[1][1] != rows[2][1] == rows[3][1]
    assert main_build.query(
        "select count(*) = count(distinct event_id) from marts.fct_order_status_events"
    ) == [(True,)]


def test_crosswalk_version_is_sha256_of_its_rows(main_build: Build) -> None:
    # orderhub.crosswalk computes it from the CSV the way int_status_crosswalk__versioned does
    expected = crosswalk_version(PROJECT / "seeds" / "status_crosswalk.csv")
    assert main_build.query(
        "select distinct crosswalk_version from marts.fct_order_status_events"
    ) == [(expected,)]
    assert main_build.query(
        "select distinct crosswalk_version from marts.dim_status_crosswalk_versions"
    ) == [(expected,)]


def test_event_id_is_computed_once_in_the_mapped_view(main_build: Build) -> None:
    # int_order_events__mapped computes the id; the mart keeps it for the first sighting
    assert main_build.query(
        "select count(*) from marts.fct_order_status_events as f"
        " left join intermediate.int_order_events__mapped as m"
        " on m.event_id = f.event_id and m.content_hash = f.source_content_hash"
        " where m.event_id is null"
    ) == [(0,)]
    # md5 of system | record key | field | code | event time (ISO, UTC, microseconds):
    # the formula existing ids were made with
    key = trk(1)
    expected = hashlib.md5(
        f"tms|{key}|tracker.status|delivered|{at(27):%Y-%m-%dT%H:%M:%S.000000Z}".encode()
    ).hexdigest()
    assert main_build.query(
        "select event_id from marts.fct_order_status_events"
        " where source_record_key = %s and source_code = 'delivered'",
        key,
    ) == [(expected,)]
