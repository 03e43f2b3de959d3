"""What the four sandbox apps share: credential checks, query-parameter parsing, JSON replies."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.clock import iso, lower_bound, parse_instant


class BadParameter(ValueError):
    """A query parameter (or request option) the API cannot accept; its message names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


class CompactJSONResponse(JSONResponse):
    """A JSON response written by orjson: compact UTF-8, as Starlette's own, several times
    faster on the large pages a benchmark asks for (the sandbox is not what is measured)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def reply(body: Any, status: int = 200) -> JSONResponse:
    """A JSON response (compact, UTF-8)."""
    return CompactJSONResponse(body, status_code=status)


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented credential with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password) of the request's HTTP Basic authorization, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def basic_user_ok(request: Request, user: str) -> bool:
    """Whether the request carries HTTP Basic with user name ``user`` and an empty password."""
    credentials = basic_credentials(request)
    return credentials is not None and credentials[1] == "" and same_secret(credentials[0], user)


def optional(request: Request, name: str) -> str | None:
    """A query parameter's value, ``None`` when absent or empty."""
    value = request.query_params.get(name)
    return value if value else None


def instant_param(value: str | None, name: str) -> str | None:
    """An inclusive lower time bound in the sandbox's form, or ``None`` when not given."""
    if value is None:
        return None
    try:
        return lower_bound(value)
    except ValueError:
        raise BadParameter(name, f"not an ISO 8601 date-time: {value!r}") from None


def exact_instant(value: str, name: str) -> str:
    """A keyset position's instant in the sandbox's form; it must be a whole second."""
    try:
        seconds = parse_instant(value)
    except ValueError:
        raise BadParameter(name, f"not an ISO 8601 date-time: {value!r}") from None
    if seconds != int(seconds) or seconds < 0:
        raise BadParameter(name, f"a keyset position is a whole second, got {value!r}")
    return iso(int(seconds))


def int_param(value: str | None, name: str, *, default: int, low: int, high: int | None) -> int:
    """An integer parameter within ``[low, high]`` (``high=None``: no upper bound)."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadParameter(name, f"not an integer: {value!r}") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise BadParameter(name, f"must be {bound}, got {number}")
    return number
