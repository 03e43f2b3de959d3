"""The registry of systems agrees with the manifests and with docs/sources.md."""

from __future__ import annotations

import pytest

from connectors.catalog import CONNECTORS, FILE_CONNECTOR, SYSTEMS, get_connector, load_manifest
from connectors.validation import RecordCheck
from orderhub.sources import API_SYSTEMS, FILE_SYSTEMS, SOURCE_SYSTEMS

CONTRACT = {
    "erp": ("sales_orders", "SalesOrder", "LastChangeDateTime"),
    "crm": ("fulfillment_orders", "Id", "LastModifiedDate"),
    "wms": ("pickings", "id", "write_date"),
    "tms": ("trackers", "id", "updated_at"),
}
#: Streams after the first (docs/sources.md "wms stock").
MORE = {"wms": (("stock_quants", "id", "write_date"), ("warehouses", "id", "write_date"))}


@pytest.mark.parametrize("system", sorted(CONTRACT))
def test_registry_matches_contract_and_manifest(system: str) -> None:
    connector = get_connector(system)
    name, key, cursor = CONTRACT[system]
    assert connector.stream_names == (name, *(more[0] for more in MORE.get(system, ())))
    assert connector.raw_schema == f"raw_{system}"
    assert connector.raw_table(name) == f"raw_{system}.{name}"
    stream = connector.stream(name)
    assert (stream.primary_key, stream.cursor_field) == (key, cursor)
    manifest = load_manifest(system)
    declared, *others = manifest["streams"]
    assert declared["name"] == name
    for other, (more, more_key, more_cursor) in zip(others, MORE.get(system, ()), strict=True):
        assert (other["name"], other["primary_key"]) == (more, [more_key])
        assert other["incremental_sync"]["$ref"] == "#/definitions/stock_cursor"
        assert manifest["definitions"]["stock_cursor"]["cursor_field"] == more_cursor
    assert declared["primary_key"] == [key]
    assert declared["incremental_sync"]["cursor_field"] == cursor
    assert manifest["check"]["stream_names"] == [name]
    # keyset paging: each next request asks for what sorts after (cursor, key) of a record
    parameters = str(manifest["definitions"]["requester"].get("request_parameters", {}))
    assert stream.keyset == ("next_page_token['next_page_token'][1]" in parameters)
    assert stream.keyset == (system != "wms")  # the WMS follows the API's next_cursor


def test_secret_fields_come_from_the_manifest_spec() -> None:
    assert {s: c.secret_fields for s, c in SYSTEMS.items()} == {
        "erp": ("api_key",),
        "crm": ("client_id", "client_secret", "refresh_token"),
        "wms": ("client_id", "client_secret"),
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
