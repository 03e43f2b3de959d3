"""A local stand-in for an Airbyte server: the public API endpoints orderhub uses, with their
real request and response shapes, plus the one Configuration API call dagster-airbyte makes.

No Airbyte server runs here, so ``orderhub connectors deploy`` (the ``airbyte-api`` SDK) and
the dagster-airbyte assets are tested against this stub. It follows Airbyte's public API
(https://reference.airbyte.com, ``/api/public/v1``): OAuth client credentials at
``POST /applications/token``; declarative source definitions under
``/workspaces/{workspaceId}/definitions/declarative_sources``; ``/sources``, ``/destinations``,
``/connections`` (list with ``workspaceIds``, create, get, patch); ``/jobs`` (create, get,
list, cancel); and the Configuration API's ``POST /api/v1/connections/get``, whose
``syncCatalog`` it derives from the definition's manifest, as discover would.

Every request body is checked against the shape the API documents (required fields, types,
enums) and answered 400 otherwise; every answer is built to the response schema, and the
tests parse them with the SDK's own response models. Secrets in configurations come back
masked, as Airbyte does. A sync job runs for ``job_polls`` polls, then succeeds; a test that
needs the destination's side of a sync sets ``on_sync`` (called with the connection when a sync
job succeeds) to write what the PostgreSQL destination would.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

MASK = "**********"
SYNC_MODES = {
    "full_refresh_overwrite",
    "full_refresh_overwrite_deduped",
    "full_refresh_append",
    "full_refresh_update",
    "full_refresh_soft_delete",
    "incremental_append",
    "incremental_deduped_history",
    "incremental_update",
    "incremental_soft_delete",
}
Handler = Callable[[Request, Any], Any]


class BadRequest(Exception):
    """A request body the real API would refuse (400)."""


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": f"https://reference.airbyte.com/reference/errors#{status}", "title": title}
    return JSONResponse({**body, "status": status, "detail": detail}, status_code=status)


def _require(body: Any, fields: Mapping[str, type | tuple[type, ...]], where: str) -> None:
    if not isinstance(body, dict):
        raise BadRequest(f"{where}: the body must be a JSON object")
    for name, kind in fields.items():
        if name not in body:
            raise BadRequest(f"{where}: {name} is required")
        if not isinstance(body[name], kind):
            raise BadRequest(f"{where}: {name} has the wrong type")


def _listing(request: Request, items: list[Any]) -> dict[str, Any]:
    """One page of a list answer, as the public API pages them: ``limit`` (1-100, default 20)
    items from ``offset``, with a ``next`` link while more follow."""
    try:
        limit = int(request.query_params.get("limit", "20"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError as error:
        raise BadRequest(f"limit/offset: {error}") from error
    if not 1 <= limit <= 100 or offset < 0:
        raise BadRequest("limit must be 1-100 and offset at least 0")
    answer: dict[str, Any] = {"data": items[offset : offset + limit]}
    if offset + limit < len(items):
        answer["next"] = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    return answer


def _masked(configuration: Mapping[str, Any], secrets: set[str]) -> dict[str, Any]:
    return {k: (MASK if k in secrets else v) for k, v in configuration.items()}


@dataclass
class AirbyteStub:
    """The stub's state, its request log, and the server that serves it."""

    #: OAuth client of the API (fresh per stub: the SDK caches tokens per client, process-wide).
    client_id: str = field(default_factory=lambda: f"orderhub-{uuid.uuid4().hex[:8]}")
    client_secret: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)
    workspace_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Polls of ``GET /jobs/{id}`` a sync job stays ``running`` before it succeeds.
    job_polls: int = 1
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    destinations: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (method, path, JSON body or None) of every request, in order.
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    #: Called with the connection when one of its sync jobs succeeds (the destination's part).
    on_sync: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        self._tokens: set[str] = set()
        self._job_ids = itertools.count(1)
        self._polls: dict[int, int] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ----------------------------------------------------------------------- serving

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AirbyteStub:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the Airbyte stub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> AirbyteStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, method: str, path_part: str) -> list[Any]:
        """Bodies of the logged requests with ``method`` whose path contains ``path_part``."""
        return [body for m, path, body in self.requests if m == method and path_part in path]

    # -------------------------------------------------------------------------- app

    def app(self) -> Starlette:
        public = [
            Route("/applications/token", self._token, methods=["POST"]),
            Route("/workspaces/{workspace_id}", self._authed(self._workspace), methods=["GET"]),
            Route(
                "/workspaces/{workspace_id}/definitions/declarative_sources",
                self._authed(self._declarative_sources),
                methods=["GET", "POST"],
            ),
            Route(
                "/workspaces/{workspace_id}/definitions/declarative_sources/{definition_id}",
                self._authed(self._declarative_source),
                methods=["GET", "PUT"],
            ),
            Route("/sources", self._authed(self._sources), methods=["GET", "POST"]),
            Route("/sources/{source_id}", self._authed(self._source), methods=["GET", "PATCH"]),
            Route("/destinations", self._authed(self._destinations), methods=["GET", "POST"]),
            Route(
                "/destinations/{destination_id}",
                self._authed(self._destination),
                methods=["GET", "PATCH"],
            ),
            Route("/connections", self._authed(self._connections), methods=["GET", "POST"]),
            Route(
                "/connections/{connection_id}",
                self._authed(self._connection),
                methods=["GET", "PATCH"],
            ),
            Route("/jobs", self._authed(self._jobs), methods=["GET", "POST"]),
            Route("/jobs/{job_id:int}", self._authed(self._job), methods=["GET", "DELETE"]),
        ]
        configuration = [
            Route("/connections/get", self._authed(self._connection_details), methods=["POST"])
        ]
        return Starlette(
            routes=[
                Mount("/api/public/v1", routes=public),
                Mount("/api/v1", routes=configuration),
            ]
        )

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                return json.loads(raw)
            except ValueError:
                raise BadRequest("the body is not JSON") from None
        return dict(parse_qsl(raw.decode()))

    def _authed(self, handler: Handler) -> Callable[[Request], Any]:
        async def wrapped(request: Request) -> Response:
            body = await self._body(request) if request.method in ("POST", "PUT", "PATCH") else None
            with self._lock:
                self.requests.append((request.method, request.url.path, body))
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self._tokens:
                return _problem(401, "unauthorized", "a valid bearer token is required")
            try:
                with self._lock:
                    return JSONResponse(handler(request, body))
            except BadRequest as problem:
                return _problem(400, "bad-request", str(problem))
            except KeyError as missing:
                return _problem(404, "not-found", f"no such resource {missing}")

        return wrapped

    async def _token(self, request: Request) -> Response:
        try:
            body = await self._body(request) or {}
        except BadRequest as problem:
            return _problem(400, "bad-request", str(problem))
        with self._lock:
            self.requests.append(("POST", request.url.path, {"client_id": body.get("client_id")}))
        if (
            body.get("client_id") != self.client_id
            or body.get("client_secret") != self.client_secret
        ):
            return _problem(401, "unauthorized", "invalid client credentials")
        token = uuid.uuid4().hex
        self._tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 180})

    # ------------------------------------------------------------------- workspaces

    def _check_workspace(self, workspace_id: str) -> None:
        if workspace_id != self.workspace_id:
            raise KeyError(workspace_id)

    def _workspace(self, request: Request, body: Any) -> Any:
        self._check_workspace(request.path_params["workspace_id"])
        return {
            "workspaceId": self.workspace_id,
            "name": "orderhub",
            "dataResidency": "auto",
            "notifications": {},
        }

    def _declarative_sources(self, request: Request, body: Any) -> Any:
        self._check_workspace(request.path_params["workspace_id"])
        if request.method == "GET":
            return {"data": list(self.definitions.values())}
        _require(body, {"name": str, "manifest": dict}, "create declarative source definition")
        if body["manifest"].get("type") != "DeclarativeSource":
            raise BadRequest("manifest: not a low-code CDK manifest (type DeclarativeSource)")
        definition = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "manifest": body["manifest"],
            "version": 1,
        }
        self.definitions[definition["id"]] = definition
        return definition

    def _declarative_source(self, request: Request, body: Any) -> Any:
        self._check_workspace(request.path_params["workspace_id"])
        definition = self.definitions[request.path_params["definition_id"]]
        if request.method == "PUT":
            _require(body, {"manifest": dict}, "update declarative source definition")
            definition["manifest"] = body["manifest"]
            definition["version"] += 1
        return definition

    # ---------------------------------------------------------------------- sources

    def _secret_fields(self, definition_id: str) -> set[str]:
        manifest = self.definitions[definition_id]["manifest"]
        properties = manifest["spec"]["connection_specification"].get("properties", {})
        return {name for name, prop in properties.items() if prop.get("airbyte_secret")}

    def _check_configuration(self, definition_id: str, configuration: dict[str, Any]) -> None:
        """What Airbyte checks against the definition's spec: required fields present."""
        spec = self.definitions[definition_id]["manifest"]["spec"]["connection_specification"]
        missing = [name for name in spec.get("required", []) if name not in configuration]
        if missing:
            raise BadRequest(f"configuration: required properties missing: {missing}")

    def _source_response(self, source: dict[str, Any]) -> dict[str, Any]:
        secrets = self._secret_fields(source["definitionId"])
        return {**source, "configuration": _masked(source["configuration"], secrets)}

    def _sources(self, request: Request, body: Any) -> Any:
        if request.method == "GET":
            wanted = request.query_params.get("workspaceIds", self.workspace_id).split(",")
            found = [s for s in self.sources.values() if s["workspaceId"] in wanted]
            return _listing(request, [self._source_response(s) for s in found])
        fields = {"name": str, "workspaceId": str, "configuration": dict, "definitionId": str}
        _require(body, fields, "create source")
        self._check_workspace(body["workspaceId"])
        if body["definitionId"] not in self.definitions:
            raise BadRequest(f"definitionId {body['definitionId']} is no definition")
        self._check_configuration(body["definitionId"], body["configuration"])
        source = {
            "sourceId": str(uuid.uuid4()),
            "name": body["name"],
            "sourceType": "custom",
            "workspaceId": body["workspaceId"],
            "definitionId": body["definitionId"],
            "createdAt": int(time.time()),
            "configuration": body["configuration"],
        }
        self.sources[source["sourceId"]] = source
        return self._source_response(source)

    def _source(self, request: Request, body: Any) -> Any:
        source = self.sources[request.path_params["source_id"]]
        if request.method == "PATCH":
            _require(body, {}, "patch source")
            if "configuration" in body:
                self._check_configuration(source["definitionId"], body["configuration"])
                source["configuration"] = body["configuration"]
            source["name"] = body.get("name", source["name"])
        return self._source_response(source)

    # ----------------------------------------------------------------- destinations

    def _destination_response(self, destination: dict[str, Any]) -> dict[str, Any]:
        return {**destination, "configuration": _masked(destination["configuration"], {"password"})}

    @staticmethod
    def _check_postgres(configuration: Any) -> None:
        _require(
            configuration,
            {"destinationType": str, "host": str, "port": int, "database": str, "username": str},
            "destination configuration",
        )
        if configuration["destinationType"] != "postgres":
            raise BadRequest("configuration: destinationType must be postgres")

    def _destinations(self, request: Request, body: Any) -> Any:
        if request.method == "GET":
            destinations = self.destinations.values()
            return _listing(request, [self._destination_response(d) for d in destinations])
        _require(body, {"name": str, "workspaceId": str, "configuration": dict}, "destination")
        self._check_workspace(body["workspaceId"])
        self._check_postgres(body["configuration"])
        destination = {
            "destinationId": str(uuid.uuid4()),
            "name": body["name"],
            "destinationType": "postgres",
            "workspaceId": body["workspaceId"],
            "definitionId": "25c5221d-dce2-4163-ade9-739ef790f503",  # destination-postgres
            "createdAt": int(time.time()),
            "configuration": body["configuration"],
        }
        self.destinations[destination["destinationId"]] = destination
        return self._destination_response(destination)

    def _destination(self, request: Request, body: Any) -> Any:
        destination = self.destinations[request.path_params["destination_id"]]
        if request.method == "PATCH":
            _require(body, {}, "patch destination")
            if "configuration" in body:
                self._check_postgres(body["configuration"])
                destination["configuration"] = body["configuration"]
            destination["name"] = body.get("name", destination["name"])
        return self._destination_response(destination)

    # ------------------------------------------------------------------ connections

    @staticmethod
    def _check_streams(configurations: Any) -> list[dict[str, Any]]:
        _require(configurations, {"streams": list}, "configurations")
        for stream in configurations["streams"]:
            _require(stream, {"name": str}, "stream configuration")
            if stream.get("syncMode", "full_refresh_append") not in SYNC_MODES:
                raise BadRequest(f"stream {stream['name']}: unknown syncMode {stream['syncMode']}")
        return list(configurations["streams"])

    def _connections(self, request: Request, body: Any) -> Any:
        if request.method == "GET":
            return _listing(request, list(self.connections.values()))
        _require(body, {"sourceId": str, "destinationId": str}, "create connection")
        source = self.sources[body["sourceId"]]
        self.destinations[body["destinationId"]]
        configurations = body.get("configurations", {"streams": []})
        schedule = body.get("schedule") or {}
        connection = {
            "connectionId": str(uuid.uuid4()),
            "name": body.get("name", f"{source['name']} → destination"),
            "sourceId": body["sourceId"],
            "destinationId": body["destinationId"],
            "workspaceId": source["workspaceId"],
            "status": body.get("status", "active"),
            "schedule": {"scheduleType": schedule.get("scheduleType", "manual")},
            "configurations": {"streams": self._check_streams(configurations)},
            "namespaceDefinition": body.get("namespaceDefinition", "destination"),
            "namespaceFormat": body.get("namespaceFormat"),
            "prefix": body.get("prefix", ""),
            "nonBreakingSchemaUpdatesBehavior": "ignore",
            "createdAt": int(time.time()),
            "tags": [],
        }
        self.connections[connection["connectionId"]] = connection
        return connection

    def _connection(self, request: Request, body: Any) -> Any:
        connection = self.connections[request.path_params["connection_id"]]
        if request.method == "PATCH":
            _require(body, {}, "patch connection")
            if "configurations" in body:
                streams = self._check_streams(body["configurations"])
                connection["configurations"] = {"streams": streams}
            for key in ("name", "namespaceDefinition", "namespaceFormat", "prefix", "status"):
                if key in body:
                    connection[key] = body[key]
            if "schedule" in body:
                connection["schedule"] = {"scheduleType": body["schedule"]["scheduleType"]}
        return connection

    def _connection_details(self, request: Request, body: Any) -> Any:
        """Configuration API ``connections/get``: the connection with its sync catalog."""
        _require(body, {"connectionId": str}, "connections/get")
        connection = self.connections[body["connectionId"]]
        source = self.sources[connection["sourceId"]]
        manifest = self.definitions[source["definitionId"]]["manifest"]
        schemas = {s["name"]: s["schema_loader"]["schema"] for s in manifest["streams"]}
        streams = []
        for configured in connection["configurations"]["streams"]:
            name = configured["name"]
            streams.append(
                {
                    "stream": {
                        "name": name,
                        "jsonSchema": schemas.get(name, {}),
                        "supportedSyncModes": ["full_refresh", "incremental"],
                        "sourceDefinedCursor": True,
                        "defaultCursorField": configured.get("cursorField", []),
                        "sourceDefinedPrimaryKey": configured.get("primaryKey", []),
                        "namespace": None,
                    },
                    "config": {
                        "syncMode": "incremental",
                        "cursorField": configured.get("cursorField", []),
                        "destinationSyncMode": "append_dedup",
                        "primaryKey": configured.get("primaryKey", []),
                        "aliasName": name,
                        "selected": True,
                    },
                }
            )
        return {
            "connectionId": connection["connectionId"],
            "name": connection["name"],
            "namespaceDefinition": connection["namespaceDefinition"],
            "namespaceFormat": connection["namespaceFormat"],
            "prefix": connection["prefix"],
            "sourceId": connection["sourceId"],
            "destinationId": connection["destinationId"],
            "syncCatalog": {"streams": streams},
            "status": connection["status"],
            "scheduleType": connection["schedule"]["scheduleType"],
        }

    # ------------------------------------------------------------------------- jobs

    def _jobs(self, request: Request, body: Any) -> Any:
        if request.method == "GET":
            wanted = request.query_params.get("connectionId")
            jobs = [j for j in self.jobs.values() if wanted in (None, j["connectionId"])]
            return {"data": [self._job_response(j["jobId"]) for j in jobs]}
        _require(body, {"connectionId": str, "jobType": str}, "create job")
        if body["jobType"] not in ("sync", "reset", "refresh", "clear"):
            raise BadRequest(f"jobType {body['jobType']} is not a job type")
        self.connections[body["connectionId"]]
        job_id = next(self._job_ids)
        self.jobs[job_id] = {
            "jobId": job_id,
            "status": "running",
            "jobType": body["jobType"],
            "connectionId": body["connectionId"],
            "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._polls[job_id] = 0
        return self.jobs[job_id]

    def _job_response(self, job_id: int) -> dict[str, Any]:
        job = self.jobs[job_id]
        return {**job, "lastUpdatedAt": job["startTime"], "duration": "PT1S", "rowsSynced": 0}

    def _job(self, request: Request, body: Any) -> Any:
        job_id = int(request.path_params["job_id"])
        job = self.jobs[job_id]
        if request.method == "DELETE":
            job["status"] = "cancelled"
        elif job["status"] == "running":
            self._polls[job_id] += 1
            if self._polls[job_id] >= self.job_polls:
                if self.on_sync is not None and job["jobType"] == "sync":
                    self.on_sync(self.connections[job["connectionId"]])
                job["status"] = "succeeded"
        return self._job_response(job_id)
