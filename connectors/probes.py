"""Change probes: has a source system anything a sync would read after its stored cursor?

A probe is one small request per stream, not a sync: it asks the system's list endpoint for
the records at or after the stream's stored cursor ``T`` (the state the last sync committed,
``orderhub_meta.connector_state``), in cursor order, at most one more than the records the
raw table already holds at or after ``T``. The vendors' filters on the cursor are inclusive
(OData ``ge``, SOQL ``>=``, an Odoo ``>=`` domain), so a source that holds nothing new
answers exactly the records already stored; any record whose (key, cursor instant) the raw
table does not hold - a new record, or a new version of one - is a change. That is exact at
the cursor's own second, which a "cursor after T" probe is not (a record written in the same
second as the last one read would go unseen).

EasyPost's tracker list has no filter on ``updated_at``: its probe asks for the newest page
(:data:`MAX_PROBE` trackers by creation) and judges the trackers on it at or after ``T`` the
same way; an update to an older tracker is not on that page, so its probe cannot see it
(connectors/README.md "Change probes"). Records before ``T`` are never a change.

Where each stream is, how to authenticate and where the records are come from the system's
manifest (the requester's URL, method and authenticator, the record path, the stream's
``$parameters`` - Odoo's model), so a probe reads the endpoint the sync reads; only the
request, each vendor's dialect for "at or after T, this many, in order", is written here
(:data:`QUERIES`). A stream never synced is a change without a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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


@dataclass(frozen=True)
class Endpoint:
    """Where a stream's records are, as its manifest declares them: the URL template, the
    HTTP method, the authenticator (None: the credentials travel in the body, as Odoo's
    JSON-RPC wants), the record path and the stream's ``$parameters``."""

    url: str
    method: str
    authenticator: Mapping[str, Any] | None
    path: list[str]
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ProbeRequest:
    """One probe request: query parameters, extra headers and, for a POST, a JSON body."""

    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


#: (stream, endpoint, config, since, limit) -> the request for "at or after ``since``"
Query = Callable[[StreamSpec, Endpoint, Mapping[str, Any], str, int], ProbeRequest]


def _odata(
    stream: StreamSpec, _: Endpoint, config: Mapping[str, Any], since: str, limit: int
) -> ProbeRequest:
    # SAP's own field (its /Date()/ values the connector reads as ISO): the filter's literal
    # is ISO 8601, as OData V2's URI conventions write a datetimeoffset
    cursor, key = stream.source_cursor, stream.primary_key
    return ProbeRequest(
        {
            "$format": "json",
            "$top": str(limit),
            "$orderby": f"{cursor},{key}",
            "$filter": f"{cursor} ge datetimeoffset'{since}'",
        }
    )


def _soql(
    stream: StreamSpec, _: Endpoint, config: Mapping[str, Any], since: str, limit: int
) -> ProbeRequest:
    # queryAll, as the sync: a deletion is a new SystemModstamp too. LIMIT bounds the
    # answer (Salesforce's batchSize is no bound: it is at least 200 and only a hint).
    cursor, key = stream.cursor_field, stream.primary_key
    soql = (
        f"SELECT {key}, {cursor} FROM FulfillmentOrder WHERE {cursor} >= {since}"
        f" ORDER BY {cursor}, {key} LIMIT {limit}"
    )
    return ProbeRequest({"q": soql})


def _odoo(
    stream: StreamSpec, endpoint: Endpoint, config: Mapping[str, Any], since: str, limit: int
) -> ProbeRequest:
    # execute_kw search_read on the stream's model, the domain the sync's first call sends
    # (Odoo's datetimes are UTC without a zone); the id always comes with the fields
    cursor, key = stream.cursor_field, stream.primary_key
    moment = cursor_instant(since)
    if moment is None:
        raise ValueError(f"{since!r} is no instant")
    odoo_since = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    options = {
        "fields": [cursor],
        "limit": limit,
        "order": f"{cursor} asc, {key} asc",
        "context": {"active_test": False},
    }
    args = [
        str(config["database"]),
        int(config["uid"]),
        str(config["api_key"]),
        str(endpoint.parameters["model"]),
        "search_read",
        [[[cursor, ">=", odoo_since]]],
        options,
    ]
    call = {"service": "object", "method": "execute_kw", "args": args}
    return ProbeRequest(body={"jsonrpc": "2.0", "method": "call", "id": 1, "params": call})


def _easypost(
    stream: StreamSpec, _: Endpoint, config: Mapping[str, Any], since: str, limit: int
) -> ProbeRequest:
    # no updated_at filter at EasyPost: the newest page, whatever is stored (see the module)
    return ProbeRequest({"page_size": str(MAX_PROBE)})


#: Each system's request for "records at or after ``since``, ``limit`` of them, in cursor
#: order" (docs/sources.md); the TMS's is the newest page instead.
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


def render_template(template: str, config: Mapping[str, Any]) -> str:
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


def endpoint(connector: ConnectorSpec, stream: str) -> Endpoint:
    """Where ``stream``'s records are and how to reach them, as its manifest declares them."""
    manifest = connector.manifest()
    (declared,) = [s for s in manifest["streams"] if s["name"] == stream]
    retriever = _resolve(manifest, declared["retriever"])
    requester = _resolve(manifest, retriever["requester"])
    path = retriever["record_selector"]["extractor"]["field_path"]
    authenticator = requester.get("authenticator")
    return Endpoint(
        url=str(requester["url"]),
        method=str(requester.get("http_method", "GET")),
        authenticator=dict(authenticator) if authenticator else None,
        path=[str(p) for p in path],
        parameters=dict(declared.get("$parameters") or {}),
    )


class SourceSession:
    """One system's HTTP client, authenticated as its manifest's authenticator says."""

    def __init__(self, authenticator: Mapping[str, Any] | None, config: Mapping[str, Any]) -> None:
        self.client = httpx.Client(timeout=30.0, headers={"Accept": "application/json"})
        kind = authenticator["type"] if authenticator is not None else None
        if authenticator is None:
            pass  # the credentials travel in each request's body
        elif kind == "ApiKeyAuthenticator":
            header = authenticator["inject_into"]["field_name"]
            self.client.headers[header] = render_template(authenticator["api_token"], config)
        elif kind == "BasicHttpAuthenticator":
            user = render_template(authenticator["username"], config)
            password = render_template(str(authenticator.get("password", "")), config)
            self.client.auth = (user, password)
        elif kind == "OAuthAuthenticator":
            self.client.headers["Authorization"] = f"Bearer {self._token(authenticator, config)}"
        else:
            raise ValueError(f"a probe cannot authenticate with {kind}")

    def _token(self, authenticator: Mapping[str, Any], config: Mapping[str, Any]) -> str:
        grant = {"grant_type": str(authenticator["grant_type"])}
        for name in ("client_id", "client_secret", "refresh_token"):
            if name in authenticator:
                grant[name] = render_template(str(authenticator[name]), config)
        url = render_template(str(authenticator["token_refresh_endpoint"]), config)
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
    """The records at ``path`` of an answer; an error the source answers with HTTP 200
    (Odoo's JSON-RPC ``error``) is raised as one."""
    problem = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(problem, Mapping):
        data = problem.get("data") if isinstance(problem.get("data"), Mapping) else {}
        name, message = data.get("name", ""), data.get("message", problem.get("message", ""))
        raise ValueError(f"the source answered an error: {name}: {message}")
    for part in path:
        body = body[part]
    return list(body)


def probe_system(system: str, config: Mapping[str, Any], database_url: str) -> ProbeResult:
    """Probe each stream of ``system`` in manifest order until one has changed (see the
    module); :class:`ConnectorError` when the source does not answer as documented."""
    connector = get_connector(system)
    with psycopg.connect(database_url, autocommit=True, options="-c TimeZone=UTC") as conn:
        state = read_state(conn, system)
        session: SourceSession | None = None
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
                where = endpoint(connector, stream.name)
                session = session or SourceSession(where.authenticator, config)
                request = QUERIES[system](stream, where, config, since, len(stored) + 1)
                new = _first_new(session, where, request, stream, config, moment, stored)
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
    session: SourceSession,
    where: Endpoint,
    request: ProbeRequest,
    stream: StreamSpec,
    config: Mapping[str, Any],
    since: datetime,
    stored: set[tuple[str, datetime]],
) -> str | None:
    """``key@cursor`` of the first record at or after ``since`` the raw table does not hold
    (None: the source holds only what is stored); records before ``since`` (the TMS's
    newest page holds them) are passed over, and so are records dated after now: a sync's
    incremental read ends at the moment it starts, so it would not read them yet."""
    now = datetime.now(UTC)
    response = session.client.request(
        where.method,
        render_template(where.url, config),
        params=request.params,
        headers=request.headers,
        json=request.body,
    )
    response.raise_for_status()
    for record in _records(response.json(), where.path):
        record = stream.as_read(record)  # the cursor field the connector derives, if any
        key, value = str(record[stream.primary_key]), record.get(stream.cursor_field)
        moment = cursor_instant(value)
        if moment is None or (since <= moment <= now and (key, moment) not in stored):
            return f"{key}@{value}"
    return None
