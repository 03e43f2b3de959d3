"""The registry of systems agrees with the manifests and with docs/sources.md."""

from __future__ import annotations

import pytest

from connectors.catalog import CONNECTORS, FILE_CONNECTOR, SYSTEMS, get_connector, load_manifest
from connectors.validation import RecordCheck
from orderhub.sources import API_SYSTEMS, FILE_SYSTEMS, SOURCE_SYSTEMS

CONTRACT = {
    # the cursor the connector derives from SAP's /Date()/ LastChangeDateTime (ISO 8601 UTC)
    "erp": ("sales_orders", "SalesOrder", "LastChangeDateTime_utc"),
    "crm": ("fulfillment_orders", "Id", "SystemModstamp"),
    "wms": ("pickings", "id", "write_date"),
    "tms": ("trackers", "id", "updated_at"),
}
#: Streams after the first (docs/sources.md "wms stock").
MORE = {"wms": (("stock_quants", "id", "write_date"), ("warehouses", "id", "write_date"))}


def _resolved(manifest: dict, node: dict) -> dict:
    """``node``, or the definition its ``$ref`` names."""
    ref = node.get("$ref", "")
    return manifest["definitions"][ref.rsplit("/", 1)[-1]] if ref else node


@pytest.mark.parametrize("system", sorted(CONTRACT))
def test_registry_matches_contract_and_manifest(system: str) -> None:
    connector = get_connector(system)
    name, key, cursor = CONTRACT[system]
    assert connector.stream_names == (name, *(more[0] for more in MORE.get(system, ())))
    assert connector.raw_schema == f"raw_{system}"
    assert connector.raw_table(name) == f"raw_{system}.{name}"
    stream = connector.stream(name)
    assert (stream.primary_key, stream.cursor_field) == (key, cursor)
    # the vendor's own field its queries filter on
    assert stream.source_cursor == ("LastChangeDateTime" if system == "erp" else cursor)
    manifest = load_manifest(system)
    declared, *others = manifest["streams"]
    assert declared["name"] == name
    for other, (more, more_key, more_cursor) in zip(others, MORE.get(system, ()), strict=True):
        assert (other["name"], other["primary_key"]) == (more, [more_key])
        assert _resolved(manifest, other["incremental_sync"])["cursor_field"] == more_cursor
        # the same keyset read as the first stream (Odoo: search_read on another model)
        assert other["retriever"] == declared["retriever"]
        assert connector.stream(more).keyset
    assert declared["primary_key"] == [key]
    assert _resolved(manifest, declared["incremental_sync"])["cursor_field"] == cursor
    assert manifest["check"]["stream_names"] == [name]
    # read in (cursor, key) order: each next request asks for what sorts after (cursor, key)
    # of a record (keyset), or the query orders by them and the server's cursor pages it
    requester = manifest["definitions"]["requester"]
    parameters = str(requester.get("request_parameters", {})) + str(
        requester.get("request_body_json", {})
    )
    ordered = "next_page_token['next_page_token'][1]" in parameters or (
        f"ORDER BY {cursor}, {key}" in parameters
    )
    assert stream.keyset == ordered
    # the TMS lists trackers by creation, newest first
    assert stream.keyset == (system != "tms")


def test_secret_fields_come_from_the_manifest_spec() -> None:
    assert {s: c.secret_fields for s, c in SYSTEMS.items()} == {
        "erp": ("api_key",),
        "crm": ("client_id", "client_secret"),
        "wms": ("api_key",),
        "tms": ("api_key",),
    }


def test_unknown_names_are_named() -> None:
    with pytest.raises(KeyError, match=r"unknown source system 'pos'.*crm, erp, file, tms, wms"):
        get_connector("pos")
    with pytest.raises(KeyError, match="erp has no stream 'items'"):
        SYSTEMS["erp"].stream("items")


def test_one_list_of_systems_api_systems_have_manifests_the_file_source_a_descriptor() -> None:
    assert list(CONNECTORS) == list(SOURCE_SYSTEMS)
    assert list(SYSTEMS) == list(API_SYSTEMS)
    assert set(SOURCE_SYSTEMS) == set(API_SYSTEMS) | set(FILE_SYSTEMS)
    assert get_connector("file") is FILE_CONNECTOR
    assert FILE_CONNECTOR.raw_table("order_lines") == "raw_file.order_lines"
    stream = FILE_CONNECTOR.stream("order_lines")
    assert (stream.primary_key, stream.cursor_field) == ("line_key", "ordered_at")
    assert FILE_CONNECTOR.secret_fields == ()
    check = RecordCheck.for_stream(FILE_CONNECTOR.manifest(), "order_lines")
    assert "sku" in check.required
    assert check.problems({"line_key": "o/1", "order_id": "o", "line_id": "1"}) == [
        "missing required field 'sku'",
        "missing required field 'store_id'",
        "missing required field 'quantity'",
        "missing required field 'ordered_at'",
    ]


class _Text(str):
    """A string of its own type: never on the fast path, always asked."""


def test_a_value_passed_over_by_its_type_is_one_every_test_would_pass() -> None:
    """``RecordCheck.problems`` skips the tests for a value whose type a declared type always
    accepts (a plain string takes any scalar); every manifest's stream, and a schema of each
    kind, gives the same reasons as asking every test."""
    schemas = [
        (CONNECTORS[system].manifest(), stream.name)
        for system in SYSTEMS
        for stream in CONNECTORS[system].streams
    ]
    kinds = ["string", "integer", "number", "boolean", "object", "array", "null"]
    own = {
        "type": "object",
        "properties": {
            **{f"p_{kind}": {"type": [kind, "null"]} for kind in kinds},
            "dated": {"type": ["string", "integer"], "format": "date-time"},
            "coded": {"type": "string", "pattern": "^A"},
            "both": {"type": ["number", "boolean"]},
        },
    }
    values = [
        "x", "", "A1", "17", "n/a", "2026-10-03T14:05:09Z", 17, -2, 12.5, float("nan"),
        True, False, {"a": 1}, [1], _Text("x"), _Text("2026-10-03T14:05:09Z"),
    ]  # fmt: skip
    checks = [RecordCheck.for_stream(m, s) for m, s in schemas] + [RecordCheck(own)]
    for check in checks:
        asked = RecordCheck.__new__(RecordCheck)
        asked.required = check.required
        asked._fields = [(n, t, e, frozenset()) for n, t, e, _ in check._fields]
        for name, *_ in check._fields:
            for value in values:
                record = {"id": "k", name: value}
                assert check.problems(record) == asked.problems(record), (name, value)
