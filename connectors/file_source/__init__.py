"""The file source: order lines from a CSV, JSON Lines or Parquet file, at a local path or
an http(s) URL, mapped column by column to the canonical order line.

- :mod:`connectors.file_source.mapping`: the column mapping (YAML or JSON) and its checks;
- :mod:`connectors.file_source.reader`: the file fetched, hashed and read into records;
- :mod:`connectors.file_source.sync`: ``sync_file``, through the connectors' own loader.

No declarative manifest can read a local path or Parquet, so this connector is Python; it
keeps what the declarative ones keep (content hashing, quarantine, batches and their
Merkle trees, state), and its descriptor (``order_lines.yaml``) is the stream's schema.
"""
