"""The derivation spec's ``first`` expression reads a record alike in the auditor's two
verifiers (``ledger.bundle.values.evaluate`` and the site's ``values.js``) and as the staging
model does: over an array in its order, the first item whose expression is not null (an SAP
order's first rejected item's reason for rejection)."""

from __future__ import annotations

import json
from typing import Any

from values_js import values_js_map

from ledger.bundle.values import evaluate

FIRST = {
    "first": ["to_Item", "results"],
    "of": {"path": ["SalesDocumentRjcnReason"], "empty": None},
}
RECORDS: list[tuple[Any, str | None]] = [
    ({"to_Item": {"results": [{"X": 1}, {"SalesDocumentRjcnReason": ""}]}}, None),
    (
        {"to_Item": {"results": [{}, {"SalesDocumentRjcnReason": "01"},
                                 {"SalesDocumentRjcnReason": "03"}]}},
        "01",
    ),
    ({"to_Item": {"results": [{"SalesDocumentRjcnReason": 5}]}}, "5"),
    ({"to_Item": {"results": {"SalesDocumentRjcnReason": "01"}}}, None),
    ({"to_Item": {"__deferred": {"uri": "x"}}}, None),
    ({}, None),
]  # fmt: skip


def test_python_reads_the_first_item_that_has_a_value() -> None:
    assert [evaluate(FIRST, data) for data, _ in RECORDS] == [want for _, want in RECORDS]


def test_javascript_reads_the_same() -> None:
    answers = values_js_map(
        f"(d) => m.evaluate({json.dumps(FIRST)}, d)", [data for data, _ in RECORDS]
    )
    assert answers == [want for _, want in RECORDS]
