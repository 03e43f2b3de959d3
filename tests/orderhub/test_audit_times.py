"""The auditor's two verifiers read a record's times alike: the Python one
(``ledger.bundle.values.parse_time``) and the tracking site's JavaScript one
(``orderhub/site/static/audit/values.js``), for ISO 8601 text and for SAP's OData V2
``/Date(<ms>)/`` literals, which the staging models read as milliseconds since the epoch
(an offset after them only names the writer's zone)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from values_js import values_js_map

from ledger.bundle.format import BundleError
from ledger.bundle.values import parse_time

TIMES = {
    "/Date(1783214926000+0000)/": "2026-07-05T01:28:46+00:00",
    "/Date(1783214926123+0530)/": "2026-07-05T01:28:46.123000+00:00",
    "/Date(1783214926000)/": "2026-07-05T01:28:46+00:00",
    "/Date(-1000)/": "1969-12-31T23:59:59+00:00",
    "2026-07-05T06:58:46+05:30": "2026-07-05T01:28:46+00:00",
    "2026-07-05 01:28:46.0000005": "2026-07-05T01:28:46+00:00",
}


def _micros(moment: datetime) -> int:
    return round((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


def test_python_reads_iso_and_odata_times() -> None:
    assert {text: parse_time(text).isoformat() for text in TIMES} == TIMES  # type: ignore[union-attr]
    for bad in ("/Date(12a)/", "/Date(1+00)/", "Date(1)"):
        with pytest.raises(BundleError, match="neither ISO 8601 nor OData"):
            parse_time(bad)


def test_javascript_reads_the_same_instants() -> None:
    answers = values_js_map("(t) => m.parseTime(t)", list(TIMES))
    assert answers == [_micros(parse_time(t)) for t in TIMES]  # type: ignore[arg-type]
