"""The Dagster instance under the orderhub home: run history shared by the demo and the UI."""

from __future__ import annotations

import os
from pathlib import Path

from orderhub.settings import Settings

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """Create ``<home>/dagster`` with telemetry off and point ``DAGSTER_HOME`` at it."""
    home = settings.home_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() != DAGSTER_YAML:
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
