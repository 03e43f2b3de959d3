"""The sandbox's CRM and WMS against their vendors' published answers (issue 16).

``contracts/salesforce_query.json`` holds the shape of Salesforce's documented query answer
(``totalSize``, ``done``, ``nextRecordsUrl``, ``records``) and client-credentials token answer;
``contracts/odoo_jsonrpc.json`` Odoo's JSON-RPC envelopes and the field types and selections
of ``stock.picking``, ``stock.quant`` and ``stock.warehouse`` in Odoo 17's sources. Each file
names its sources. The sandbox's answers must have the same envelopes and, field by field, a
value of the documented type; what the sandbox does differently is named here, each one a
departure sandbox/README.md documents.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from odoo_calls import search_read

from sandbox.apis.crm import QUERY_ALL_PATH
from sandbox.clock import ODOO_PATTERN
from sandbox.credentials import SandboxCredentials
from sandbox.server import SandboxServer

CONTRACTS = Path(__file__).parent / "contracts"
SALESFORCE = json.loads((CONTRACTS / "salesforce_query.json").read_text())
ODOO = json.loads((CONTRACTS / "odoo_jsonrpc.json").read_text())
SOQL = "SELECT Id FROM FulfillmentOrder ORDER BY SystemModstamp, Id"
#: Salesforce's record ``attributes`` the sandbox leaves out, and its ``Z`` timestamps.
SALESFORCE_DEPARTURES = {"attributes"}
SALESFORCE_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{4})$")
#: Fields or values the sandbox's Odoo serves otherwise (sandbox/README.md "wms — Odoo").
ODOO_DEPARTURES = {
    "stock.picking": {"picking_type_code", "move_ids", "warehouse"},
    "stock.quant": set(),
    "stock.warehouse": {
        "location_ids", "partner_city", "partner_country_code", "partner_latitude",
        "partner_longitude", "x_cold_chain", "x_operator",
    },
}  # fmt: skip


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(
        type(value), "null"
    )


def _fits(kind: str | list[Any], value: Any) -> bool:
    """Whether ``value`` is what Odoo's JSON-RPC sends for a field of type ``kind``."""
    name = kind if isinstance(kind, str) else kind[0]
    if value is False and name not in ("integer", "float", "boolean", "one2many"):
        return True  # an empty value
    if name == "selection":
        return value in kind[1]
    checks = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "char": lambda v: isinstance(v, str),
        "datetime": lambda v: isinstance(v, str) and bool(ODOO_PATTERN.match(v)),
        "many2one": lambda v: isinstance(v, list) and len(v) == 2 and isinstance(v[0], int),
        "one2many": lambda v: isinstance(v, list) and all(isinstance(i, int) for i in v),
    }
    return bool(checks[name](value))


def test_the_crm_answers_salesforces_query_and_token_shapes(scenario: Any) -> None:
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server, httpx.Client() as http:
        base = server.base_url("crm")
        form = {"grant_type": "client_credentials", **credentials.for_system("crm")}
        token = http.post(base + "/services/oauth2/token", data=form).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        headers["Sforce-Query-Options"] = "batchSize=200"
        page = http.get(base + QUERY_ALL_PATH, params={"q": SOQL}, headers=headers).json()
    documented = SALESFORCE["token_response"]
    assert set(token) <= set(documented) and set(documented) - set(token) <= {"scope"}
    assert {k: _json_type(v) for k, v in token.items()} == {
        k: _json_type(documented[k]) for k in token
    }
    answer = SALESFORCE["query_response"]
    assert set(page) == set(answer)
    assert {k: _json_type(page[k]) for k in answer} == {k: _json_type(answer[k]) for k in answer}
    # the locator's URL has Salesforce's form, /services/data/vXX.X/query/<locator> (on the
    # host: the sandbox mounts the CRM under /crm)
    assert re.fullmatch(r"(/crm)?/services/data/v\d+\.\d/query/[^/]+", page["nextRecordsUrl"])
    (example,) = answer["records"]
    for record in page["records"]:
        for name in set(example) - SALESFORCE_DEPARTURES:
            assert _json_type(record[name]) == _json_type(example[name]), name
        assert re.fullmatch(r"[0-9A-Za-z]{18}", record["Id"])
        assert SALESFORCE_STAMP.match(record["SystemModstamp"])


def test_the_wms_answers_odoos_envelopes_and_field_types(scenario: Any) -> None:
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server, httpx.Client() as http:
        base, key = server.base_url("wms"), credentials.wms_api_key
        served = {
            model: search_read(http, base, key, [], model=model, limit=200).json()
            for model in ODOO["models"]
        }
        refused = search_read(http, base, "not-the-key", []).json()
    assert set(refused) == set(ODOO["error_envelope"])
    assert set(refused["error"]) == set(ODOO["error_envelope"]["error"])
    assert set(refused["error"]["data"]) == set(ODOO["error_envelope"]["error"]["data"])
    assert refused["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    for model, fields in ODOO["models"].items():
        answer = served[model]
        assert set(answer) == set(ODOO["result_envelope"]) and answer["result"], model
        for record in answer["result"]:
            for name, value in record.items():
                if name in ODOO_DEPARTURES[model]:
                    continue
                assert name in fields, f"{model}.{name} is no field of Odoo's {model}"
                assert _fits(fields[name], value), f"{model}.{name} = {value!r}"
