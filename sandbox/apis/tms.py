"""The TMS: EasyPost-style ``Tracker`` list (docs/sources.md "tms").

``GET /v2/trackers?page_size=<n>&updated_at_min=<ISO>&after_id=<id>`` with HTTP Basic,
the API key as user name and an empty password; ``page_size`` ≤ 100, default 20.
Replies ``{"trackers": [...], "has_more": bool}``. The next page is asked with
``updated_at_min`` = the ``updated_at`` of the last tracker on the page and ``after_id`` = its
id: together they name a position in the list (keyset paging: trackers updated after that
instant, or at it with a greater id), so a tracker that changes while a client pages cannot
shift the others past it. ``after_id`` without ``updated_at_min`` starts after that tracker
where it is now.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.apis.common import (
    BadParameter,
    basic_user_ok,
    instant_param,
    int_param,
    optional,
    reply,
)
from sandbox.store import SandboxStore

PATH = "/v2/trackers"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_PARAMETERS = frozenset({"page_size", "updated_at_min", "after_id"})
_UNAUTHORIZED = {
    "error": {
        "code": "APIKEY.INACTIVE",
        "message": (
            "This api key is no longer active. "
            "Please use a different api key or reactivate this key."
        ),
    }
}


def _invalid(problem: BadParameter) -> JSONResponse:
    body = {
        "error": {
            "code": "PARAMETER.INVALID",
            "message": f"Invalid parameter {problem}",
            "errors": [{"field": problem.name, "message": str(problem)}],
        }
    }
    return reply(body, 400)


def create_app(store: SandboxStore, api_key: str) -> Starlette:
    """The TMS app, accepting HTTP Basic ``<api_key>:`` (empty password)."""

    async def trackers(request: Request) -> JSONResponse:
        if not basic_user_ok(request, api_key):
            return reply(_UNAUTHORIZED, 401)
        try:
            unknown = sorted(set(request.query_params) - _PARAMETERS)
            if unknown:
                raise BadParameter(unknown[0], "unknown parameter")
            size = int_param(
                optional(request, "page_size"),
                "page_size",
                default=DEFAULT_PAGE_SIZE,
                low=1,
                high=MAX_PAGE_SIZE,
            )
            since = instant_param(optional(request, "updated_at_min"), "updated_at_min")
            after_id = optional(request, "after_id")
            after = None
            if after_id is not None and since is not None:
                after = (since, after_id)
            elif after_id is not None:
                after = store.sort_key_of("tms", after_id)
                if after is None:
                    raise BadParameter("after_id", f"no tracker {after_id!r}")
        except BadParameter as problem:
            return _invalid(problem)
        page, more = store.after("tms", since, after, size)
        return reply({"trackers": page, "has_more": more})

    return Starlette(routes=[Route(PATH, trackers, methods=["GET"])])
