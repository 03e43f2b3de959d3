"""The tracking page's "Verify" button on a real site: a customer looks an order up with its
tracking token and checks its audit bundle in the browser.

The warehouse is built as the audited one (tests/orderhub/audit_warehouse.py: records in logged
batches, a real dbt build logged with the orders' claims, a signed checkpoint cosigned by
the witness), served by PostgREST as ``orderhub api`` serves it, and the site with its audit
routes (``orderhub.site.audit``): ``/audit/<order>?token=...`` and the keys under
``/.well-known/orderhub/``. Debian's headless Chromium types the order, presses "Verify" and
must read "verified"; a screenshot of it is saved under the test's temporary folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from api_world import Built, free_port, served
from audit_warehouse import ORDER, OTHER_ORDER, AuditWarehouse, build
from browser import CHROMEDRIVER, DEBIAN_CHROMIUM
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from ledger.bundle import verify_bundle
from ledger.keys import load_or_create_cosigner
from orderhub import tracking
from orderhub.site.audit import AuditSource
from orderhub.site.server import SiteServer
from orderhub.warehouse import scratch_database


@dataclass
class AuditedSite:
    """The site's URL, the warehouse behind it and an order's tracking token."""

    url: str
    warehouse: AuditWarehouse
    tokens: dict[str, str]
    witness_key_file: Path


@pytest.fixture(scope="module")
def audited_site(pg_server: str, server_home: Callable[[str], Path]) -> Iterator[AuditedSite]:
    """A warehouse of its own (a copy of the template would not do: the tracking lookup's
    SQL names the database it was built in), PostgREST and the site with its audit routes."""
    home = server_home("audited-site")
    try:
        with scratch_database(pg_server, prefix="audited_site") as url:
            warehouse = build(url, home)
            with served(Built(url, Path("unused")), home) as world:
                with psycopg.connect(url) as conn:
                    tokens = {o: tracking.tracking_token(conn, o) for o in (ORDER, OTHER_ORDER)}
                audit = AuditSource.from_settings(world.settings, url)
                site = SiteServer(world.base, "127.0.0.1", free_port(), audit=audit)
                try:
                    yield AuditedSite(site.start(), warehouse, tokens, audit.witness_key_file)
                finally:
                    site.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_bundle_needs_the_orders_tracking_token(audited_site: AuditedSite) -> None:
    site, warehouse = audited_site.url, audited_site.warehouse
    token = audited_site.tokens[ORDER]
    found = httpx.get(f"{site}/audit/{ORDER}", params={"token": token.upper()}, timeout=60)
    assert found.status_code == 200, found.text
    assert found.headers["cache-control"] == "no-store"
    bundle = found.json()
    assert bundle["subject"] == {"order_id": ORDER}
    result = verify_bundle(bundle, warehouse.log_key, witness_keys=[warehouse.witness_key])
    assert result.checked  # verifies offline too, with only the keys a user is given

    wrong = [
        httpx.get(f"{site}/audit/{ORDER}", params={"token": "0" * 24}, timeout=30),
        httpx.get(f"{site}/audit/{ORDER}", timeout=30),
        # another order's token opens nothing but that order
        httpx.get(f"{site}/audit/{ORDER}", params={"token": audited_site.tokens[OTHER_ORDER]}),
        httpx.get(f"{site}/audit/SO-404", params={"token": token}, timeout=30),
    ]
    assert [r.status_code for r in wrong] == [404] * 4
    assert len({r.text for r in wrong}) == 1  # a wrong token and an unknown order alike

    keys = {
        name: httpx.get(f"{site}/.well-known/orderhub/{name}", timeout=30)
        for name in ("log-key", "witness-key")
    }
    assert keys["log-key"].text.strip() == warehouse.log_key
    assert keys["witness-key"].text.strip() == warehouse.witness_key
    config = httpx.get(f"{site}/config.json", timeout=30).json()
    assert config["audit"]["bundle_url"] == "/audit/{order}"


def _verify(browser: WebDriver) -> str:
    proof = browser.find_element(By.ID, "proof")
    WebDriverWait(browser, 20).until(lambda d: proof.is_displayed())
    button = proof.find_element(By.TAG_NAME, "button")
    button.send_keys(Keys.ENTER)  # by keyboard, as a button must allow
    WebDriverWait(browser, 60).until(
        lambda d: proof.get_attribute("data-result") in ("verified", "failed")
    )
    return str(proof.get_attribute("data-result"))


@pytest.mark.skipif(
    not (DEBIAN_CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed (./dev.sh test installs them)",
)
def test_verify_on_the_tracking_page_checks_the_orders_bundle(
    audited_site: AuditedSite, browser: WebDriver, tmp_path: Path
) -> None:
    site = audited_site.url
    browser.get(f"{site}/track?lang=en")
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    )
    field = browser.find_element(By.ID, "order-id")
    field.send_keys(ORDER, Keys.TAB, audited_site.tokens[ORDER], Keys.ENTER)
    WebDriverWait(browser, 20).until(
        expected_conditions.visibility_of_element_located((By.ID, "result"))
    )
    assert _verify(browser) == "verified", browser.find_element(By.ID, "proof").text
    proof = browser.find_element(By.ID, "proof").text
    browser.save_screenshot(str(tmp_path / "tracking-verified.png"))
    assert "Verified: the status is proved by the signed log." in proof
    assert "verifies with the trusted witness key" in proof
    assert f"claim: order {ORDER} is delivered" in proof

    # the button follows the order looked up: the other order verifies as itself
    browser.find_element(By.ID, "order-id").clear()
    browser.find_element(By.ID, "order-id").send_keys(OTHER_ORDER)
    browser.find_element(By.ID, "tracking-token").clear()
    browser.find_element(By.ID, "tracking-token").send_keys(
        audited_site.tokens[OTHER_ORDER], Keys.ENTER
    )
    WebDriverWait(browser, 20).until(
        lambda d: f"Order {OTHER_ORDER}" in d.find_element(By.ID, "result").text
    )
    assert browser.find_element(By.ID, "proof").get_attribute("data-result") == "ready"
    assert _verify(browser) == "verified"
    assert f"claim: order {OTHER_ORDER}" in browser.find_element(By.ID, "proof").text

    # the site publishes another witness's key: the browser trusts only the published
    # keys, and no receipt of the bundle is cosigned by that one
    other = load_or_create_cosigner(tmp_path / "other-witness.pem", "other.witness.example")
    published = audited_site.witness_key_file.read_text(encoding="utf-8")
    audited_site.witness_key_file.write_text(other.verifier_key() + "\n", encoding="utf-8")
    try:
        browser.find_element(By.CSS_SELECTOR, "#proof button").send_keys(Keys.ENTER)
        WebDriverWait(browser, 60).until(
            lambda d: d.find_element(By.ID, "proof").get_attribute("data-result") == "failed"
        )
        status = browser.find_element(By.CSS_SELECTOR, "#proof [data-proof-status]").text
    finally:
        audited_site.witness_key_file.write_text(published, encoding="utf-8")
    assert "no receipt is cosigned by the trusted witness key" in status
