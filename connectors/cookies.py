"""requests' cookie handling, skipped where it has nothing to do: a shortcut of
``python -m connectors.launch`` (:func:`install`).

airbyte-cdk sends every page through a ``requests.Session``, which per request merges its
cookie jar into a new one and asks it for a ``Cookie`` header (``get_cookie_header``: a mock
request, the jar's lock, expiry sweep and domain matching), and per response reads the
``Set-Cookie`` headers into two jars (``extract_cookies_to_jar``: two mock objects, the jar's
lock, the policy's clock). None of the four vendor APIs sets a cookie, so all of it finds
nothing: about 7 % of a TMS read's Python (py-spy, 100 trackers a page). Here an empty jar
gives no header without being asked, and a response without ``Set-Cookie`` or
``Set-Cookie2`` headers is not read for cookies (``CookieJar.make_cookies`` returns nothing
for it, so the jar would stay as it is); anything else goes to requests' own functions.
``tests/connectors/test_launch.py`` holds both to requests' answers.
"""

from __future__ import annotations

from typing import Any

import requests.adapters
import requests.cookies
import requests.models
import requests.sessions

_get_cookie_header = requests.cookies.get_cookie_header
_extract_cookies_to_jar = requests.cookies.extract_cookies_to_jar


def get_cookie_header(jar: Any, request: Any) -> str | None:
    """``requests.cookies.get_cookie_header``: None for a jar holding no cookie."""
    if getattr(jar, "_cookies", None) == {}:
        return None
    return _get_cookie_header(jar, request)


def extract_cookies_to_jar(jar: Any, request: Any, response: Any) -> None:
    """``requests.cookies.extract_cookies_to_jar``: nothing for a response setting no cookie."""
    original = getattr(response, "_original_response", None)
    headers = getattr(original, "msg", None)
    get_all = getattr(headers, "get_all", None)
    if get_all is not None and not get_all("Set-Cookie") and not get_all("Set-Cookie2"):
        return
    _extract_cookies_to_jar(jar, request, response)


def install() -> None:
    """Make requests use these where it looks the two functions up (idempotent)."""
    requests.models.get_cookie_header = get_cookie_header  # type: ignore[attr-defined]
    requests.adapters.extract_cookies_to_jar = extract_cookies_to_jar  # type: ignore[attr-defined]
    requests.sessions.extract_cookies_to_jar = extract_cookies_to_jar  # type: ignore[attr-defined]
