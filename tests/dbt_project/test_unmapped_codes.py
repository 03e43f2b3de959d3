"""A status code the crosswalk lacks: the build warns naming it and publishes the rest, the
code is kept, not guessed, and a new crosswalk row clears it and re-derives history."""

from __future__ import annotations

from dbt_builds import Build, Remapped

from quality.unmapped import unmapped_status_codes


def test_unknown_code_warns_naming_it_and_the_rest_publishes(unknown_build: Build) -> None:
    assert unknown_build.success
    assert unknown_build.status_of("assert_no_unmapped_status_codes") == "warn"
    named = [line for line in unknown_build.log_lines if "unmapped status code" in line]
    assert len(named) == 1
    assert "system=wms field=PICK.state code='partially_available'" in named[0]
    assert "e.g. order 1000007" in named[0]
    # nothing failed: the marts and the api are built
    assert set(unknown_build.not_passing()) == {"test.orderhub.assert_no_unmapped_status_codes"}
    # the Dagster check names it the same way
    (code,) = unmapped_status_codes(unknown_build.url)
    assert code.line().startswith(
        "unmapped status code: system=wms field=PICK.state code='partially_available'"
        " (1 event(s) in 1 order(s), e.g. order 1000007"
    )


def test_unknown_code_is_kept_not_guessed(unknown_build: Build) -> None:
    assert unknown_build.query(
        "select source_system, source_field, source_code, event_count, example_order_id"
        " from api.unmapped_status_codes"
    ) == [("wms", "PICK.state", "partially_available", 1, "1000007")]
    assert unknown_build.query(
        "select canonical_status, is_mapped from marts.fct_order_status_events"
        " where source_code = 'partially_available'"
    ) == [(None, False)]
    # the unknown code decides nothing; it is an exception of the order
    assert unknown_build.query(
        "select canonical_status, unmapped_event_count from api.orders where order_id = '1000007'"
    ) == [("placed", 1)]
    assert unknown_build.query(
        "select exception_type, severity, systems, details ->> 'source_code'"
        " from api.order_exceptions where order_id = '1000007'"
    ) == [("unmapped_status_code", "error", ["wms"], "partially_available")]


def test_a_new_mapping_clears_the_code_and_rederives_history(
    unknown_build: Build, remapped: Remapped
) -> None:
    old, new = remapped.versions
    assert old != new
    assert remapped.build.success, remapped.build.not_passing()
    assert remapped.build.status_of("assert_no_unmapped_status_codes") == "pass"
    assert remapped.build.query("select * from api.unmapped_status_codes") == []
    assert unmapped_status_codes(remapped.build.url) == []
    # every event is re-derived under the new version, the mapped code decides
    assert remapped.build.query(
        "select distinct crosswalk_version from marts.fct_order_status_events"
    ) == [(new,)]
    assert remapped.build.query(
        "select canonical_status, status_source_code from api.orders where order_id = '1000007'"
    ) == [("processing", "partially_available")]
    assert remapped.build.query(
        "select count(*) from api.order_exceptions where order_id = '1000007'"
    ) == [(0,)]
    total = unknown_build.query("select count(*) from marts.fct_order_status_events")[0][0]
    assert remapped.build.rows_written("fct_order_status_events") == total
    # the old version's rows stay, to explain what was derived under it
    assert remapped.history == [(old, 0), (new, 1)]
