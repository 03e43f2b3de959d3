"""The Airbyte server's public API as orderhub calls it: where it is, how to sign in, and
reading its lists.

:class:`AirbyteServer` takes the server's address in any of its usual forms (root, public
API, configuration API) and builds an ``airbyte-api`` SDK client, with OAuth client
credentials when given. :func:`list_all` reads one of a workspace's lists (sources,
destinations, connections) page by page, :data:`LIST_PAGE` items at a time, and
:func:`required` turns an answer the SDK could not parse into an error naming what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import airbyte_api
from airbyte_api import models
from airbyte_api.types import BaseModel

PUBLIC_API = "/api/public/v1"
CONFIGURATION_API = "/api/v1"
#: Items per list request (the public API's maximum); lists are read page by page.
LIST_PAGE = 100
_Model = TypeVar("_Model", bound=BaseModel)
_Item = TypeVar("_Item")


@dataclass(frozen=True)
class AirbyteServer:
    """Where the Airbyte server is and how to authenticate (OAuth client credentials)."""

    url: str
    workspace_id: str
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def root(self) -> str:
        """The server's root URL (``http://host:8000``), whatever form ``url`` was given in."""
        root = self.url.rstrip("/")
        for suffix in (PUBLIC_API, CONFIGURATION_API, "/api/public", "/api"):
            if root.endswith(suffix):
                return root[: -len(suffix)]
        return root

    @property
    def public_api(self) -> str:
        return self.root + PUBLIC_API

    @property
    def configuration_api(self) -> str:
        return self.root + CONFIGURATION_API

    def client(self) -> airbyte_api.AirbyteAPI:
        """An SDK client for the public API."""
        security = None
        if self.client_id and self.client_secret:
            security = models.Security(
                client_credentials=models.SchemeClientCredentials(
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                    token_url=self.public_api + "/applications/token",
                )
            )
        return airbyte_api.AirbyteAPI(server_url=self.public_api, security=security)


def required(value: _Model | None, what: str) -> _Model:
    """``value``, or a RuntimeError saying the server answered no ``what``."""
    if value is None:
        raise RuntimeError(f"the Airbyte server answered no {what}")
    return value


def _every_page(list_page: Callable[[int], Sequence[_Item]]) -> list[_Item]:
    """Every item of a paged list: ``list_page(offset)`` until a page comes back short."""
    found: list[_Item] = []
    while True:
        page = list_page(len(found))
        found.extend(page)
        if len(page) < LIST_PAGE:
            return found


def list_all(
    workspace_id: str, list_: Callable[..., Any], request: Callable[..., Any], answer: str
) -> list[Any]:
    """Every item of ``workspace_id``'s list ``list_`` (e.g. ``sdk.sources.list_sources``,
    with its request model ``request``), page by page; ``answer`` names the response's field
    that holds the page."""

    def page(offset: int) -> list[Any]:
        response = list_(
            request=request(workspace_ids=[workspace_id], limit=LIST_PAGE, offset=offset)
        )
        return list(required(getattr(response, answer), answer).data)

    return _every_page(page)
