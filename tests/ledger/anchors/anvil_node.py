"""Start a real anvil node (npm ``@foundry-rs/anvil-linux-amd64``) on 127.0.0.1 for a test."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ANVIL = REPO / "node_modules" / ".bin" / "anvil"


@dataclass(frozen=True)
class Anvil:
    """A running anvil: its JSON-RPC URL and its funded dev accounts' private keys."""

    url: str
    keys: list[str]


@contextmanager
def start_anvil(folder: Path, timeout: float = 30.0) -> Iterator[Anvil]:
    """anvil on a free port of 127.0.0.1 with three random funded accounts; stopped after."""
    if not ANVIL.exists():
        raise RuntimeError(f"{ANVIL} is missing: run `npm ci` (package.json pins anvil)")
    config, log = folder / "anvil.json", folder / "anvil.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", "0", "--accounts", "3",
             "--mnemonic-random", "--config-out", str(config)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(r"Listening on (127\.0\.0\.1:\d+)", log.read_text())
            if found and config.exists() and config.stat().st_size:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        keys = json.loads(config.read_text())["private_keys"]
        yield Anvil(f"http://{found.group(1)}", keys)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
