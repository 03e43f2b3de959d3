"""Each manifest validates against airbyte-cdk's declarative schema, carries the error handler
of connectors/README.md ("What every manifest does on a fault"), and answers spec/check/discover
through ``source-declarative-manifest`` (``read`` is what every sync test runs).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
from typing import Any

import pytest
from connector_stubs import sandbox_config, stub_records, wrong_secrets
from jsonschema import ValidationError

from connectors import runner
from connectors.catalog import SYSTEMS
from connectors.odata import iso_utc
from orderhub.sources import SOURCE_OPTIONS
from sandbox.credentials import SandboxCredentials
from sandbox.server import SandboxServer

Sandbox = tuple[SandboxServer, SandboxCredentials]

STREAM_NAMES = {name: connector.stream_names for name, connector in SYSTEMS.items()}


def declarative_source(manifest: dict[str, Any], config: dict[str, Any]) -> Any:
    """Build the cdk's source in-process (its import prints to stdout: swallow that)."""
    with contextlib.redirect_stdout(io.StringIO()):
        from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
            ConcurrentDeclarativeSource,
        )

        return ConcurrentDeclarativeSource(
            source_config=manifest, config=config, catalog=None, state=None
        )


def offline_config(system: str) -> dict[str, Any]:
    config = {"base_url": f"http://127.0.0.1:9/{system}", "start_date": "2020-01-01T00:00:00Z"}
    config.update({name: "x" * 8 for name in SYSTEMS[system].secret_fields})
    return {**config, **SOURCE_OPTIONS.get(system, {})}


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_manifest_validates_and_builds(system: str) -> None:
    config = offline_config(system)
    source = declarative_source(SYSTEMS[system].manifest(), config)
    streams = source.streams(config)
    assert [s.name for s in streams] == list(STREAM_NAMES[system])
    spec = source.spec(logging.getLogger("test")).connectionSpecification
    assert {"base_url", "start_date", "page_size"} <= set(spec["properties"])
    options = set(SOURCE_OPTIONS.get(system, {}))  # Odoo's database and user id
    assert set(spec["required"]) == {
        "base_url",
        "start_date",
        *SYSTEMS[system].secret_fields,
        *options,
    }
    assert SYSTEMS[system].secret_fields  # every system has a credential, marked secret


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_no_manifest_changes_what_the_paging_reads(system: str) -> None:
    # connectors.launch shares one parsed page between the extractor, the paginator and the
    # error handler: exact only while no transformation rewrites what they read. The only
    # transformation allowed adds a field (the ERP's LastChangeDateTime_utc) that neither the
    # paginator nor any predicate names.
    resolved = declarative_source(SYSTEMS[system].manifest(), offline_config(system))
    for stream in resolved.resolved_manifest["streams"]:
        retriever = stream["retriever"]
        paging = json.dumps([retriever["paginator"], retriever["requester"]["error_handler"]])
        for transformation in stream.get("transformations", []):
            assert transformation["type"] == "AddFields"
            for added in transformation["fields"]:
                assert added["path"][0] not in paging
        assert stream.get("schema_normalization", "None") == "None"
        assert not stream["retriever"]["record_selector"].get("transform_before_filtering")


ODATA_VALUES = [
    "/Date(1759500309000+0000)/",
    "/Date(1759500309123)/",
    "/Date(1759500309000+0120)/",
    "/Date(999999999999)/",
    "/Date(-1500)/",
    "2026-10-03T14:05:09Z",
    "2026-10-03T19:35:09.5+05:30",
    "2026-10-03T14:05:09",
    "yesterday",
    "/Date(12)/x",
    "",
]


@pytest.mark.parametrize("value", ODATA_VALUES)
def test_the_erp_manifest_reads_sap_timestamps_as_connectors_odata_does(value: str) -> None:
    # the cursor field the manifest's AddFields writes, and the position its paginator puts
    # into the next $filter, are what connectors.odata.iso_utc (the loader's, the receiver's
    # and the probe's conversion) makes of the same value
    from airbyte_cdk.sources.declarative.interpolation.interpolated_boolean import (
        InterpolatedBoolean,
    )
    from airbyte_cdk.sources.declarative.interpolation.interpolated_string import (
        InterpolatedString,
    )

    config = offline_config("erp")
    stream = declarative_source(SYSTEMS["erp"].manifest(), config).resolved_manifest["streams"][0]
    (added,) = stream["transformations"]
    record = {"SalesOrder": "1", "LastChangeDateTime": value}
    written = InterpolatedString.create(added["fields"][0]["value"], parameters={}).eval(
        config, record=record
    )
    condition = InterpolatedBoolean(condition=added["condition"], parameters={})
    kept = written if condition.eval(config, value=written, record=record) else None
    assert kept == iso_utc(value)
    assert added["fields"][0]["path"] == [SYSTEMS["erp"].streams[0].cursor_field]
    cursor_value = stream["retriever"]["paginator"]["pagination_strategy"]["cursor_value"]
    page = {"d": {"results": [record]}}
    token = InterpolatedString.create(cursor_value, parameters={}).eval(config, response=page)
    assert token == [iso_utc(value) or value, "1"]


def test_an_invalid_manifest_is_rejected() -> None:
    manifest = copy.deepcopy(SYSTEMS["erp"].manifest())
    manifest["definitions"]["error_handler"]["response_filters"][0]["action"] = "SHRUG"
    with pytest.raises(ValidationError):
        declarative_source(manifest, offline_config("erp"))


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_error_handler_retries_transients_and_fails_the_rest(system: str) -> None:
    config = offline_config(system)
    resolved = declarative_source(SYSTEMS[system].manifest(), config).resolved_manifest
    requester = resolved["streams"][0]["retriever"]["requester"]
    handler = requester["error_handler"]
    strategies = [s["type"] for s in handler["backoff_strategies"]]
    assert strategies == ["WaitTimeFromHeader", "ExponentialBackoffStrategy"]
    assert handler["backoff_strategies"][0]["header"] == "Retry-After"
    actions: dict[int, str] = {}
    predicates = []
    for rule in handler["response_filters"]:
        for code in rule.get("http_codes", []):
            actions.setdefault(code, rule["action"])
        if rule.get("predicate"):
            predicates.append(rule)
    assert {actions[c] for c in (400, 403)} == {"FAIL"}
    oauth = (requester.get("authenticator") or {}).get("type") == "OAuthAuthenticator"
    assert actions[401] == ("REFRESH_TOKEN_THEN_RETRY" if oauth else "FAIL")
    assert oauth == (system == "crm")  # Odoo takes its API key in every JSON-RPC call
    assert actions[429] == "RATE_LIMITED"
    assert {actions[c] for c in (500, 502, 503, 504)} == {"RETRY"}
    assert predicates and {p["action"] for p in predicates} == {"FAIL"}


@pytest.mark.parametrize("launcher", [runner.AIRBYTE, runner.FAST])
def test_spec_through_the_launcher(launcher: str) -> None:
    # The launcher's own spec: it takes any manifest in `__injected_declarative_manifest`;
    # the manifest's spec is the one `check`/`discover`/`read` validate the config against.
    spec = runner.spec("erp", launcher=launcher)
    assert spec["connectionSpecification"]["required"] == ["__injected_declarative_manifest"]


def test_check_rejects_a_config_the_manifest_spec_refuses() -> None:
    config = offline_config("wms")
    del config["api_key"]
    result = runner.check("wms", config)
    assert not result.succeeded
    assert "'api_key' is a required property" in (result.message or "")


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_check_and_discover_through_the_launcher(system: str, stub_sandbox: Sandbox) -> None:
    server, credentials = stub_sandbox
    airbyte = runner.AIRBYTE  # source-declarative-manifest exactly as airbyte-cdk ships it
    config = sandbox_config(server, credentials, system)
    assert runner.check(system, config, launcher=airbyte).succeeded
    wrong = wrong_secrets(credentials, system)
    bad = runner.check(
        system, sandbox_config(server, credentials, system, secrets=wrong), launcher=airbyte
    )
    assert not bad.succeeded
    expected = {"erp": "401", "tms": "401", "crm": "invalid_client", "wms": "Access Denied"}
    assert expected[system] in (bad.message or "")
    catalog = runner.discover(system, config, launcher=airbyte)
    assert [stream["name"] for stream in catalog["streams"]] == list(STREAM_NAMES[system])
    for stream, spec in zip(catalog["streams"], SYSTEMS[system].streams, strict=True):
        assert stream["source_defined_primary_key"] == [[spec.primary_key]]
        assert stream["default_cursor_field"] == [spec.cursor_field]
        assert "incremental" in stream["supported_sync_modes"]


def read_all(system: str, config: dict[str, Any], launcher: str) -> tuple[list[Any], Any]:
    """The RECORD data and the last STATE of the first stream in one ``read`` (the WMS's
    stock streams are read by the same run: test_connector_sync checks them)."""
    records: list[Any] = []
    state = None
    first = STREAM_NAMES[system][0]
    with runner.read(system, config, launcher=launcher) as messages:
        for message in messages:
            if message["type"] == "RECORD" and message["record"]["stream"] == first:
                records.append(message["record"]["data"])
            elif (
                message["type"] == "STATE"
                and message["state"]["stream"]["stream_descriptor"]["name"] == first
            ):
                state = message["state"]["stream"]["stream_state"]
    return records, state


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_read_through_source_declarative_manifest_and_the_fast_launcher_agree(
    system: str, stub_sandbox: Sandbox
) -> None:
    server, credentials = stub_sandbox
    config = sandbox_config(server, credentials, system, page_size=7)
    records, state = read_all(system, config, runner.AIRBYTE)
    assert len(records) == len(stub_records()[system]) and state
    assert read_all(system, config, runner.FAST) == (records, state)


def test_the_tms_manifest_asks_only_what_easypost_documents() -> None:
    # EasyPost's list parameters (docs.easypost.com/docs/pagination; the sandbox's contract
    # test serves them): the creation window is start_datetime, paging is before_id, and
    # page_size stays within EasyPost's maximum of 100
    manifest = SYSTEMS["tms"].manifest()
    requester = manifest["definitions"]["requester"]
    (stream,) = manifest["streams"]
    token = stream["retriever"]["paginator"]["page_token_option"]
    sent = {*requester["request_parameters"], token["field_name"]}
    assert sent == {"page_size", "start_datetime", "before_id"}
    assert token["inject_into"] == "request_parameter"
    spec = manifest["spec"]["connection_specification"]["properties"]
    assert spec["page_size"]["maximum"] == 100
    assert spec["creation_window"]["default"] == "P7D"
