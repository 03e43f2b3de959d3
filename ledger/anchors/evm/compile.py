"""Compile ``CheckpointAnchor.sol`` with the npm package ``solc`` and write its artefact.

    uv run python -m ledger.anchors.evm.compile          # rewrite CheckpointAnchor.json
    uv run python -m ledger.anchors.evm.compile --check  # exit 1 if the committed one differs

The compiler is ``solcjs`` from ``node_modules`` (``solc`` pinned in package.json,
installed by ``npm ci``), driven through its standard JSON interface with fixed
settings, so the output is a pure function of the source: a test recompiles it
and compares with the committed ``CheckpointAnchor.json`` (ABI, creation and
runtime bytecode, compiler version, source SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "CheckpointAnchor.sol"
ARTEFACT = HERE / "CheckpointAnchor.json"
CONTRACT = "CheckpointAnchor"
REPO = HERE.parents[2]
#: solc settings: fixed, so that the bytecode (and its metadata hash) is reproducible.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {
        CONTRACT + ".sol": {CONTRACT: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
    },
}


class CompileError(RuntimeError):
    """solcjs is missing or refused the source."""


def solcjs() -> Path:
    """The ``solcjs`` of the repository's ``node_modules``."""
    path = REPO / "node_modules" / ".bin" / "solcjs"
    if not path.exists():
        raise CompileError(f"{path} is missing: run `npm ci` (package.json pins solc)")
    return path


def compile_contract() -> dict[str, Any]:
    """The artefact of the committed source, compiled now."""
    source = SOURCE.read_text(encoding="utf-8")
    request = {
        "language": "Solidity",
        "sources": {CONTRACT + ".sol": {"content": source}},
        "settings": SETTINGS,
    }
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH: install Node.js (solcjs runs on it)")
    tool = solcjs()
    version = subprocess.run(
        [node, str(tool), "--version"], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    done = subprocess.run(
        [node, str(tool), "--standard-json"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise CompileError(f"solcjs failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    output = json.loads(done.stdout[done.stdout.index("{") :])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("; ".join(e.get("formattedMessage", e["message"]) for e in errors))
    compiled = output["contracts"][CONTRACT + ".sol"][CONTRACT]
    return {
        "contract": CONTRACT,
        "source": SOURCE.name,
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "compiler": f"solc {version}",
        "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
        "abi": compiled["abi"],
        "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
        "deployed_bytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
    }


def render(artefact: dict[str, Any]) -> str:
    """The artefact as committed: sorted, indented JSON with a final newline."""
    return json.dumps(artefact, indent=2, sort_keys=True) + "\n"


def load_artefact() -> dict[str, Any]:
    """The committed artefact (ABI and bytecode)."""
    return dict(json.loads(ARTEFACT.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    fresh = render(compile_contract())
    if args.check:
        if not ARTEFACT.exists() or ARTEFACT.read_text(encoding="utf-8") != fresh:
            print(f"{ARTEFACT} differs from a fresh compile of {SOURCE.name}", file=sys.stderr)
            return 1
        print(f"{ARTEFACT.name} matches {SOURCE.name}")
        return 0
    ARTEFACT.write_text(fresh, encoding="utf-8")
    print(f"wrote {ARTEFACT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
