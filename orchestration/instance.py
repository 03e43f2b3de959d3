"""The Dagster instance under the orderhub home: run history shared by the demo and the UI."""

from __future__ import annotations

import os
from pathlib import Path

from orderhub.settings import Settings

#: Telemetry off; concurrency: every pool (one per source system's syncs,
#: ``orchestration.connector_assets.sync_pool``) runs one step at a time across runs, and
#: the run queue starts at most one run per system (tag ``orderhub/system``, which the
#: source sensors set) and one full flow at a time; freshness policies are evaluated.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: orderhub/system
        value:
          applyLimitPerUniqueValue: true
        limit: 1
      - key: dagster/job_name
        value: orderhub_full_flow
        limit: 1
freshness:
  enabled: true
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
