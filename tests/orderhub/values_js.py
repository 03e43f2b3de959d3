"""The auditor's JavaScript value reader (``orderhub/site/static/audit/values.js``) run under
Node, for tests that hold it to the Python verifier's answers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

VALUES_JS = (
    Path(__file__).resolve().parents[2] / "orderhub" / "site" / "static" / "audit" / "values.js"
)


def values_js_map(function: str, inputs: list[Any]) -> list[Any]:
    """``inputs.map(function)`` in Node, ``function`` a JavaScript arrow that reads
    values.js's exports as ``m`` (e.g. ``(t) => m.parseTime(t)``); the answers, as JSON."""
    node = shutil.which("node")
    assert node, "node is installed by ./dev.sh (npm packages)"
    script = (
        f"import({json.dumps(VALUES_JS.as_uri())}).then((m) => console.log(JSON.stringify("
        f"{json.dumps(inputs)}.map({function}))))"
    )
    out = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return json.loads(out)
