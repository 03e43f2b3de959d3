"""Benchmark: ``orderhub ui`` start time to a usable UI, and one incremental run's wall time.

1. ``orderhub ui`` in a fresh home (its dbt manifest parsed once beforehand, as the first
   demo leaves it): seconds until ``/server_info`` answers, then until the GraphQL API
   lists the assets (the asset graph's data). Stopped with SIGINT.
2. ``orderhub demo --orders N`` twice in one home: the second run is incremental (the
   connectors resume from their state, the marts rebuild only touched orders, the other
   colour is written, checked and published); its wall time.

Usage: ``uv run python bench/dagster_ui.py [--orders 200]``; figures to stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ORDERHUB = Path(sys.executable).with_name("orderhub")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERHUB_", "DAGSTER_"))}
    env["ORDERHUB_HOME"] = str(home)
    return env


def ui_start(home: Path) -> tuple[float, float]:
    """Seconds to /server_info, and to the asset list over GraphQL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen(
        [str(ORDERHUB), "ui", "--port", str(port)], env=_env(home),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        server = assets = None
        while assets is None and time.monotonic() - started < 300:
            try:
                if server is None and httpx.get(f"{base}/server_info", timeout=2).is_success:
                    server = time.monotonic() - started
                if server is not None:
                    query = {"query": "{ assetNodes { id } }"}
                    found = httpx.post(f"{base}/graphql", json=query, timeout=30).json()
                    if found.get("data", {}).get("assetNodes"):
                        assets = time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert server is not None and assets is not None, "the UI did not come up"
        return server, assets
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def demo(home: Path, orders: int) -> float:
    started = time.monotonic()
    result = subprocess.run(
        [str(ORDERHUB), "demo", "--orders", str(orders)], env=_env(home),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-ui-"))
    try:
        first = demo(home, args.orders)
        second = demo(home, args.orders)
        server, assets = ui_start(home)
        print(
            f"orderhub ui: /server_info after {server:.1f} s, asset graph data after {assets:.1f} s"
        )
        print(
            f"demo --orders {args.orders}: first run {first:.1f} s, incremental run {second:.1f} s"
        )
    finally:
        subprocess.run([str(ORDERHUB), "stop"], env=_env(home), capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
