"""Headless Chromium for the tests, driven over the DevTools protocol, and a small site.

:class:`Chromium` starts Debian's ``/usr/bin/chromium`` headless (``--headless=new
--no-sandbox --disable-gpu --disable-dev-shm-usage``, a user data folder of its own,
DevTools on a free port) and :meth:`Chromium.page` opens a tab that the test drives with
DevTools commands over a WebSocket (``websockets``): navigate, evaluate JavaScript, wait
for a condition. :func:`serve` serves files from a mapping of paths on 127.0.0.1, as a
site would (the tracking page's static files and its well-known key URLs).
:func:`selenium_chromium` drives the same Chromium through Debian's ``chromedriver`` and
Selenium instead, for the tests that type and click as a user does.
"""

from __future__ import annotations

import json
import mimetypes
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Debian's packages chromium and chromium-driver (never a downloaded browser).
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SELENIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1000,1400", "--lang=en-US",
)  # fmt: skip
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
    "--disable-quic", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
)  # fmt: skip

Content = bytes | Callable[[], bytes]


@contextmanager
def serve(files: Mapping[str, tuple[str, Content]]) -> Iterator[str]:
    """``{path: (content type, bytes or a function giving them)}`` on 127.0.0.1; its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(self.path.split("?")[0])
            if found is None:
                self.send_error(404)
                return
            kind, content = found
            body = content() if callable(content) else content
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def static_files(folder: Path, prefix: str) -> dict[str, tuple[str, Content]]:
    """Every file of ``folder`` under the URL path ``prefix``."""
    return {
        f"{prefix}/{path.name}": (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            path.read_bytes(),
        )
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


class Page:
    """One tab, driven over its DevTools WebSocket ``ws``."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"{expression} never held")

    def screenshot(self, path: Path) -> Path:
        """The tab as a PNG at ``path``."""
        import base64

        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")


class Chromium:
    """A headless Chromium of its own (started here, ended here by its process id)."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line.startswith("DevTools listening on ws://"):
                self.port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                break

    def _read(self, lines: queue.Queue[str]) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            lines.put(line.strip())

    @contextmanager
    def page(self) -> Iterator[Page]:
        """The browser's tab, for the time of a ``with`` block."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=30) as r:
            tabs = json.load(r)
        url = next(t for t in tabs if t["type"] == "page")["webSocketDebuggerUrl"]
        with connect(url, max_size=None, open_timeout=30) as ws:
            yield Page(ws)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def selenium_chromium() -> Iterator[WebDriver]:
    """Debian's headless Chromium under Selenium, with a fresh profile of its own."""
    profile = tempfile.mkdtemp(prefix="orderhub-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(DEBIAN_CHROMIUM)
    for flag in (*SELENIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
