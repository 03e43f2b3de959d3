"""The sandbox's ERP against SAP's published metadata of ``API_SALES_ORDER_SRV`` (issue 16).

``contracts/api_sales_order_srv.edmx`` is an excerpt of the service's EDMX (it names its
source): the keys, names and Edm types of ``A_SalesOrderType`` and ``A_SalesOrderItemType``.
The sandbox's answers must be OData V2 verbose JSON of those types: the ``d`` envelope with
``results``, ``__count`` (a string) and ``__next`` (the entity set's absolute URL with
``$skiptoken``), every property the EDMX declares written in its type's JSON form
(``Edm.String`` within ``MaxLength``, ``Edm.Decimal`` as a decimal string within its precision
and scale, ``Edm.DateTime`` as ``/Date(<ms>)/``, ``Edm.DateTimeOffset`` as
``/Date(<ms>+hhmm)/``), and the ``to_Item`` navigation expanded as ``{"results": [...]}`` or
deferred. What the sandbox serves beyond the EDMX is named in :data:`DEPARTURES`, each one
documented in sandbox/README.md.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandbox.apis.erp import ENTITY_SET
from sandbox.credentials import SandboxCredentials
from sandbox.server import SandboxServer

EDMX = Path(__file__).parent / "contracts" / "api_sales_order_srv.edmx"
_EDM = "{http://schemas.microsoft.com/ado/2008/09/edm}"
#: Fields the sandbox serves that A_SalesOrderType does not declare (sandbox/README.md).
DEPARTURES = {"ShipToCountry", "ShipToRegion", "YY1_ShopFinancialStatus_SDH"}
DATE_TIME = re.compile(r"^/Date\(-?\d+\)/$")
DATE_TIME_OFFSET = re.compile(r"^/Date\(-?\d+[+-]\d{4}\)/$")


def entity_types() -> dict[str, dict[str, dict[str, str]]]:
    """Each entity type of the excerpt: its properties' attributes by name (and its keys)."""
    schema = ET.parse(EDMX).getroot()
    types: dict[str, dict[str, dict[str, str]]] = {}
    for entity in schema.iter(f"{_EDM}EntityType"):
        properties = {p.attrib["Name"]: dict(p.attrib) for p in entity.iter(f"{_EDM}Property")}
        keys = {ref.attrib["Name"] for ref in entity.iter(f"{_EDM}PropertyRef")}
        navigation = {n.attrib["Name"] for n in entity.iter(f"{_EDM}NavigationProperty")}
        properties["__keys__"] = dict.fromkeys(keys, "key")
        properties["__navigation__"] = dict.fromkeys(navigation, "navigation")
        types[entity.attrib["Name"]] = properties
    return types


def fits(declared: dict[str, str], value: Any) -> bool:
    """Whether ``value`` is OData V2 JSON of the declared Edm type (null when nullable)."""
    if value is None:
        return declared.get("Nullable", "true") != "false"
    kind = declared["Type"]
    if kind == "Edm.String":
        return isinstance(value, str) and len(value) <= int(declared.get("MaxLength", 1 << 30))
    if kind == "Edm.Decimal":
        scale, precision = int(declared.get("Scale", 0)), int(declared["Precision"])
        pattern = rf"^-?\d{{1,{precision - scale}}}(\.\d{{1,{scale}}})?$" if scale else r"^-?\d+$"
        return isinstance(value, str) and re.match(pattern, value) is not None
    if kind == "Edm.DateTime":
        return isinstance(value, str) and DATE_TIME.match(value) is not None
    if kind == "Edm.DateTimeOffset":
        return isinstance(value, str) and DATE_TIME_OFFSET.match(value) is not None
    raise AssertionError(f"no check written for {kind}")


def check_entity(entity: dict[str, Any], declared: dict[str, dict[str, str]]) -> list[str]:
    """What in ``entity`` departs from its declared type (an empty list: nothing)."""
    problems = [f"key {k} missing" for k in declared["__keys__"] if k not in entity]
    for name, value in entity.items():
        if name in declared["__navigation__"] or name in DEPARTURES:
            continue
        if name not in declared:
            problems.append(f"{name} is not a property of the entity type")
        elif not fits(declared[name], value):
            problems.append(f"{name}={value!r} is no {declared[name]['Type']}")
    return problems


def get(sandbox: SandboxServer, credentials: SandboxCredentials, **params: str) -> Any:
    answer = httpx.get(
        sandbox.base_url("erp") + ENTITY_SET,
        params=params,
        headers={"APIKey": credentials.erp_api_key},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_sales_order_and_item_is_of_the_published_types(
    sandbox: SandboxServer, credentials: SandboxCredentials
) -> None:
    types = entity_types()
    body = get(sandbox, credentials, **{"$expand": "to_Item", "$top": "400"})
    orders = body["d"]["results"]
    assert orders
    for order in orders:
        assert check_entity(order, types["A_SalesOrderType"]) == [], order["SalesOrder"]
        items = order["to_Item"]["results"]
        assert items
        for item in items:
            assert check_entity(item, types["A_SalesOrderItemType"]) == []
    # SAP's own forms of the two date-time types (the published EDMX: Edm.DateTime for
    # CreationDate, Edm.DateTimeOffset for LastChangeDateTime)
    assert all(o["LastChangeDateTime"].endswith("+0000)/") for o in orders)
    assert all(DATE_TIME.match(o["CreationDate"]) for o in orders)


def test_the_envelope_is_odata_v2_verbose_json(
    sandbox: SandboxServer, credentials: SandboxCredentials
) -> None:
    body = get(sandbox, credentials, **{"$top": "7", "$inlinecount": "allpages"})
    assert set(body) == {"d"}
    page = body["d"]
    assert set(page) == {"results", "__count", "__next"}
    assert isinstance(page["__count"], str) and int(page["__count"]) > 7
    following = urlsplit(page["__next"])
    assert page["__next"].startswith(sandbox.base_url("erp") + ENTITY_SET + "?")
    assert parse_qs(following.query)["$skiptoken"] == ["7"]
    # without $expand the navigation property is deferred, as OData V2 writes it
    deferred = page["results"][0]["to_Item"]
    assert set(deferred) == {"__deferred"} and deferred["__deferred"]["uri"].endswith(
        f"A_SalesOrder('{page['results'][0]['SalesOrder']}')/to_Item"
    )


def test_the_excerpt_is_the_service_the_sandbox_serves() -> None:
    schema = ET.parse(EDMX).getroot()
    (entity_set,) = schema.iter(f"{_EDM}EntitySet")
    assert entity_set.attrib == {
        "Name": "A_SalesOrder",
        "EntityType": "API_SALES_ORDER_SRV.A_SalesOrderType",
    }
    assert ENTITY_SET.endswith("/API_SALES_ORDER_SRV/A_SalesOrder")
    types = entity_types()
    assert types["A_SalesOrderType"]["LastChangeDateTime"]["Type"] == "Edm.DateTimeOffset"
    assert types["A_SalesOrderType"]["CreationDate"]["Type"] == "Edm.DateTime"
