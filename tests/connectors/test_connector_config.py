"""``source_config`` builds a config the manifest's spec accepts, from names callers know."""

from __future__ import annotations

import jsonschema
import pytest

from connectors.catalog import SYSTEMS
from connectors.config import source_config
from orderhub.sources import SOURCE_OPTIONS


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_config_validates_against_the_manifest_spec(system: str) -> None:
    secrets = {field: f"s3cret-{field}" for field in SYSTEMS[system].secret_fields}
    options = SOURCE_OPTIONS.get(system, {})  # Odoo's database and user id
    config = source_config(
        system, f"http://127.0.0.1:8080/{system}/", secrets, page_size=7,
        max_retries=2, backoff_factor=0.5, lookback_window="PT1H", options=options,
    )  # fmt: skip
    jsonschema.validate(config, SYSTEMS[system].connection_specification())
    assert config == {
        "base_url": f"http://127.0.0.1:8080/{system}",
        "start_date": "2020-01-01T00:00:00Z",
        **secrets,
        "page_size": 7,
        "max_retries": 2,
        "backoff_factor": 0.5,
        "lookback_window": "PT1H",
        **options,
    }


def test_a_lookback_window_is_an_iso_8601_duration() -> None:
    with pytest.raises(ValueError, match="lookback_window must be an ISO 8601 duration"):
        source_config("tms", "https://tms.example", {"api_key": "k"}, lookback_window="1h")


def test_defaults_leave_options_to_the_manifest() -> None:
    config = source_config("tms", "https://tms.example", {"api_key": "k"})
    assert config == {
        "base_url": "https://tms.example",
        "start_date": "2020-01-01T00:00:00Z",
        "api_key": "k",
    }


def test_wrong_credentials_name_the_expected_fields() -> None:
    with pytest.raises(ValueError, match=r"erp credentials must be exactly \['api_key'\]"):
        source_config("erp", "http://h/erp", {"token": "x"})


@pytest.mark.parametrize(
    ("base_url", "start_date", "message"),
    [
        ("ftp://h/wms", "2020-01-01T00:00:00Z", "base_url must be an http"),
        ("http://h/wms", "2020-01-01", "start_date must look like"),
    ],
)
def test_bad_values_are_refused(base_url: str, start_date: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        source_config("wms", base_url, {"api_key": "k"}, start_date)
