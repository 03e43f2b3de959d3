"""The derivation spec's ``first`` expression reads a record alike in the auditor's two
verifiers (``ledger.bundle.values.evaluate`` and the site's ``values.js``) and as the staging
model does: over an array in its order, the first item whose expression is not null (an SAP
order's first rejected item's reason for rejection)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ledger.bundle.values import evaluate

VALUES_JS = (
    Path(__file__).resolve().parents[2] / "orderhub" / "site" / "static" / "audit" / "values.js"
)
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
    node = shutil.which("node")
    assert node, "node is installed by ./dev.sh (npm packages)"
    script = (
        f"import({json.dumps(VALUES_JS.as_uri())}).then((m) => console.log(JSON.stringify("
        f"{json.dumps([data for data, _ in RECORDS])}.map((d) => m.evaluate("
        f"{json.dumps(FIRST)}, d)))))"
    )
    out = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out) == [want for _, want in RECORDS]
