"""``orderhub audit verify`` on the published audit vectors (docs/audit-vectors/).

Every valid vector verifies with the keys of ``keys.json``; every invalid one is refused,
naming the item its manifest entry names; and the vectors hold the canonical-JSON edge
cases they promise (floats, non-ASCII text, integers at 2**53 - 1 in record data).
``tests/dbt_project/test_audit_vectors.py`` builds the same records with the dbt models,
``tests/orderhub/test_audit_browser.py`` checks vectors in a browser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.bundle import BundleError, verify_bundle
from orderhub.cli import main

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "audit-vectors"
MANIFEST: list[dict[str, Any]] = json.loads((VECTORS / "manifest.json").read_text())["vectors"]
KEYS: dict[str, str] = json.loads((VECTORS / "keys.json").read_text())


def load(entry: dict[str, Any]) -> dict[str, Any]:
    return json.loads((VECTORS / entry["file"]).read_text(encoding="utf-8"))


def test_the_manifest_lists_every_vector_and_each_named_tampering() -> None:
    files = {
        p.relative_to(VECTORS).as_posix() for folder in ("valid", "invalid")
        for p in (VECTORS / folder).glob("*.json")
    }  # fmt: skip
    assert files == {entry["file"] for entry in MANIFEST}
    assert {Path(e["file"]).stem for e in MANIFEST if not e["valid"]} >= {
        "status_edited", "node_edited", "event_id_edited", "event_dropped",
        "event_dropped_with_its_record", "witness_key_swapped", "float_changed",
        "non_ascii_normalised", "large_integer_changed",
    }  # fmt: skip


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_each_vector_verifies_or_is_refused_as_its_manifest_says(entry: dict[str, Any]) -> None:
    bundle, keys = load(entry), {"witness_keys": [KEYS["witness_key"]]}
    if entry["valid"]:
        report = verify_bundle(bundle, KEYS["log_key"], **keys)
        assert report.checked[-1].startswith(f"claim: order {bundle['subject']['order_id']} is ")
    else:
        with pytest.raises(BundleError) as info:
            verify_bundle(bundle, KEYS["log_key"], **keys)
        assert str(info.value).startswith(entry["expect"]), str(info.value)


def test_the_vectors_carry_the_canonical_json_edge_cases() -> None:
    text = "\n".join((VECTORS / e["file"]).read_text() for e in MANIFEST if e["valid"])
    data = [r["data"] for e in MANIFEST if e["valid"] for r in load(e)["records"]]
    values = json.dumps(data, ensure_ascii=False)
    assert "1e+21" in text and "1e-07" in text and "0.1" in values, "floats"
    assert "9007199254740991" in values and "-9007199254740991" in values, "large integers"
    assert "Müller" in values and "„Müller“" in values and "ÄÖ" in values, "non-ASCII text"


def test_the_cli_verifies_and_refuses_the_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ["--key", KEYS["log_key"], "--witness-key", KEYS["witness_key"]]
    valid = next(e for e in MANIFEST if e["valid"])
    assert main(["audit", "verify", str(VECTORS / valid["file"]), *keys]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("VERIFIED: ")
    swapped = next(e for e in MANIFEST if e["file"].endswith("witness_key_swapped.json"))
    assert main(["audit", "verify", str(VECTORS / swapped["file"]), *keys]) == 1
    assert capsys.readouterr().err.startswith(f"FAILED: {swapped['expect']}")
