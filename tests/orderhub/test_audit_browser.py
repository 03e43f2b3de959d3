"""The tracking page's "verify" button: an audit bundle checked in the browser.

The verifier is plain JavaScript (``orderhub/site/static/audit/``: RFC 8785, RFC 9162
proofs, C2SP notes and cosignatures with WebCrypto SHA-256 and Ed25519, the derivation
spec and the status rules ported from ``ledger/bundle``). A minimal page here stands in for
the tracking page: its ``<section id="proof">`` holds the order's bundle URL, and the site
publishes the log key and the witness key at their well-known URLs. Headless Chromium
(Debian's, 137+ for Ed25519 in WebCrypto) presses "verify" on a valid vector and on a
tampered one. The same JavaScript also runs under Node's WebCrypto on every vector, and
must agree with ``orderhub audit verify`` on each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM, Chromium, Page, serve, static_files

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "orderhub" / "site" / "static" / "audit"
VECTORS = ROOT / "docs" / "audit-vectors"
KEYS: dict[str, str] = json.loads((VECTORS / "keys.json").read_text())
MANIFEST: list[dict[str, Any]] = json.loads((VECTORS / "manifest.json").read_text())["vectors"]
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Track your order</title></head>
<body><h1>Order SO-V1</h1>
<section id="proof" data-bundle-url="/audit/bundle.json"></section>
<script type="module" src="/static/audit/proof.js"></script>
</body></html>
"""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium here (Debian package chromium)")
    browser = Chromium(tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


def press_verify(page: Page, site: str) -> tuple[str, str, list[str]]:
    page.goto(f"{site}/track")
    page.wait_for("document.querySelector('#proof')?.dataset.result === 'ready'")
    page.evaluate("document.querySelector('#proof button').click()")
    result = page.wait_for(
        "['verified', 'failed'].includes(document.querySelector('#proof').dataset.result)"
        " && document.querySelector('#proof').dataset.result"
    )
    status = page.evaluate("document.querySelector('#proof [data-proof-status]').textContent")
    checks = page.evaluate(
        "[...document.querySelectorAll('#proof [data-proof-checks] li')].map(li => li.textContent)"
    )
    return result, status, checks


def test_the_verify_button_checks_a_bundle_in_the_browser(chromium: Chromium) -> None:
    bundle = {"file": "valid/SO-V1.json"}

    def current() -> bytes:
        return (VECTORS / bundle["file"]).read_bytes()

    files = {
        "/track": ("text/html; charset=utf-8", PAGE),
        "/.well-known/orderhub/log-key": ("text/plain", KEYS["log_key"].encode() + b"\n"),
        "/.well-known/orderhub/witness-key": ("text/plain", KEYS["witness_key"].encode()),
        "/audit/bundle.json": ("application/json", current),
        **static_files(STATIC, "/static/audit"),
    }
    with serve(files) as site, chromium.page() as page:
        result, status, checks = press_verify(page, site)
        assert result == "verified", status
        assert status.startswith("Verified")
        assert checks[0].endswith("is signed by the trusted log key")
        assert any("verifies with the trusted witness key" in line for line in checks)
        assert checks[-1].startswith("claim: order SO-V1 is delivered")
        assert '"Köln"' in checks[-1]

        bundle["file"] = "invalid/status_edited.json"
        result, status, _ = press_verify(page, site)
        assert result == "failed"
        assert status.startswith("Not verified: event #")
        assert 'canonical_status is "in_transit", its record derives "delivered"' in status

        bundle["file"] = "invalid/witness_key_swapped.json"
        result, status, _ = press_verify(page, site)
        assert result == "failed"
        assert "no receipt is cosigned by the trusted witness key" in status


def test_the_browser_verifier_agrees_with_audit_verify_on_every_vector() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js here")
    run = subprocess.run(
        [node, str(Path(__file__).with_name("verify_vectors.mjs"))],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    results = {r["file"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert set(results) == {entry["file"] for entry in MANIFEST}
    for entry in MANIFEST:
        result = results[entry["file"]]
        if entry["valid"]:
            assert result["ok"], result
            assert result["last"].startswith("claim: order ")
        else:
            assert not result["ok"] and result["error"].startswith(entry["expect"]), result
