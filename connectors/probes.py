"""Change probes: has a source system anything a sync would read after its stored cursor?

A probe is one small request per stream, not a sync: it asks the system's list endpoint for
the records at or after the stream's stored cursor ``T`` (the state the last sync committed,
``orderhub_meta.connector_state``), in cursor order, at most one more than the records the
raw table already holds at or after ``T``. The vendors' filters on the cursor are inclusive
(OData ``ge``, SOQL ``>=``, ``updated_since``, ``updated_at_min``), so a source that holds
nothing new answers exactly the records already stored; any record whose (key, cursor
instant) the raw table does not hold - a new record, or a new version of one - is a change.
That is exact at the cursor's own second, which a "cursor after T" probe is not (a record
written in the same second as the last one read would go unseen).

Where each stream is and how to authenticate come from the system's manifest (the
requester's URL, authenticator and record path), so a probe reads the endpoint the sync
reads; only the query, each vendor's dialect for "at or after T, this many, in order", is
written here (:data:`QUERIES`). A stream never synced is a change without a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import psycopg
from psycopg import sql

from connectors.catalog import ConnectorSpec, StreamSpec, get_connector
from connectors.errors import ConnectorError
from connectors.resume import cursor_instant
from connectors.sync import read_state

#: The most records a probe asks for (every system's page limit allows it); more records
#: stored at the cursor than this and the probe cannot tell, so it reports a change.
MAX_PROBE = 100
_CONFIG_REF = re.compile(r"\{\{\s*config\[['\"](\w+)['\"]\]\s*\}\}")
Params = dict[str, str]
Headers = dict[str, str]
#: (stream, since, limit) -> (query parameters, extra headers)
Query = Callable[[StreamSpec, str, int], tuple[Params, Headers]]


def _odata(stream: StreamSpec, since: str, limit: int) -> tuple[Params, Headers]:
    cursor, key = stream.cursor_field, stream.primary_key
    return {
        "$format": "json",
        "$top": str(limit),
        "$orderby": f"{cursor},{key}",
        "$filter": f"{cursor} ge datetimeoffset'{since}'",
    }, {}


def _soql(stream: StreamSpec, since: str, limit: int) -> tuple[Params, Headers]:
    cursor, key = stream.cursor_field, stream.primary_key
    soql = (
        f"SELECT {key}, {cursor} FROM FulfillmentOrder WHERE {cursor} >= {since}"
        f" ORDER BY {cursor}, {key} LIMIT {limit}"
    )
    return {"q": soql}, {"Sforce-Query-Options": f"batchSize={limit}"}


def _odoo(stream: StreamSpec, since: str, limit: int) -> tuple[Params, Headers]:
    return {"updated_since": since, "limit": str(limit)}, {}


def _easypost(stream: StreamSpec, since: str, limit: int) -> tuple[Params, Headers]:
    return {"updated_at_min": since, "page_size": str(limit)}, {}


#: Each system's query for "records at or after ``since``, ``limit`` of them, in cursor order"
#: (docs/sources.md).
QUERIES: dict[str, Query] = {"erp": _odata, "crm": _soql, "wms": _odoo, "tms": _easypost}


@dataclass(frozen=True)
class ProbeResult:
    """What a probe of one system found: ``changed``, on which stream, and ``evidence`` - a
    stable text naming the stored cursor and the first record not stored (the same while
    nothing more happens, so a sensor can use it as a run key)."""

    system: str
    changed: bool
    stream: str = ""
    evidence: str = ""
    reason: str = ""


def _render(template: str, config: Mapping[str, Any]) -> str:
    """A manifest string with its ``{{ config['x'] }}`` references filled in."""
    rendered = _CONFIG_REF.sub(lambda match: str(config[match[1]]), template)
    if "{{" in rendered or "{%" in rendered:
        raise ValueError(f"a probe cannot render {template!r}")
    return rendered


def _resolve(manifest: Mapping[str, Any], node: Any) -> Any:
    """``node`` with its ``$ref`` merged in (the manifest's own references, one level deep)."""
    if not isinstance(node, Mapping) or "$ref" not in node:
        return node
    path = str(node["$ref"]).removeprefix("#/").split("/")
    target: Any = manifest
    for part in path:
        target = target[part]
    return {**_resolve(manifest, target), **{k: v for k, v in node.items() if k != "$ref"}}


def endpoint(connector: ConnectorSpec, stream: str) -> tuple[str, dict[str, Any], list[str]]:
    """The URL template, the authenticator and the record path of ``stream``, as its manifest
    declares them."""
    manifest = connector.manifest()
    (declared,) = [s for s in manifest["streams"] if s["name"] == stream]
    retriever = _resolve(manifest, declared["retriever"])
    requester = _resolve(manifest, retriever["requester"])
    path = retriever["record_selector"]["extractor"]["field_path"]
    return str(requester["url"]), dict(requester["authenticator"]), [str(p) for p in path]


class _Session:
    """One system's HTTP client, authenticated as its manifest's authenticator says."""

    def __init__(self, authenticator: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        self.client = httpx.Client(timeout=30.0, headers={"Accept": "application/json"})
        kind = authenticator["type"]
        if kind == "ApiKeyAuthenticator":
            header = authenticator["inject_into"]["field_name"]
            self.client.headers[header] = _render(authenticator["api_token"], config)
        elif kind == "BasicHttpAuthenticator":
            user = _render(authenticator["username"], config)
            self.client.auth = (user, _render(str(authenticator.get("password", "")), config))
        elif kind == "OAuthAuthenticator":
            self.client.headers["Authorization"] = f"Bearer {self._token(authenticator, config)}"
        else:
            raise ValueError(f"a probe cannot authenticate with {kind}")

    def _token(self, authenticator: Mapping[str, Any], config: Mapping[str, Any]) -> str:
        grant = {"grant_type": str(authenticator["grant_type"])}
        for field in ("client_id", "client_secret", "refresh_token"):
            if field in authenticator:
                grant[field] = _render(str(authenticator[field]), config)
        url = _render(str(authenticator["token_refresh_endpoint"]), config)
        response = self.client.post(url, data=grant)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def close(self) -> None:
        self.client.close()


def _stored_since(
    conn: psycopg.Connection[Any], table: str, since: datetime
) -> set[tuple[str, datetime]]:
    """The (record key, cursor instant) of every stored version at or after ``since``."""
    schema, name = table.split(".")
    rows = conn.execute(
        sql.SQL(
            "select record_key, cursor_value from {} where cursor_value ~ %s"
            " and cursor_value::timestamptz >= %s"
        ).format(sql.Identifier(schema, name)),
        (r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", since),
    ).fetchall()
    return {(key, moment) for key, value in rows if (moment := cursor_instant(value)) is not None}


def _records(body: Any, path: list[str]) -> list[Mapping[str, Any]]:
    for part in path:
        body = body[part]
    return list(body)


def probe_system(system: str, config: Mapping[str, Any], database_url: str) -> ProbeResult:
    """Probe each stream of ``system`` in manifest order until one has changed (see the
    module); :class:`ConnectorError` when the source does not answer as documented."""
    connector = get_connector(system)
    with psycopg.connect(database_url, autocommit=True, options="-c TimeZone=UTC") as conn:
        state = read_state(conn, system)
        session: _Session | None = None
        try:
            for stream in connector.streams:
                since = state.get(stream.name, {}).get(stream.cursor_field)
                moment = cursor_instant(since)
                if since is None or moment is None:
                    return ProbeResult(system, True, stream.name, "never-synced", "never synced")
                stored = _stored_since(conn, connector.raw_table(stream.name), moment)
                if len(stored) >= MAX_PROBE:
                    reason = f"{len(stored)} records stored at {since}: too many to probe"
                    return ProbeResult(system, True, stream.name, f"{since}/many", reason)
                url, authenticator, path = endpoint(connector, stream.name)
                session = session or _Session(authenticator, config)
                new = _first_new(session, QUERIES[system], url, path, stream, config, since, stored)
                if new is not None:
                    reason = f"{stream.name}: {new} after the stored cursor {since}"
                    return ProbeResult(system, True, stream.name, f"{since}/{new}", reason)
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
            raise ConnectorError(system, f"change probe failed: {error}") from error
        finally:
            if session is not None:
                session.close()
    return ProbeResult(system, False, reason="nothing after the stored cursors")


def _first_new(
    session: _Session,
    query: Query,
    url: str,
    path: list[str],
    stream: StreamSpec,
    config: Mapping[str, Any],
    since: str,
    stored: set[tuple[str, datetime]],
) -> str | None:
    """``key@cursor`` of the first record at or after ``since`` the raw table does not hold
    (None: the source holds only what is stored)."""
    params, headers = query(stream, since, len(stored) + 1)
    response = session.client.get(_render(url, config), params=params, headers=headers)
    response.raise_for_status()
    for record in _records(response.json(), path):
        key, value = str(record[stream.primary_key]), record.get(stream.cursor_field)
        moment = cursor_instant(value)
        if moment is None or (key, moment) not in stored:
            return f"{key}@{value}"
    return None
