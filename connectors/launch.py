"""``python -m connectors.launch <spec|check|discover|read> ...``: airbyte-cdk's declarative
launcher, with exact shortcuts.

This is ``source-declarative-manifest`` (the same ``run()`` entry point, the same arguments,
the same Airbyte protocol on stdout), with these changes made before it starts:

- ``dpath.get``, which airbyte-cdk's ``DpathExtractor`` calls once per page to find the records
  (``d.results``, ``records``, ``data``, ``trackers``), answers a plain path by following it
  instead of folding over every value of the page (30-70 µs per record, a third of a TMS read;
  airbyte-cdk's own ``RecordExpander`` notes the same cost). Only when every segment is a
  glob-free string naming a key of a mapping, where ``dpath.get`` can only return that value;
  anything else (wildcards, list indexes, a missing key) goes to ``dpath.get`` itself.
- A page is parsed once. airbyte-cdk parses each page three times: the record extractor and
  the paginator each through ``JsonDecoder`` (orjson, with a fallback to ``json``), and every
  ``HttpResponseFilter`` predicate through ``requests.Response.json`` (``json``): 2.6 ms of a
  190 KB TMS page against 0.4 ms for one orjson parse. Here the first of them parses the body
  with orjson and keeps the result on the response; the others read it. A body orjson refuses
  (not UTF-8, NaN, lone surrogates, not JSON), and any answer but an object or a non-empty
  list, goes to the original code. The one difference: a predicate sees an integer beyond 64
  bits as the extractor and paginator always have (orjson: a float), not as ``json``'s int;
  no manifest's predicate reads a number. Sharing one parsed page is exact while nothing
  changes what the paging reads in place: no manifest normalizes records or transforms them
  but the ERP's ``AddFields``, whose added field no predicate and no paginator reads
  (``tests/connectors/test_manifests.py`` checks both).
- The ERP manifest's ``AddFields``, which writes ``LastChangeDateTime_utc`` from SAP's
  ``/Date(ms+0000)/`` with a Jinja template (about 60 µs a record, the ERP's largest cost), is
  built as :class:`OdataCursorField`, which calls :func:`connectors.odata.iso_utc` (about 4 µs).
  Only an ``AddFields`` that is, to the text, ``manifests/erp.yaml``'s (``test_manifests.py``
  holds that template and ``iso_utc`` to the same text); any other is airbyte-cdk's. The
  manifest stays plain YAML that ``source-declarative-manifest`` and an Airbyte server run (a
  ``class_name`` component would need ``AIRBYTE_ENABLE_UNSAFE_CODE``); the same step in the
  same place: the record selector transforms a record before the cursor observes it.
- ``DatetimeParser.parse``, which the cursor calls for every record (the TMS's client-side
  filter once more), answers the formats the cursors read, ``%Y-%m-%dT%H:%M:%SZ``,
  ``%Y-%m-%dT%H:%M:%S.%f%z`` for a value ending in ``Z`` and Odoo's ``%Y-%m-%d %H:%M:%S``,
  from the digits (:func:`parse`, about 1.5 µs) instead of ``strptime`` (about 7 µs;
  ``bench/cursor_fields.py`` measures both). An Odoo datetime tried against a format with a
  literal ``T`` (the WMS cursor tries the ISO 8601 formats first) gets the ``ValueError``
  strptime would raise, without strptime: a value holding no ``T`` cannot match it. Only a
  value with exactly those fixed-width digits is answered; anything else (another format, a
  one-digit month, an offset other than ``Z``, an impossible date) goes to ``strptime``.
- Importing airbyte-cdk builds a serpyco_rs ``Serializer`` per protocol model with its JSON
  schema, reading every field's docstring from source (:func:`skip_attribute_docs`): about a
  second of each start. Here the schema waits for ``Serializer.get_json_schema`` (which no
  connector calls) and has no descriptions; what a serializer writes does not depend on it.
- The ERP's, the TMS's and the WMS's paging checks (response-filter predicates) and the ERP's
  and the TMS's paginator cursor value and stop condition, each a Jinja template rendered
  once a page, are answered in Python where the template is the manifest's own
  (:mod:`connectors.predicates`, :mod:`connectors.erp_paging`), and
  requests skips its cookie jars when no cookie is held or set (:mod:`connectors.cookies`).
- Per record, a slice's hash is kept, the cursor's upper bound (now) asked again only for a
  record beyond the last answer, and a RECORD message written without serpyco_rs
  (:mod:`connectors.per_record`); per page, the TMS's request parameters and requests'
  environment settings are kept (:mod:`connectors.per_page`); a finished read exits at once
  (``process.end_now``).

``tests/connectors/test_manifests.py`` reads every manifest through both launchers and compares
the messages.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dpath
import orjson
import requests

from connectors import cookies, per_page, per_record, process
from connectors.manifest_files import system_manifest
from connectors.odata import ERP_CURSOR, iso_utc

_GLOB = ("*", "?", "[", "]")
_dpath_get = dpath.get
_response_json = requests.Response.json
#: Where a response keeps its parsed body (an attribute requests does not use).
_PARSED = "_orderhub_parsed_body"
#: Kept on a response whose body orjson refuses: the original code decides.
_REFUSED = object()
#: airbyte-cdk's own functions the shortcuts fall back on, kept when first needed.
_ORIGINAL: dict[str, Any] = {}


def fast_get(obj: Any, glob: Any, separator: str = "/", default: Any = ...) -> Any:
    """``dpath.get`` for a list of plain keys, without walking the whole document."""
    if isinstance(glob, Sequence) and not isinstance(glob, str) and glob:
        value = obj
        for segment in glob:
            if (
                not isinstance(segment, str)
                or any(char in segment for char in _GLOB)
                or not isinstance(value, Mapping)
                or segment not in value
            ):
                break
            value = value[segment]
        else:
            return value
    if default is ...:
        return _dpath_get(obj, glob, separator)
    return _dpath_get(obj, glob, separator, default)


def parsed_body(response: requests.Response) -> Any:
    """The response's body parsed by orjson once (``_REFUSED`` if orjson refuses it)."""
    try:
        return response.__dict__[_PARSED]
    except KeyError:
        pass
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = _REFUSED
    response.__dict__[_PARSED] = body
    return body


def response_json(self: requests.Response, **kwargs: Any) -> Any:
    """``requests.Response.json`` answered from :func:`parsed_body`: the page as the record
    extractor sees it (an integer beyond 64 bits is a float there, as in the records)."""
    body = parsed_body(self) if not kwargs else _REFUSED
    if body is _REFUSED:
        return _response_json(self)
    return body


def json_decoder_decode(self: Any, response: requests.Response) -> Iterator[Any]:
    """``JsonDecoder.decode`` answered from :func:`parsed_body` for an object or a non-empty
    list (whose elements it yields); anything else goes to ``JsonDecoder.decode`` itself."""
    body = parsed_body(response) if not self.is_stream_response() else _REFUSED
    if isinstance(body, dict):
        yield body
    elif isinstance(body, list) and body:
        yield from body
    else:
        yield from _ORIGINAL["JsonDecoder.decode"](self, response)


def json_decoder_class() -> Any:
    """airbyte-cdk's ``JsonDecoder``, with what the original ``decode`` is kept aside.

    Imported on first use: importing airbyte-cdk configures the importing process's logging
    (an Airbyte-message handler on stdout), which only the connector process should get."""
    from airbyte_cdk.sources.declarative.decoders.json_decoder import JsonDecoder

    _ORIGINAL.setdefault("JsonDecoder.decode", JsonDecoder.decode)
    return JsonDecoder


class OdataCursorField:
    """The ERP manifest's ``AddFields`` in Python: ``LastChangeDateTime_utc`` is
    :func:`connectors.odata.iso_utc` of ``LastChangeDateTime``, left out when that is None
    (the template's condition: a non-empty string)."""

    source_field = "LastChangeDateTime"

    def transform(
        self,
        record: dict[str, Any],
        config: Any = None,
        stream_state: Any = None,
        stream_slice: Any = None,
    ) -> None:
        value = iso_utc(record.get(self.source_field))
        if value:
            record[ERP_CURSOR] = value


def erp_cursor_field() -> dict[str, Any]:
    """The ERP manifest's ``AddFields`` (the one that writes ``ERP_CURSOR``), as its YAML says."""
    (stream,) = system_manifest("erp")["streams"]
    (added,) = stream["transformations"]
    found: dict[str, Any] = added
    return found


def is_erp_cursor_field(model: Any) -> bool:
    """Whether an ``AddFields`` model is exactly the ERP manifest's (one field, same path,
    value type, template and condition, no parameters that could change the template)."""
    expected = erp_cursor_field()
    (field,) = expected["fields"]
    fields = list(model.fields or [])
    return (
        len(fields) == 1
        and list(fields[0].path) == [ERP_CURSOR] == field["path"]
        and fields[0].value == field["value"]
        and getattr(fields[0].value_type, "value", None) == field["value_type"]
        and (model.condition or "") == expected["condition"]
    )


def create_add_fields(self: Any, model: Any, config: Any, **kwargs: Any) -> Any:
    """``ModelToComponentFactory.create_add_fields``, building the ERP manifest's ``AddFields``
    as :class:`OdataCursorField`; any other one as airbyte-cdk does."""
    if is_erp_cursor_field(model):
        return OdataCursorField()
    return _ORIGINAL["create_add_fields"](self, model, config, **kwargs)


def create_http_response_filter(model: Any, config: Any, **kwargs: Any) -> Any:
    """``ModelToComponentFactory.create_http_response_filter``, with a predicate of the ERP's,
    the TMS's or the WMS's manifest answered in Python (:mod:`connectors.predicates`)."""
    from connectors.predicates import page_check

    built = _ORIGINAL["create_http_response_filter"](model, config, **kwargs)
    built.predicate = page_check(built.predicate)
    return built


def create_cursor_pagination(self: Any, model: Any, config: Any, **kwargs: Any) -> Any:
    """``create_cursor_pagination``, the TMS's and the ERP's answered in Python
    (``predicates.paging``)."""
    from connectors.predicates import paging

    return paging(_ORIGINAL["create_cursor_pagination"](self, model, config, **kwargs))


def component_factory_class() -> Any:
    """airbyte-cdk's ``ModelToComponentFactory``, its own ``create_add_fields`` kept aside
    (imported on first use, like :func:`json_decoder_class`)."""
    from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import (
        ModelToComponentFactory,
    )

    _ORIGINAL.setdefault("create_add_fields", ModelToComponentFactory.create_add_fields)
    _ORIGINAL.setdefault(
        "create_http_response_filter", ModelToComponentFactory.create_http_response_filter
    )
    _ORIGINAL.setdefault(
        "create_cursor_pagination", ModelToComponentFactory.create_cursor_pagination
    )
    return ModelToComponentFactory


#: The fixed-width ISO 8601 UTC instants :func:`parse` answers, per strptime format.
_INSTANTS = {
    "%Y-%m-%dT%H:%M:%SZ": re.compile(
        r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})()Z", re.ASCII
    ),
    "%Y-%m-%dT%H:%M:%S.%f%z": re.compile(
        r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})[.]([0-9]{1,6})Z",
        re.ASCII,
    ),
    # Odoo's datetimes (UTC, no zone): strptime gives a naive datetime, which
    # DatetimeParser.parse makes UTC
    "%Y-%m-%d %H:%M:%S": re.compile(
        r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})()", re.ASCII
    ),
}
#: The formats of :data:`_INSTANTS` with a literal ``T``: strptime (case-insensitive) cannot
#: match a value holding neither ``T`` nor ``t`` to them.
_NEEDS_T = frozenset(f for f in _INSTANTS if "T" in f)


#: The last instant :func:`parse` answered from the digits: (text, format, datetime). The
#: cursor parses each record's value twice (its filter, then ``observe``), one after the other.
_LAST_PARSED: tuple[Any, str, datetime] | None = None


def parse(self: Any, date: Any, format: str) -> datetime:
    """``DatetimeParser.parse`` answered from the digits for a fixed-width UTC instant in
    one of :data:`_INSTANTS`' formats (what ``strptime`` makes of it: the same fields, the
    fraction right-padded to microseconds, ``timezone.utc``; the same text in the same format
    as the call before is given the same, immutable, datetime again); anything else as
    before."""
    global _LAST_PARSED
    last = _LAST_PARSED
    if last is not None and type(date) is str and last[0] == date and last[1] == format:
        return last[2]
    pattern = _INSTANTS.get(format)
    found = pattern.fullmatch(date) if pattern is not None and type(date) is str else None
    if found is not None:
        year, month, day, hour, minute, second, fraction = found.groups()
        try:
            parsed = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                int(fraction.ljust(6, "0")),
                UTC,
            )
            _LAST_PARSED = (date, format, parsed)
            return parsed
        except ValueError:
            pass  # an impossible date: strptime says so in its own words
    elif format in _NEEDS_T and type(date) is str and "T" not in date and "t" not in date:
        # what strptime raises (the cursor tries its next format): an Odoo datetime is tried
        # against the ISO 8601 formats first, and strptime's failure costs about 5 µs
        raise ValueError(f"time data {date!r} does not match format {format!r}")
    result: datetime = _ORIGINAL["DatetimeParser.parse"](self, date, format)
    return result


def datetime_parser_class() -> Any:
    """airbyte-cdk's ``DatetimeParser``, its own ``parse`` kept aside (imported on first use)."""
    from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser

    _ORIGINAL.setdefault("DatetimeParser.parse", DatetimeParser.parse)
    return DatetimeParser


def no_attribute_docs(cls: type) -> dict[str, str]:
    """serpyco_rs's per-field descriptions of a class: none (see :func:`skip_attribute_docs`)."""
    return {}


def skip_attribute_docs() -> None:
    """Build airbyte-cdk's protocol serializers without their fields' descriptions.

    Importing airbyte-cdk builds a serpyco_rs ``Serializer`` per Airbyte protocol model, and
    serpyco_rs reads each dataclass field's docstring from the class's source (``inspect``
    and ``ast.parse`` of the module, ``attributes_doc``): about half a second of every
    connector start. Those docstrings only become ``description`` strings of the serializer's
    JSON schema (``Serializer.get_json_schema``), which nothing in a connector reads; what a
    serializer writes and accepts does not depend on them. Must run before airbyte-cdk is
    imported."""
    import serpyco_rs._describe as describe
    import serpyco_rs._main as serializers

    describe.get_attributes_doc = no_attribute_docs
    _ORIGINAL.setdefault("get_json_schema", serializers.get_json_schema)
    serializers.get_json_schema = _schema_later
    serializers.Serializer.get_json_schema = serializer_json_schema


#: A serializer's JSON schema not built yet (:func:`serializer_json_schema` builds it).
_LATER: Any = object()


def _schema_later(type_info: Any) -> Any:
    return _LATER


def serializer_json_schema(self: Any) -> Any:
    """``Serializer.get_json_schema``: the schema, built on the first call instead of when the
    serializer is built (nothing in a connector asks for it)."""
    if self._schema is _LATER:
        self._schema = _ORIGINAL["get_json_schema"](self._type_info)
    return self._schema


def install_shortcuts() -> None:
    """Make this process's airbyte-cdk use the shortcuts (idempotent)."""
    skip_attribute_docs()
    cookies.install()
    dpath.get = fast_get
    requests.Response.json = response_json  # type: ignore[method-assign]
    json_decoder_class().decode = json_decoder_decode
    factory = component_factory_class()
    factory.create_add_fields = create_add_fields
    factory.create_http_response_filter = staticmethod(create_http_response_filter)
    factory.create_cursor_pagination = create_cursor_pagination
    datetime_parser_class().parse = parse
    per_record.install()
    per_page.install()


def main() -> int:
    """Install the shortcuts and run airbyte-cdk's ``source-declarative-manifest``."""
    install_shortcuts()
    from airbyte_cdk.cli.source_declarative_manifest import run

    sys.argv[0] = "source-declarative-manifest"
    result: Any = run()
    return int(result or 0)


if __name__ == "__main__":
    process.end_now(main())  # a failure raises: Python's usual exit, traceback and all
