"""How a connector asset runs, written once for the embedded runner's assets
(:mod:`orchestration.connector_assets`) and an Airbyte server's connections
(:mod:`orchestration.airbyte_assets`): its owner, its retry policy, its concurrency pool, its
freshness policy, its asset key, and the run tag that names its system.
"""

from __future__ import annotations

from dagster import AssetKey, Backoff, FreshnessPolicy, Jitter, RetryPolicy

from orchestration.freshness import policy

OWNER = "team:data-platform"
#: A failed sync is retried with exponential backoff (10 s, 20 s, 40 s, each +/- half):
#: a source that is down for a minute costs a late run, not a failed one.
SYNC_RETRIES = RetryPolicy(
    max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
#: The run tag naming the system a run syncs (the source sensors set it); the run queue
#: starts one run per value at a time (``orchestration.instance``).
SYSTEM_TAG = "orderhub/system"


def sync_pool(system: str) -> str:
    """The concurrency pool of ``system``'s syncs: its limit (1, ``dagster.yaml``) keeps two
    syncs of one system from overlapping, across runs."""
    return f"sync_{system}"


def sync_freshness() -> FreshnessPolicy:
    """How fresh a raw table must be (the ``connectors`` group's windows)."""
    return policy("connectors")


def raw_asset_key(system: str, stream: str) -> AssetKey:
    """Asset key of a raw table; equals the key dagster-dbt gives the dbt source."""
    return AssetKey([f"raw_{system}", stream])
