"""connectors.launch's shortcuts answer exactly what airbyte-cdk's own code answers."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import dpath
import orjson
import pytest
import requests

from connectors import launch


def json_decoder() -> Any:
    """airbyte-cdk's JsonDecoder. Imported inside the tests, quietly: importing airbyte-cdk
    puts an Airbyte-message log handler for stdout on the root logger, which only a
    connector process should have (tests/connectors/test_connector_runner.py checks the
    orchestrating process's stdout stays clean), so the root logger is put back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return launch.json_decoder_class()(parameters={})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def response(body: bytes) -> requests.Response:
    answer = requests.Response()
    answer._content = body
    answer.status_code = 200
    answer.encoding = "utf-8"
    return answer


BODIES = [
    b'{"trackers": [{"id": "trk_1", "updated_at": "2026-10-01T00:00:00Z"}], "has_more": true}',
    b'{"d": {"results": [], "__next": null}}',
    b"[1, 2, 3]",
    b"[]",
    b"{}",
    b"null",
    b"0",
    b"false",
    b'"text"',
    b"",  # an empty body
    b"{not json",  # refused by both
    b'{"n": NaN}',  # json's extension: orjson refuses, the original code decides
    b'{"big": 123456789012345678901234567890}',  # beyond 64 bits: orjson reads a float
    b'{"big": [1, -123456789012345678901234567890]}',
    b"123456789012345678901234567890",
    b'{"ok": 18446744073709551615, "code": "9400111899223817583019"}',
    b'{"s": "\\ud800"}',  # a lone surrogate escape: orjson refuses
    '{"name": "Zürich ✓"}'.encode(),
]


@pytest.mark.parametrize("body", BODIES)
def test_decoding_a_page_once_answers_what_json_decoder_answers(body: bytes) -> None:
    decoder = json_decoder()
    expected = list(launch._ORIGINAL["JsonDecoder.decode"](decoder, response(body)))
    shared = response(body)
    assert list(launch.json_decoder_decode(decoder, shared)) == expected
    assert list(launch.json_decoder_decode(decoder, shared)) == expected  # read again


@pytest.mark.parametrize("body", BODIES)
def test_response_json_answers_what_requests_does(body: bytes) -> None:
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:  # the original decides: the same answer or the same error
        try:
            expected = launch._response_json(response(body))
        except requests.JSONDecodeError:
            with pytest.raises(requests.JSONDecodeError):
                launch.response_json(response(body))
        else:
            answer = launch.response_json(response(body))
            assert answer == expected or (answer != answer and expected != expected)  # NaN
        return
    assert launch.response_json(response(body)) == parsed
    if b"12345678901234567890" not in body:  # no integer beyond 64 bits: as json reads it
        assert parsed == launch._response_json(response(body))


def test_the_extractor_paginator_and_error_handler_share_one_parse() -> None:
    page = response(BODIES[0])
    decoder = json_decoder()
    (first,) = launch.json_decoder_decode(decoder, page)
    assert launch.response_json(page) is first


@pytest.mark.parametrize(
    "path",
    [["d", "results"], ["trackers"], ["d", "missing"], ["d", "*"], ["list", 0], ["a.b"], []],
)
def test_fast_get_answers_what_dpath_answers(path: list[Any]) -> None:
    document = {"d": {"results": [{"x": 1}]}, "trackers": [], "list": [5], "a.b": 2}
    try:
        expected = launch._dpath_get(document, path)
    except (KeyError, ValueError) as error:
        with pytest.raises(type(error)):
            launch.fast_get(document, path)
    else:
        assert launch.fast_get(document, path) == expected
    assert launch.fast_get(document, path, default="none") == dpath.get(
        document, path, default="none"
    )
