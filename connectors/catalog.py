"""The registry of source systems: which manifest, streams, keys and raw schema each one has.

One Airbyte low-code declarative manifest per API system lives in ``connectors/manifests``
(:data:`SYSTEMS`); this module names them and what the loader needs to know about their
streams (primary key, cursor field, raw table). The values follow docs/sources.md; a test
checks them against the manifests.

The file source (:mod:`connectors.file_source`) reads files, which no declarative manifest
can (local paths, Parquet), so it has no manifest: its descriptor
``connectors/file_source/order_lines.yaml`` holds the parts of one the loader reads (the
stream's schema, the spec). :data:`CONNECTORS` is every system's connector, in
:data:`orderhub.sources.SOURCE_SYSTEMS` order; the raw tables, the audit and the summary
use it, the manifest runners :data:`SYSTEMS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.manifest_files import MANIFEST_DIR, read_manifest
from connectors.odata import ERP_CURSOR, iso_utc
from orderhub.sources import API_SYSTEMS, SOURCE_SYSTEMS

FILE_DESCRIPTOR = Path(__file__).resolve().parent / "file_source" / "order_lines.yaml"


@dataclass(frozen=True)
class StreamSpec:
    """One stream of a connector and the raw table it lands in.

    ``keyset``: the records of a read arrive in (cursor, primary key) order: the connector
    pages by them (each next page asks for what sorts after the last record of the page
    before: the ERP's ``$filter``, the WMS's Odoo domain), or its query orders by them and
    the server's own cursor pages it (the CRM's query locator); the manifest fails a page out
    of order, the loader checks the order across pages.

    ``cursor_source``: the vendor's field the connector derives its cursor field from, when
    the two differ (the ERP: SAP's ``/Date()/`` ``LastChangeDateTime``, see
    :mod:`connectors.odata`); the vendor's queries filter and order on it.
    """

    name: str
    primary_key: str
    cursor_field: str
    keyset: bool = False
    cursor_source: str | None = None

    @property
    def source_cursor(self) -> str:
        """The vendor's own name of the cursor field (what its queries filter on)."""
        return self.cursor_source or self.cursor_field

    def as_read(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """``record`` as the connector emits it: with the cursor field it derives (when
        it derives one and ``record``, as the vendor sent it, lacks it), else unchanged."""
        if self.cursor_source is None or self.cursor_field in record:
            return record
        derived = iso_utc(record.get(self.cursor_source))
        return record if derived is None else {**record, self.cursor_field: derived}


@dataclass(frozen=True)
class ConnectorSpec:
    """One source system: its manifest, streams and raw schema."""

    name: str
    manifest_path: Path
    streams: tuple[StreamSpec, ...]
    raw_schema: str

    @property
    def stream_names(self) -> tuple[str, ...]:
        return tuple(stream.name for stream in self.streams)

    def stream(self, name: str) -> StreamSpec:
        """The stream called ``name`` (KeyError naming the system otherwise)."""
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(
            f"{self.name} has no stream {name!r} (it has {', '.join(self.stream_names)})"
        )

    def raw_table(self, stream: str) -> str:
        """Qualified raw table of ``stream``, e.g. ``raw_erp.sales_orders``."""
        return f"{self.raw_schema}.{self.stream(stream).name}"

    def manifest(self) -> dict[str, Any]:
        """The declarative manifest (for the file source, its descriptor), parsed safely
        (libyaml's parser when PyYAML has it: the same document, faster), read once. Shared:
        callers must not change it."""
        return read_manifest(self.manifest_path)

    def connection_specification(self) -> dict[str, Any]:
        """The JSON schema of the config this connector takes (the manifest's ``spec``)."""
        return dict(self.manifest()["spec"]["connection_specification"])

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """Config fields the manifest marks ``airbyte_secret``: credentials, never logged."""
        properties = self.connection_specification().get("properties", {})
        return tuple(name for name, prop in properties.items() if prop.get("airbyte_secret"))


def _connector(
    name: str, stream: str, primary_key: str, cursor_field: str, keyset: bool
) -> ConnectorSpec:
    extra = tuple(StreamSpec(*more) for more in _MORE_STREAMS.get(name, ()))
    source = _CURSOR_SOURCES.get(name)
    return ConnectorSpec(
        name=name,
        manifest_path=MANIFEST_DIR / f"{name}.yaml",
        streams=(StreamSpec(stream, primary_key, cursor_field, keyset, source), *extra),
        raw_schema=f"raw_{name}",
    )


#: Each system's stream: name, primary key, cursor field (docs/sources.md), and whether its
#: records arrive in (cursor, key) order (the TMS lists trackers by creation, newest first).
_STREAMS: dict[str, tuple[str, str, str, bool]] = {
    "erp": ("sales_orders", "SalesOrder", ERP_CURSOR, True),
    "crm": ("fulfillment_orders", "Id", "SystemModstamp", True),
    "wms": ("pickings", "id", "write_date", True),
    "tms": ("trackers", "id", "updated_at", False),
}

#: The vendor field a first stream's cursor is derived from, where the connector derives it
#: (SAP's ``/Date()/`` timestamps, :mod:`connectors.odata`).
_CURSOR_SOURCES: dict[str, str] = {"erp": "LastChangeDateTime"}

#: Streams after a system's first, in manifest order: the WMS's stock and warehouses
#: (docs/sources.md "wms stock"; Odoo's stock.quant and stock.warehouse, read like the
#: pickings). The first stream stays the one the tests and assets name.
_MORE_STREAMS: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "wms": (
        ("stock_quants", "id", "write_date", True),
        ("warehouses", "id", "write_date", True),
    ),
}

#: The declarative connector of every API system, in
#: :data:`orderhub.sources.API_SYSTEMS` order.
SYSTEMS: dict[str, ConnectorSpec] = {
    system: _connector(system, *_STREAMS[system]) for system in API_SYSTEMS
}

#: The file source's connector: order lines, keyed by order and line.
FILE_CONNECTOR = ConnectorSpec(
    name="file",
    manifest_path=FILE_DESCRIPTOR,
    streams=(StreamSpec("order_lines", "line_key", "ordered_at"),),
    raw_schema="raw_file",
)

#: Every system's connector, in :data:`orderhub.sources.SOURCE_SYSTEMS` order.
CONNECTORS: dict[str, ConnectorSpec] = {
    system: (SYSTEMS | {FILE_CONNECTOR.name: FILE_CONNECTOR})[system] for system in SOURCE_SYSTEMS
}


def get_connector(system: str) -> ConnectorSpec:
    """The registered connector for ``system`` (KeyError naming the known systems otherwise)."""
    try:
        return CONNECTORS[system]
    except KeyError:
        raise KeyError(
            f"unknown source system {system!r}; known: {', '.join(sorted(CONNECTORS))}"
        ) from None


def load_manifest(system: str) -> dict[str, Any]:
    """The parsed manifest of ``system``."""
    return get_connector(system).manifest()
