"""Two of ``python -m connectors.launch``'s shortcuts, on the path every page takes
(:func:`install`, before airbyte-cdk reads anything).

- The TMS's request parameters (``page_size`` and ``start_datetime``, ``manifests/tms.yaml``)
  are two Jinja templates rendered for every page (about 0.4 ms a page of 100 trackers, some
  8 % of the TMS read's worker thread), yet they read nothing that changes from one page to
  the next: ``config.get('page_size')``, ``config.get('creation_window')`` and the slice's
  ``start_time`` (through airbyte-cdk's pure ``str_to_datetime``, ``duration`` and
  ``format_datetime`` macros). :func:`eval_request_inputs` keeps airbyte-cdk's own answer for
  those three values and the requested key and value types, and gives a copy of it again;
  only for a provider whose inputs equal the TMS manifest's, a slice without extra fields and
  hashable values: anything else is evaluated as before.
- ``requests.Session.merge_environment_settings``, which airbyte-cdk calls for every request,
  reads the process's environment each time (the proxy variables and ``no_proxy`` matched
  against the host, the CA bundle variables): about 4 % of the worker thread.
  :func:`merge_environment_settings` keeps requests' own answer per scheme and host (the only
  part of the URL it reads), the arguments and the session's own proxies, stream, verify and
  cert, for the life of the connector process, whose environment is set when it starts (a
  user's ``HTTPS_PROXY``, ``NO_PROXY`` or ``REQUESTS_CA_BUNDLE`` is read, once, as before).
  A session with ``trust_env`` off is answered by requests as before.

``tests/connectors/test_launch_per_page.py`` holds both to airbyte-cdk's and requests' answers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.manifest_files import system_manifest

#: airbyte-cdk's and requests' own functions the shortcuts fall back on.
_ORIGINAL: dict[str, Any] = {}
#: Where a provider or a session keeps its answers.
_KEPT = "_orderhub_kept"


def tms_request_parameters() -> dict[str, Any]:
    """The TMS manifest's ``request_parameters``, as its YAML writes them."""
    found: dict[str, Any] = system_manifest("tms")["definitions"]["requester"]["request_parameters"]
    return found


def _parameters_key(self: Any, stream_slice: Any, types: tuple[Any, Any]) -> Any:
    """What the TMS's request parameters read, or None when the answer is not to be kept."""
    inputs = self._request_inputs
    if not isinstance(inputs, Mapping) or not isinstance(stream_slice, Mapping):
        return None
    if getattr(stream_slice, "extra_fields", None) or "start_time" not in stream_slice:
        return None
    config = self.config
    if not isinstance(config, Mapping) or dict(inputs) != tms_request_parameters():
        return None
    key = (
        config.get("page_size"),
        config.get("creation_window"),
        stream_slice["start_time"],
        *types,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def eval_request_inputs(
    self: Any,
    stream_slice: Any = None,
    next_page_token: Any = None,
    valid_key_types: Any = None,
    valid_value_types: Any = None,
) -> Any:
    """``InterpolatedRequestInputProvider.eval_request_inputs``, the TMS's request parameters
    kept per (page size, creation window, slice start, types)."""
    original = _ORIGINAL["eval_request_inputs"]
    key = _parameters_key(self, stream_slice, (valid_key_types, valid_value_types))
    if key is None:
        return original(self, stream_slice, next_page_token, valid_key_types, valid_value_types)
    kept = self.__dict__.setdefault(_KEPT, {})
    if key not in kept:
        answer = original(self, stream_slice, next_page_token, valid_key_types, valid_value_types)
        if type(answer) is not dict:
            return answer
        kept[key] = answer
    return dict(kept[key])


def merge_environment_settings(
    self: requests.Session, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
) -> dict[str, Any]:
    """``Session.merge_environment_settings``, its answer kept per scheme and host."""
    original = _ORIGINAL["merge_environment_settings"]
    if not self.trust_env or not isinstance(url, str):
        result: dict[str, Any] = original(self, url, proxies, stream, verify, cert)
        return result
    try:
        scheme, host = urlsplit(url)[:2]
        key = (
            scheme,
            host,
            # airbyte-cdk passes ``{}``: a mapping is kept by its items, an empty one too
            tuple(proxies.items()) if isinstance(proxies, Mapping) else proxies,
            stream,
            verify,
            cert,
            tuple(self.proxies.items()),
            self.stream,
            self.verify,
            self.cert,
        )
        hash(key)
    except (TypeError, ValueError, AttributeError):
        result = original(self, url, proxies, stream, verify, cert)
        return result
    kept = self.__dict__.setdefault(_KEPT, {})
    if key not in kept:
        kept[key] = original(self, url, proxies, stream, verify, cert)
    answer = dict(kept[key])
    answer["proxies"] = copy.copy(answer["proxies"])
    return answer


def input_provider_class() -> Any:
    """airbyte-cdk's ``InterpolatedRequestInputProvider``, its own method kept aside
    (imported on first use: importing airbyte-cdk configures the process's logging)."""
    from airbyte_cdk.sources.declarative.requesters.request_options.interpolated_request_input_provider import (  # noqa: E501
        InterpolatedRequestInputProvider,
    )

    _ORIGINAL.setdefault(
        "eval_request_inputs", InterpolatedRequestInputProvider.eval_request_inputs
    )
    return InterpolatedRequestInputProvider


def install() -> None:
    """Make this process's airbyte-cdk and requests use both (idempotent)."""
    input_provider_class().eval_request_inputs = eval_request_inputs
    _ORIGINAL.setdefault("merge_environment_settings", requests.Session.merge_environment_settings)
    requests.Session.merge_environment_settings = merge_environment_settings  # type: ignore[method-assign]
