"""Connectors: one Airbyte low-code declarative manifest per source system, run embedded.

- :mod:`connectors.catalog`: the registry ``SYSTEMS`` (manifest, streams, keys, raw schema);
- :mod:`connectors.config`: ``source_config(system, base_url, credentials, ...)``;
- :mod:`connectors.runner`: airbyte-cdk's declarative launcher as an Airbyte-protocol
  subprocess (:mod:`connectors.launch` by default, ``source-declarative-manifest`` on request)
  that dies with its parent (:mod:`connectors.process`), its retries as progress lines
  (:mod:`connectors.reporting`);
- :mod:`connectors.validation`: schema drift, decided per record (quarantine or load);
- :mod:`connectors.loader`: RECORDs into ``raw_<system>.<stream>`` (or the quarantine),
  committed with their STATE (or when a long stream's batch closes);
- :mod:`connectors.resume`: where a sync starts reading (the lookback measured from where
  the sync before it started) and the committed state's cursor in UTC;
- :mod:`connectors.sync`: ``sync_system`` / ``sync_all``, the entry points;
- :mod:`connectors.file_source`: ``sync_file``, order lines from a CSV, JSON Lines or
  Parquet file (path or URL) and a column mapping, through the same loader;
- :mod:`connectors.airbyte_server`: ``deploy`` the manifests to an Airbyte server, through
  :mod:`connectors.airbyte_client` (address, OAuth, paged lists) with the names and explicit
  configuration models of :mod:`connectors.airbyte_config`.

Nothing here imports airbyte-cdk (its import prints to stdout); the cdk runs in the subprocess.
"""
