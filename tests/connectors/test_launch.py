"""connectors.launch's shortcuts answer exactly what airbyte-cdk's own code answers."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from datetime import UTC
from functools import partial
from typing import Any

import dpath
import orjson
import pytest
import requests

from connectors import launch, per_record


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


CURSOR_VALUES: list[Any] = [
    "/Date(1759500309000+0000)/",
    "/Date(1759500309123)/",
    "/Date(1759500309000+0120)/",
    "/Date(999999999999)/",
    "/Date(-1500)/",
    "/Date(12)/x",
    "2026-10-03T14:05:09Z",
    "2026-10-03T19:35:09.5+05:30",
    "2026-10-03T14:05:09.123456",
    "yesterday",
    "",
    None,
    17,
    ["/Date(1759500309000)/"],
]


def erp_add_fields(manifest: dict[str, Any]) -> list[Any]:
    """The ERP stream's transformations as airbyte-cdk's factory builds them, patched or not."""
    from connectors.catalog import SYSTEMS

    config = {"base_url": "http://127.0.0.1:9/erp", "start_date": "2020-01-01T00:00:00Z"}
    config["api_key"] = "x" * 8
    with contextlib.redirect_stdout(io.StringIO()):
        from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
            ConcurrentDeclarativeSource,
        )

        source = ConcurrentDeclarativeSource(
            source_config=manifest or SYSTEMS["erp"].manifest(),
            config=config,
            catalog=None,
            state=None,
        )
    (stream,) = source.streams(config)
    retriever = stream._stream_partition_generator._partition_factory._retriever
    return list(retriever.record_selector.transformations)


@pytest.fixture
def factories() -> Any:
    """The ERP's transformation built by airbyte-cdk alone, then with the shortcut installed."""
    factory = launch.component_factory_class()
    original = factory.create_add_fields
    (jinja,) = erp_add_fields({})
    factory.create_add_fields = launch.create_add_fields
    try:
        yield jinja, factory
    finally:
        factory.create_add_fields = original


@pytest.mark.parametrize("value", CURSOR_VALUES)
def test_the_erp_cursor_field_is_what_the_manifest_template_writes(
    value: Any, factories: Any
) -> None:
    jinja, _ = factories
    (fast,) = erp_add_fields({})
    assert isinstance(fast, launch.OdataCursorField)
    for record in ({"SalesOrder": "1", "LastChangeDateTime": value}, {"SalesOrder": "1"}):
        expected, got = dict(record), dict(record)
        jinja.transform(expected, config={}, stream_state={}, stream_slice={})
        fast.transform(got, config={}, stream_state={}, stream_slice={})
        assert got == expected


def test_an_edited_erp_template_is_built_by_airbyte_cdk(factories: Any) -> None:
    # a manifest whose AddFields differs from manifests/erp.yaml in any way keeps its template
    from airbyte_cdk.sources.declarative.transformations.add_fields import AddFields

    from connectors.catalog import SYSTEMS

    for edit in ("condition", "value"):
        manifest = copy.deepcopy(SYSTEMS["erp"].manifest())  # the loaded one is shared
        (stream,) = manifest["streams"]
        (added,) = stream["transformations"]
        if edit == "condition":
            added["condition"] = "{{ value is string }}"
        else:
            added["fields"][0]["value"] = "{{ record.get('LastChangeDateTime') }}"
        (built,) = erp_add_fields(manifest)
        assert isinstance(built, AddFields)
        record = {"LastChangeDateTime": "/Date(1500)/"}
        built.transform(record, config={}, stream_state={}, stream_slice={})
        expected = "/Date(1500)/" if edit == "value" else "1970-01-01T00:00:01.500Z"
        assert record["LastChangeDateTime_utc"] == expected


INSTANTS = [
    "2026-10-03T14:05:09Z",
    "2026-10-03T14:05:09.035Z",
    "2026-10-03T14:05:09.1Z",
    "2026-10-03T14:05:09.123456Z",
    "2026-10-03T14:05:09.1234567Z",
    "2026-10-03T14:05:09+00:00",
    "2026-10-03T14:05:09.000+05:30",
    "2026-1-3T14:05:09Z",
    "2026-02-30T14:05:09Z",
    "2026-10-03T24:00:00Z",
    "2026-10-03T23:59:60Z",
    "0000-10-03T14:05:09Z",
    "2026-10-03 14:05:09Z",
    "2026-10-03T14:05:09Zx",
    "\uff12\uff10\uff12\uff16-10-03T14:05:09Z",  # non-ASCII digits: strptime decides
    "",
    1759500309,
    # Odoo's datetimes, and near misses
    "2026-10-03 14:05:09",
    "2026-10-03 14:05:09.5",
    "2026-1-03 14:05:09",
    "2026-02-30 14:05:09",
    "2026-10-03 24:00:00",
    "2026-10-03  14:05:09",
    "2026-10-03t14:05:09z",
    "2026-10-03t14:05:09.5z",
]
FORMATS = [
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%ms",
]


def outcome(call: Any) -> Any:
    try:
        value = call()
    except Exception as error:  # the error is the outcome compared
        return type(error), str(error)
    return value, value.tzinfo, value.utcoffset()


@pytest.mark.parametrize("value", INSTANTS)
def test_parse_answers_what_strptime_answers(value: Any) -> None:
    parser = launch.datetime_parser_class()()
    original = launch._ORIGINAL["DatetimeParser.parse"]
    for form in FORMATS:
        expected = outcome(partial(original, parser, value, form))
        assert outcome(partial(launch.parse, parser, value, form)) == expected
        if expected[1] is UTC:  # the very object strptime gives
            assert launch.parse(parser, value, form).tzinfo is UTC


def test_a_slice_keeps_airbyte_cdks_hash_while_its_contents_stay() -> None:
    stream_slice = per_record.stream_slice_class()
    original = per_record._ORIGINAL["StreamSlice.__hash__"]
    piece = stream_slice(partition={}, cursor_slice={"start_time": "a", "end_time": "b"})
    assert per_record.slice_hash(piece) == original(piece)
    assert per_record.slice_hash(piece) == original(piece)  # kept
    piece._stream_slice["end_time"] = "c"  # changed in place: hashed again
    assert per_record.slice_hash(piece) == original(piece)
    numbered = stream_slice(partition={"n": 1}, cursor_slice={})
    assert per_record.slice_hash(numbered) == original(numbered)
    numbered._stream_slice["n"] = True  # equal to 1, written differently
    assert per_record.slice_hash(numbered) == original(numbered)
    nested = stream_slice(partition={"parent": {"id": 1}}, cursor_slice={})
    assert per_record.slice_hash(nested) == original(nested)
    nested._stream_slice["parent"]["id"] = 2  # a nested value is never kept
    assert per_record.slice_hash(nested) == original(nested)


SERIALIZED = """
import sys
import orjson
from connectors import launch, per_record
if sys.argv[1] == "shortcuts":
    launch.skip_attribute_docs()
from airbyte_cdk.models import AirbyteMessageSerializer, ConfiguredAirbyteCatalogSerializer
message = {"type": "RECORD", "record": {"stream": "s", "data": {"a": None, "b": [1, "x"]},
           "emitted_at": 1}}
catalog = {"streams": [{"stream": {"name": "s", "json_schema": {}, "supported_sync_modes":
           ["incremental"]}, "sync_mode": "incremental", "destination_sync_mode": "append"}]}
loaded = AirbyteMessageSerializer.load(message)
print(orjson.dumps([AirbyteMessageSerializer.dump(loaded),
      ConfiguredAirbyteCatalogSerializer.dump(ConfiguredAirbyteCatalogSerializer.load(catalog)),
      sorted(AirbyteMessageSerializer.get_json_schema())]).decode())
"""


def test_serializers_built_without_docs_write_and_read_the_same() -> None:
    import subprocess
    import sys

    def run(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", SERIALIZED, mode], capture_output=True, text=True, check=True
        )
        return done.stdout

    assert run("shortcuts") == run("plain")


def _served(headers: list[tuple[str, str]]) -> Any:
    """A urllib3 response as requests receives it, its ``http.client`` message ``headers``."""
    import email.parser
    import http.client

    text = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
    original = type("Original", (), {"msg": message})()
    return type("Raw", (), {"_original_response": original})()


def test_requests_cookie_jars_answer_as_requests_does() -> None:
    """The cookie shortcuts: an empty jar gives no header, a response setting no cookie leaves
    a jar as it was; a cookie held or set goes through requests as before."""
    import requests.cookies

    from connectors import cookies

    def header(jar: Any, fast: bool) -> str | None:
        request = requests.Request("GET", "http://127.0.0.1:9/v2/trackers").prepare()
        ask = cookies.get_cookie_header if fast else requests.cookies.get_cookie_header
        return ask(jar, request)

    empty, held = requests.cookies.RequestsCookieJar(), requests.cookies.RequestsCookieJar()
    held.set("session", "abc", domain="127.0.0.1", path="/")
    for jar in (empty, held):
        assert header(jar, fast=True) == header(jar, fast=False)
    assert header(held, fast=True) == "session=abc"
    request = requests.Request("GET", "http://127.0.0.1:9/v2/trackers").prepare()
    for served, expected in (
        ([("Content-Type", "application/json")], {}),
        ([("Set-Cookie", "k=v; Path=/")], {"k": "v"}),
        ([("Set-Cookie2", 'k2="w"; Version="1"; Path="/"')], {}),  # rfc2965 off, as requests
    ):
        fast, slow = requests.cookies.RequestsCookieJar(), requests.cookies.RequestsCookieJar()
        cookies.extract_cookies_to_jar(fast, request, _served(served))
        requests.cookies.extract_cookies_to_jar(slow, request, _served(served))
        assert fast.get_dict() == slow.get_dict() == expected
    cookies.extract_cookies_to_jar(empty, request, object())  # no original response: nothing
    assert empty.get_dict() == {}


def test_a_finished_connector_ends_at_once_with_its_output_out() -> None:
    """``process.end_now``: what was written (buffered stdout, a log line) reaches the reader
    and the exit code is the one given, without Python's teardown."""
    import os
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "from connectors import process\n"
        "logging.basicConfig(stream=sys.stderr)\n"
        "sys.stdout.write('x' * 200000)\n"
        "sys.stdout.write('\\nend\\n')\n"
        "logging.getLogger('t').warning('logged')\n"
        "process.end_now(3)\n"
        "print('never')\n"
    )
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, env=buffered
    )
    assert done.returncode == 3
    assert done.stdout == b"x" * 200000 + b"\nend\n"
    assert b"logged" in done.stderr


def test_a_record_written_directly_is_the_text_airbyte_cdk_writes() -> None:
    """``per_record.message_to_string`` against airbyte-cdk's own writer on records of every
    shape (top-level and nested nulls, non-JSON values, keys orjson refuses, a namespace) and
    on the other message types."""
    import decimal
    from datetime import datetime

    from airbyte_cdk.models import (
        AirbyteLogMessage,
        AirbyteMessage,
        AirbyteRecordMessage,
        Level,
        Type,
    )

    per_record.entrypoint_class()
    original = per_record._ORIGINAL["airbyte_message_to_string"]
    datas: list[Any] = [
        {"id": "trk_1", "reference": None, "details": [{"a": None}, None], "n": 1.5},
        {"a": None},
        {},
        {"when": datetime(2026, 12, 7, 2, 0, tzinfo=UTC), "big": 2**70, "nan": float("nan")},
        {"d": decimal.Decimal("1.5")},
        {1: "x", "y": None},
        {"t": (1, 2), "s": "\u2028\ud800"},
    ]
    messages = [
        AirbyteMessage(
            type=Type.RECORD,
            record=AirbyteRecordMessage(stream="s", data=data, emitted_at=1, namespace=space),
        )
        for data in datas
        for space in (None, "ns")
    ]
    messages.append(
        AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.INFO, message="hi"))
    )
    for message in messages:
        expected = _written(partial(original, message))
        assert _written(partial(per_record.message_to_string, message)) == expected, message


def _written(call: Any) -> Any:
    try:
        return call()
    except Exception as error:  # the error is the outcome compared
        return type(error), str(error)
