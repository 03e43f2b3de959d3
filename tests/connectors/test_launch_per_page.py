"""connectors.launch's per-page shortcuts (connectors/per_page.py), the cursor's kept end and
the kept parse answer exactly what airbyte-cdk's and requests' own code answers."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import pytest
import requests

from connectors import launch, per_page, per_record


def quietly(build: Any) -> Any:
    """``build()`` with airbyte-cdk's import-time logging put back as it was (test_launch)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return build()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def provider(inputs: Any, config: dict[str, Any]) -> Any:
    return quietly(per_page.input_provider_class)(
        config=config, request_inputs=inputs, parameters={}
    )


def slice_of(start: str, **extra: Any) -> Any:
    stream_slice = per_record.stream_slice_class()
    return stream_slice(
        partition={},
        cursor_slice={"start_time": start, "end_time": "2026-12-07T00:00:00Z"},
        extra_fields=extra or None,
    )


def test_the_tms_request_parameters_kept_are_airbyte_cdks() -> None:
    quietly(per_page.input_provider_class)  # airbyte-cdk imported quietly
    original = per_page._ORIGINAL["eval_request_inputs"]
    config: dict[str, Any] = {"page_size": 100}
    tms = provider(per_page.tms_request_parameters(), config)
    starts = ["2026-11-01T00:00:00Z", "2026-11-02T10:20:30Z", "2026-11-01T00:00:00Z"]
    settings = [{}, {"page_size": 50}, {"creation_window": "P1D"}, {"page_size": None}]
    for setting in settings:
        config.clear()
        config.update(setting)  # the provider reads the very config the connector holds
        for start in starts:
            for token in (None, {"next_page_token": "trk_1"}, {"next_page_token": "trk_2"}):
                for types in ((None, None), ((str,), None)):
                    piece = slice_of(start)
                    expected = original(tms, piece, token, *types)
                    answer = per_page.eval_request_inputs(tms, piece, token, *types)
                    assert answer == expected and type(answer) is type(expected)
                    answer["page_size"] = "changed"  # a copy: the kept answer stays
    kept = tms.__dict__[per_page._KEPT]
    # per page size and window read (None and a missing key read alike), start and types
    assert len(kept) == 3 * 2 * 2
    # a slice with extra fields, and any other inputs, are evaluated as before
    piece = slice_of(starts[0], creation_window="P2D")
    assert per_page.eval_request_inputs(tms, piece) == original(tms, piece)
    assert len(tms.__dict__[per_page._KEPT]) == len(kept)
    other = provider({"page_size": "{{ now_utc().microsecond }}"}, {})
    per_page.eval_request_inputs(other, slice_of(starts[0]))
    assert per_page._KEPT not in other.__dict__


URLS = [
    "http://127.0.0.1:9/v2/trackers?page_size=100",
    "http://127.0.0.1:9/v2/trackers?before_id=trk_1",
    "https://api.easypost.com/v2/trackers",
    "https://api.easypost.com:8443/v2/trackers",
    "http://inside.example/erp",
    "https://user:pw@tenant.example/sap/opu/odata/sap/API_SALES_ORDER_SRV",
]


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTP_PROXY": "http://proxy:3128", "HTTPS_PROXY": "http://proxy:3129"},
        {"https_proxy": "http://proxy:3129", "NO_PROXY": "inside.example,127.0.0.1"},
        {"ALL_PROXY": "socks5://proxy:1080", "no_proxy": "*"},
        {"REQUESTS_CA_BUNDLE": "/etc/ssl/tenant.pem"},
        {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem", "HTTP_PROXY": "http://proxy:3128"},
    ],
)
def test_environment_settings_kept_are_requests_answers(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's proxy and CA bundle settings reach every request as requests reads them."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    per_page.install()
    original = per_page._ORIGINAL["merge_environment_settings"]
    fast = requests.Session()
    for trust in (True, False):
        fast.trust_env = trust
        for _ in range(2):  # the second time from what was kept
            for url in URLS:
                for proxies in ({}, {"no_proxy": "api.easypost.com"}, {"http": "http://p:1"}):
                    for verify in (None, True, False, "/etc/ssl/mine.pem"):
                        slow = requests.Session()
                        slow.trust_env = trust
                        args = (url, proxies, None, verify, None)
                        answer = per_page.merge_environment_settings(fast, *args)
                        assert answer == original(slow, *args), (url, proxies, verify)
                        answer["proxies"]["http"] = "changed"  # a copy: the kept one stays
    fast.trust_env = True
    fast.proxies = {"https": "http://session-proxy:1"}  # the session's own settings count
    slow = requests.Session()
    slow.proxies = dict(fast.proxies)
    args = (URLS[2], {}, None, None, None)
    assert per_page.merge_environment_settings(fast, *args) == original(slow, *args)


def test_environment_settings_are_read_once_for_airbyte_cdks_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """airbyte-cdk asks with ``proxies={}`` for every page: requests is asked once."""
    per_page.install()
    original = per_page._ORIGINAL["merge_environment_settings"]
    asked: list[str] = []

    def counted(self: Any, url: Any, *rest: Any) -> Any:
        asked.append(url)
        return original(self, url, *rest)

    monkeypatch.setitem(per_page._ORIGINAL, "merge_environment_settings", counted)
    session = requests.Session()
    for page in range(3):
        url = f"{URLS[2]}?before_id=trk_{page}"
        answer = per_page.merge_environment_settings(session, url, {}, None, None, None)
        assert answer == original(requests.Session(), url, {}, None, None, None)
    assert len(asked) == 1


class _Cursor:
    """What ``ConcurrentCursor.should_be_synced`` reads of a cursor, with a clock that moves
    on by one at each call of its end provider."""

    def __init__(self, lowest: int, end: int | None) -> None:
        self.lowest, self.clock, self.fixed, self.asked, self.logged = lowest, 10, end, 0, 0

    def _extract_cursor_value(self, record: Any) -> int:
        if record is None:
            raise ValueError("no cursor value")
        value: int = record
        return value

    def _log_for_record_without_cursor_value(self) -> None:
        self.logged += 1

    def _lowest_cursor_value_to_sync(self) -> int:
        return self.lowest

    def _end_provider(self) -> int:
        self.asked += 1
        self.clock += 1
        return self.fixed if self.fixed is not None else self.clock


@pytest.mark.parametrize("end", [None, 12, 30])
def test_the_kept_end_decides_what_airbyte_cdks_filter_decides(end: int | None) -> None:
    quietly(per_record.cursor_class)
    original = per_record._ORIGINAL["should_be_synced"]
    records = [5, 11, 3, None, 11, 12, 14, 15, 4, 9, 30, 31, 13, 20, 20, 11, 40]
    fast, slow = _Cursor(5, end), _Cursor(5, end)
    for record in records:
        # the clocks move on alike: each asks once more only when the other would too, or
        # the fast one is ahead of what it knows (a record beyond its last answer)
        expected = original(slow, record)
        assert per_record.should_be_synced(fast, record) == expected, record
        fast.clock = slow.clock  # the same instant for both at the next record
    assert fast.logged == slow.logged == 1
    assert fast.asked < slow.asked


def test_a_parse_kept_is_given_for_the_same_text_and_format_only() -> None:
    parser = launch.datetime_parser_class()()
    original = launch._ORIGINAL["DatetimeParser.parse"]
    text = "2026-10-01T10:00:00Z"
    first = launch.parse(parser, text, "%Y-%m-%dT%H:%M:%SZ")
    assert first == original(parser, text, "%Y-%m-%dT%H:%M:%SZ")
    assert launch.parse(parser, text, "%Y-%m-%dT%H:%M:%SZ") is first
    with pytest.raises(ValueError):  # the same text in a format it does not match
        launch.parse(parser, text, "%Y-%m-%dT%H:%M:%S.%f%z")
    other = launch.parse(parser, "2026-10-01T10:00:01Z", "%Y-%m-%dT%H:%M:%SZ")
    assert other == original(parser, "2026-10-01T10:00:01Z", "%Y-%m-%dT%H:%M:%SZ")


def test_the_erp_cursor_written_from_the_digits_is_strftimes() -> None:
    """connectors.odata.iso_utc (each day's date kept, the time from the digits) writes what
    ``strftime`` writes of the same instant, to the millisecond, before and after the epoch
    and on a day already written."""
    from datetime import UTC, datetime, timedelta

    from connectors.odata import iso_utc

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    samples = [0, 1, 999, 1000, -1, -999, -1000, -1001, 86_399_999, 86_400_000, -86_400_001,
               951_782_400_000, 1_759_500_309_123, 1_759_500_309_123, 4_102_444_799_999,
               253_402_300_799_999, -62_135_596_800_000]  # fmt: skip
    samples += [1_700_000_000_000 + step * 7_777_777 for step in range(500)]
    for ms in samples:
        whole = epoch + timedelta(milliseconds=ms - ms % 1000)
        expected = f"{whole:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"
        for text in (f"/Date({ms})/", f"/Date({ms}+0000)/"):
            assert iso_utc(text) == expected, text
    with pytest.raises(OverflowError):
        iso_utc("/Date(253402300800000)/")  # past 9999-12-31: no ISO 8601 date either way
