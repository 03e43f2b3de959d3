"""Build a connector's config (the manifest's ``spec``) without knowing its field names.

Credentials are passed by the name the manifest gives them (``ConnectorSpec.secret_fields``:
``api_key`` for erp, wms (an Odoo API key) and tms, OAuth 2.0 ``client_id``/``client_secret``
for crm;
:data:`orderhub.sources.SOURCE_SECRETS` names where orderhub keeps
them); a missing or unknown one is an error that names the system and the expected fields.
The config holds secrets: it is handed to the runner, which writes it owner-only and never
logs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.catalog import get_connector
from orderhub.secrets import source_credentials
from orderhub.settings import Settings

DEFAULT_START_DATE = "2020-01-01T00:00:00Z"
_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
#: The ISO 8601 durations the manifests' ``lookback_window`` takes (days, hours, minutes, s).
_DURATION = re.compile(r"^P(?!$)([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+S)?)?$")


def source_config(
    system: str,
    base_url: str,
    credentials: Mapping[str, str],
    start_date: str = DEFAULT_START_DATE,
    page_size: int | None = None,
    *,
    max_retries: int | None = None,
    backoff_factor: float | None = None,
    lookback_window: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The config of ``system``'s connector: base URL, credentials, start date and options.

    ``options`` are further fields of the manifest's spec that are no secret (the WMS:
    Odoo's ``database`` and ``uid``); one the spec does not name is an error.

    ``max_retries`` and ``backoff_factor`` tune the retry of 429/5xx/connection errors (the
    manifests default to 5 retries, waiting ``5 * 2^n`` s unless ``Retry-After`` says otherwise);
    ``lookback_window`` (ISO 8601 duration, default ``PT10M``) is re-read before the stored
    cursor on each sync, so writes that land late with an earlier timestamp are not missed.
    """
    connector = get_connector(system)
    expected = set(connector.secret_fields)
    given = set(credentials)
    if given != expected:
        missing = ", ".join(sorted(expected - given)) or "none"
        unknown = ", ".join(sorted(given - expected)) or "none"
        raise ValueError(
            f"{system} credentials must be exactly {sorted(expected)} "
            f"(missing: {missing}; unknown: {unknown})"
        )
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"{system} base_url must be an http(s) URL, got {base_url!r}")
    if not _ISO_Z.match(start_date):
        raise ValueError(
            f"{system} start_date must look like 2020-01-01T00:00:00Z, got {start_date!r}"
        )
    config: dict[str, Any] = {"base_url": base_url.rstrip("/"), "start_date": start_date}
    named = set(connector.connection_specification().get("properties", {}))
    unknown_options = sorted(set(options or {}) - (named - expected - {"base_url"}))
    if unknown_options:
        raise ValueError(f"{system} takes no option {', '.join(unknown_options)}")
    config.update(options or {})
    config.update({name: str(credentials[name]) for name in connector.secret_fields})
    if page_size is not None:
        config["page_size"] = int(page_size)
    if max_retries is not None:
        config["max_retries"] = int(max_retries)
    if backoff_factor is not None:
        config["backoff_factor"] = float(backoff_factor)
    if lookback_window is not None:
        if not _DURATION.match(lookback_window):
            raise ValueError(
                f"{system} lookback_window must be an ISO 8601 duration like PT10M or P1D,"
                f" got {lookback_window!r}"
            )
        config["lookback_window"] = lookback_window
    return config


def configured_source(
    settings: Settings, system: str, *, base_url: str | None = None, page_size: int | None = None
) -> dict[str, Any]:
    """``system``'s connector config from its source configuration (``settings.sources``):
    base URL (or ``base_url``), the credentials its secrets hold, start date, page size."""
    source = settings.source(system)
    return source_config(
        system,
        base_url or source.base_url,
        source_credentials(settings, system),
        start_date=settings.sync_start_date,
        page_size=page_size if page_size is not None else source.page_size,
        options=source.options,
    )
