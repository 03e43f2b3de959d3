"""Connectors: one Airbyte low-code declarative manifest per source system, run embedded.

- :mod:`connectors.catalog`: the registry ``SYSTEMS`` (manifest, streams, keys, raw schema);
- :mod:`connectors.config`: ``source_config(system, base_url, credentials, ...)``;
- :mod:`connectors.runner`: ``source-declarative-manifest`` as an Airbyte-protocol subprocess;
- :mod:`connectors.loader`: RECORDs into ``raw_<system>.<stream>``, committed with their STATE;
- :mod:`connectors.sync`: ``sync_system`` / ``sync_all``, the entry points.

Nothing here imports airbyte-cdk (its import prints to stdout); the cdk runs in the subprocess.
"""
