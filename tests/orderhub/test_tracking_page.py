"""The tracking page in a real browser: Debian's headless Chromium, driven by Selenium.

The site (``orderhub.site``) serves the page and calls PostgREST across origins, as in
``orderhub api``; the test types an order number and its tracking token with the keyboard,
reads the steps the page shows to the exact node, switches to Simplified Chinese, and saves
a screenshot of each state under the test's temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from api_world import ApiWorld, free_port
from browser import CHROMEDRIVER, DEBIAN_CHROMIUM
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from orderhub import tracking
from orderhub.site.server import SiteServer

pytestmark = pytest.mark.skipif(
    not (DEBIAN_CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed (./dev.sh test installs them)",
)


@pytest.fixture(scope="module")
def site(api_world: ApiWorld) -> Iterator[str]:
    server = SiteServer(api_world.base, "127.0.0.1", free_port())
    yield server.start()
    server.stop()


def _token(world: ApiWorld, order_id: str) -> str:
    with psycopg.connect(world.url) as conn:
        return tracking.tracking_token(conn, order_id)


def _delivered_order(world: ApiWorld) -> tuple[str, list[str]]:
    """A delivered order that passed a carrier hub, and the places its steps name."""
    order_id = world.query(
        "select order_id from marts.fct_order_current_status where canonical_status = 'delivered'"
        " and order_id in (select order_id from marts.fct_order_timeline"
        "  where node_type = 'carrier_hub') order by order_id limit 1"
    )[0][0]
    places = world.query(
        "select distinct coalesce(node_name, node_city) from marts.fct_order_timeline"
        " where order_id = %s and node_type in ('warehouse', 'carrier_hub')",
        order_id,
    )
    return str(order_id), [place for (place,) in places]


def _ready(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    )


def _result(driver: WebDriver) -> str:
    WebDriverWait(driver, 20).until(
        expected_conditions.visibility_of_element_located((By.ID, "result"))
    )
    return str(driver.find_element(By.ID, "result").text)


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(driver: WebDriver, element_id: str, background: str = "rgb(255, 255, 255)") -> float:
    style = driver.execute_script(
        "const s = getComputedStyle(document.getElementById(arguments[0]));"
        "return [s.color, s.backgroundColor];",
        element_id,
    )
    back = style[1] if not style[1].endswith(", 0)") else background
    light, dark = sorted((_luminance(style[0]), _luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_look_an_order_up_by_keyboard_in_english_and_chinese(
    api_world: ApiWorld, site: str, browser: WebDriver, tmp_path: Path
) -> None:
    order_id, places = _delivered_order(api_world)
    _ready(browser, f"{site}/track?lang=en")
    assert browser.execute_script("return document.documentElement.lang") == "en"
    for field in ("order-id", "tracking-token"):  # every field has its label
        label = browser.find_element(By.CSS_SELECTOR, f"label[for='{field}']")
        assert label.text
    browser.execute_script(
        "window.tracked = null;"
        "document.addEventListener('orderhub:tracked',"
        " e => { window.tracked = e.detail.order.order_id; });"
    )
    field = browser.find_element(By.ID, "order-id")
    field.click()
    field.send_keys(order_id, Keys.TAB, _token(api_world, order_id), Keys.ENTER)
    shown = _result(browser)
    browser.save_screenshot(str(tmp_path / "tracking-en.png"))
    assert f"Order {order_id}" in shown
    assert "Delivered" in shown and "Promised by" in shown
    for place in places:
        assert place in shown, (place, shown)
    assert browser.execute_script("return window.tracked") == order_id
    assert browser.find_element(By.ID, "proof").get_attribute("hidden") is not None
    assert browser.switch_to.active_element.get_attribute("id") == "result-heading"
    for element_id in ("status", "order-id-help", "submit"):
        assert _contrast(browser, element_id) >= 4.5, element_id

    browser.find_element(By.CSS_SELECTOR, "button[data-lang='zh-Hans']").send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.documentElement.lang") == "zh-Hans"
    )
    shown = browser.find_element(By.ID, "result").text
    browser.save_screenshot(str(tmp_path / "tracking-zh-Hans.png"))
    assert f"订单 {order_id}" in shown and "已送达" in shown and "物流轨迹" in shown
    assert browser.find_element(By.CSS_SELECTOR, "label[for='order-id']").text == "订单号"
    assert (tmp_path / "tracking-en.png").stat().st_size > 10_000


def test_a_link_with_the_token_looks_up_at_once_and_a_wrong_one_is_told(
    api_world: ApiWorld, site: str, browser: WebDriver, tmp_path: Path
) -> None:
    stuck = api_world.query(
        "select order_id from marts.fct_order_exceptions"
        " where exception_type = 'stuck_beyond_sla' order by order_id limit 1"
    )[0][0]
    _ready(browser, f"{site}/track?lang=en#order={stuck}&token={_token(api_world, stuck)}")
    shown = _result(browser)
    browser.save_screenshot(str(tmp_path / "tracking-warning.png"))
    assert "taking longer than usual" in shown

    _ready(browser, f"{site}/track?lang=en")
    browser.find_element(By.ID, "order-id").send_keys(stuck)
    browser.find_element(By.ID, "tracking-token").send_keys("0" * 24, Keys.ENTER)
    WebDriverWait(browser, 20).until(
        expected_conditions.visibility_of_element_located((By.ID, "message"))
    )
    message = browser.find_element(By.ID, "message")
    browser.save_screenshot(str(tmp_path / "tracking-not-found.png"))
    assert message.get_attribute("role") == "alert"
    assert "We found no order" in message.text
    assert not browser.find_element(By.ID, "result").is_displayed()
