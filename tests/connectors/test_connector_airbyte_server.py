"""Deploying the manifests to an Airbyte server, against a stub of Airbyte's public API.

No Airbyte server runs here: :mod:`airbyte_stub` serves the endpoints ``deploy`` calls with
their documented request and response shapes, and the ``airbyte-api`` SDK parses every answer
with its own models. The tests check what reached the server, byte for byte where it matters:
the manifests, each source's configuration (no key dropped, no other connector's type slipped
in: see ``connectors.airbyte_config``), the destination, the connections' streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airbyte_api import models
from airbyte_stub import AirbyteStub

from connectors import airbyte_client
from connectors.airbyte_server import (
    DESTINATION_NAME,
    SOURCE_CONFIGURATIONS,
    AirbyteServer,
    Warehouse,
    deploy,
    resource_name,
    source_configuration,
    system_of,
)
from connectors.catalog import SYSTEMS
from connectors.config import source_config
from orderhub.sources import SOURCE_OPTIONS

WAREHOUSE = Warehouse.from_url("postgresql://orderhub:pa%40ss@db.internal:5433/warehouse")


def configs() -> dict[str, dict[str, Any]]:
    return {
        system: source_config(
            system,
            f"http://sandbox.internal:8080/{system}",
            {field: f"{system}-{field}-value" for field in SYSTEMS[system].secret_fields},
            page_size=50,
            lookback_window="PT1H",
            options=SOURCE_OPTIONS.get(system),
        )
        for system in SYSTEMS
    }


@pytest.fixture
def stub() -> Iterator[AirbyteStub]:
    with AirbyteStub() as server:
        yield server


def server_for(stub: AirbyteStub, **options: Any) -> AirbyteServer:
    values = {
        "url": stub.url,
        "workspace_id": stub.workspace_id,
        "client_id": stub.client_id,
        "client_secret": stub.client_secret,
        **options,
    }
    return AirbyteServer(**values)


def test_deploy_creates_definitions_sources_destination_and_connections(
    stub: AirbyteStub,
) -> None:
    said: list[str] = []
    deployed = deploy(server_for(stub), configs(), WAREHOUSE, progress=said.append)
    assert [d.system for d in deployed] == list(SYSTEMS)
    assert all(
        set(d.created) == {"destination", "definition", "source", "connection"} for d in deployed
    )
    # definitions: the manifests themselves
    definitions = {d["name"]: d for d in stub.definitions.values()}
    for system, connector in SYSTEMS.items():
        assert definitions[resource_name(system)]["manifest"] == connector.manifest()
    # sources: each configuration exactly as built, of the system's own definition
    sent = {body["name"]: body for body in stub.calls("POST", "/api/public/v1/sources")}
    for item in deployed:
        body = sent[resource_name(item.system)]
        assert body["configuration"] == configs()[item.system]
        assert "sourceType" not in body["configuration"]
        assert body["definitionId"] == item.definition_id
        assert body["workspaceId"] == stub.workspace_id
    # one destination: the warehouse as the server reaches it
    (destination,) = stub.destinations.values()
    assert destination["name"] == DESTINATION_NAME
    assert destination["configuration"] == {
        "destinationType": "postgres",
        "host": "db.internal",
        "port": 5433,
        "database": "warehouse",
        "username": "orderhub",
        "password": "pa@ss",
        "schema": "public",
        "raw_data_schema": "airbyte_internal",  # where orderhub ingests the records from
        "disable_type_dedupe": True,  # raw tables only: 3.x writes none otherwise
        "drop_cascade": False,
        "ssl": False,
        "unconstrained_number": False,
    }
    # connections: incremental, every version appended (raw tables only), into airbyte_<system>
    for item in deployed:
        connection = stub.connections[item.connection_id]
        assert (connection["sourceId"], connection["destinationId"]) == (
            item.source_id,
            item.destination_id,
        )
        assert connection["configurations"]["streams"] == [
            {
                "name": stream.name,
                "syncMode": "incremental_append",
                "cursorField": [stream.cursor_field],
                "primaryKey": [[stream.primary_key]],
            }
            for stream in SYSTEMS[item.system].streams  # the WMS's stock streams too
        ]
        assert connection["namespaceDefinition"] == "custom_format"
        assert connection["namespaceFormat"] == f"airbyte_{item.system}"
        assert connection["schedule"] == {"scheduleType": "manual"}
    assert any("connection" in line and "new" in line for line in said)
    # the token endpoint was used (OAuth client credentials), the secret never logged back
    assert stub.calls("POST", "/applications/token")
    assert all(stub.client_secret not in line for line in said)


def test_deploy_again_updates_in_place(stub: AirbyteStub) -> None:
    first = deploy(server_for(stub), configs(), WAREHOUSE)
    changed = configs()
    changed["tms"]["page_size"] = 100
    second = deploy(server_for(stub), changed, WAREHOUSE)
    assert [(d.source_id, d.connection_id) for d in second] == [
        (d.source_id, d.connection_id) for d in first
    ]
    assert all(d.created == () for d in second)
    assert (len(stub.definitions), len(stub.sources), len(stub.connections)) == (4, 4, 4)
    assert len(stub.destinations) == 1
    assert {d["version"] for d in stub.definitions.values()} == {2}
    tms = stub.sources[second[-1].source_id]
    assert tms["configuration"] == changed["tms"]
    assert len(stub.calls("PATCH", "/api/public/v1/sources/")) == 4


def test_deploy_again_finds_what_stands_on_later_list_pages(
    stub: AirbyteStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a workspace with more sources and connections than one list page holds
    monkeypatch.setattr(airbyte_client, "LIST_PAGE", 3)
    first = deploy(server_for(stub), configs(), WAREHOUSE)
    second = deploy(server_for(stub), configs(), WAREHOUSE)
    assert all(d.created == () for d in second)
    assert [d.connection_id for d in second] == [d.connection_id for d in first]
    assert (len(stub.sources), len(stub.connections)) == (4, 4)  # none made twice


def test_source_answers_mask_secrets_and_parse_with_the_sdk(stub: AirbyteStub) -> None:
    (erp,) = deploy(server_for(stub), {"erp": configs()["erp"]}, WAREHOUSE)
    sdk = server_for(stub).client()
    from airbyte_api import api

    answer = sdk.sources.get_source(request=api.GetSourceRequest(source_id=erp.source_id))
    assert answer.source_response is not None and answer.source_response.name == "orderhub-erp"
    raw = answer.raw_response.json()["configuration"]
    assert raw["base_url"] == "http://sandbox.internal:8080/erp"  # what deploy sent


def test_a_plain_dict_config_is_the_trap_explicit_models_avoid() -> None:
    # the SDK turns a dict into another connector's model and changes it (docs/architecture.md,
    # "airbyte-api turns a dict config into another connector's model")
    plain = models.SourceCreateRequest(
        configuration=dict(configs()["erp"]), name="n", workspace_id="w", definition_id="d"
    )
    assert type(plain.configuration).__name__ != "ErpSourceConfiguration"
    dumped = plain.model_dump(by_alias=True, mode="json", warnings=False)["configuration"]
    assert dumped != configs()["erp"]
    explicit = source_configuration("erp", configs()["erp"])
    assert explicit.model_dump(exclude_none=True) == configs()["erp"]


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_configuration_models_match_the_manifest_specs(system: str) -> None:
    properties = SYSTEMS[system].connection_specification()["properties"]
    assert set(SOURCE_CONFIGURATIONS[system].model_fields) == set(properties)
    with pytest.raises(ValueError, match="fields the server config does not"):
        source_configuration(system, {**configs()[system], "surprise": 1})


def test_names_round_trip() -> None:
    assert [system_of(resource_name(s)) for s in SYSTEMS] == list(SYSTEMS)
    assert system_of("someone-elses-connection") is None
    server = AirbyteServer("http://airbyte:8000/api/public/v1/", "ws")
    assert (server.public_api, server.configuration_api) == (
        "http://airbyte:8000/api/public/v1",
        "http://airbyte:8000/api/v1",
    )


def test_wrong_client_credentials_fail(stub: AirbyteStub) -> None:
    with pytest.raises(Exception, match="status code 401 from token endpoint"):
        deploy(server_for(stub, client_secret="wrong"), configs(), WAREHOUSE)
    assert stub.sources == {}
