"""Key reconciliation: a deletion whose push was missed, found by listing the source's keys.

SAP S/4HANA says a sales order is gone only by pushing its ``SalesOrder.Deleted`` business
event, and EasyPost says nothing when a tracker is deleted; both simply serve the record no
more. A missed push would leave the record silently lingering. :func:`reconcile` lists
every key the source serves now (:data:`RECONCILED`; SAP: ``GET
A_SalesOrder?$select=SalesOrder&$inlinecount=allpages``, paged by the server's ``__next``
with ``$skiptoken``; EasyPost: ``GET /v2/trackers`` paged by ``before_id``), compares them
with the keys stored in the raw table that no version yet says are gone, reads each missing
key once more by itself (``GET A_SalesOrder('<key>')``, ``GET /v2/trackers/<id>``: only a
404 confirms it), and stores for each confirmed one a version of the record - its latest
stored version, its change time (``LastChangeDateTime``, ``updated_at``) the time of the
listing and :data:`RECONCILED_BY` that time - through the same loader as a sync (content
hash, quarantine rules, one extraction batch, no connector state moved). Staging reads the
flag as the record's deletion (``deletion_code`` ``missing_at_source`` of
``stg_erp__sales_orders`` and ``stg_tms__trackers``) and the crosswalk maps it to a flagged
event.

It never declares a deletion from a listing it cannot trust: an HTTP error, an answer not
shaped as documented, a listing cut short (fewer distinct keys than its ``__count``, or the
count changing between pages), zero keys while keys are stored, more than
``max_missing_share`` of the stored keys missing, or a missing key the source still serves
by itself all fail with :class:`ConnectorError` and store nothing. Run again, it stores
nothing new (a key with a deletion version is no longer compared). It holds the system's
sync lock, so no sync of the system runs meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg import sql

from connectors.batches import BatchResult
from connectors.catalog import ConnectorSpec, StreamSpec, get_connector
from connectors.deletions import DELETION_FLAGS, RECONCILED_BY
from connectors.errors import ConnectorError
from connectors.odata import odata_datetime
from connectors.probes import SourceSession, endpoint, render_template
from connectors.sync import Progress, load_batch, system_lock

#: At most this share of the stored keys may be missing before the listing is distrusted.
MAX_MISSING_SHARE = 0.5
#: A guard against a source that pages for ever.
MAX_PAGES = 100_000
_PAGE = 1000
_EASYPOST_PAGE = 100


@dataclass(frozen=True)
class Reconciliation:
    """What one reconciliation found and stored."""

    system: str
    stream: str
    listed: int
    stored: int
    missing: tuple[str, ...]
    batch: BatchResult | None


def _odata_keys(session: SourceSession, url: str, key: str) -> set[str]:
    """Every key the OData V2 entity set at ``url`` serves (see the module for the checks)."""
    params: dict[str, str] | None = {
        "$select": key, "$format": "json", "$inlinecount": "allpages", "$top": str(_PAGE),
    }  # fmt: skip
    keys: set[str] = set()
    count: str | None = None
    served = 0
    for _ in range(MAX_PAGES):
        response = session.client.get(url, params=params)
        response.raise_for_status()
        body = response.json()["d"]
        page = body["results"]
        if count is None:
            count = str(body["__count"])
        elif str(body["__count"]) != count:
            raise ValueError(f"the count changed while listing ({count}, then {body['__count']})")
        served += len(page)
        keys.update(str(record[key]) for record in page)
        url, params = body.get("__next"), None
        if not url:
            break
    else:
        raise ValueError(f"more than {MAX_PAGES} pages")
    if len(keys) != int(count) or served != int(count):
        raise ValueError(f"{len(keys)} distinct keys of {served} served, __count says {count}")
    return keys


def _odata_gone(session: SourceSession, url: str, key: str) -> bool:
    """Whether the entity of ``key`` is gone: 404 yes, 200 no, anything else an error."""
    response = session.client.get(f"{url}('{key}')", params={"$format": "json"})
    if response.status_code == 404:
        return True
    response.raise_for_status()
    return False


def _easypost_keys(session: SourceSession, url: str, key: str) -> set[str]:
    """Every tracker id EasyPost lists, newest first, paged by ``before_id``: a page that
    says more follow but is empty, or an id listed twice (the list shifted), is an error."""
    keys: set[str] = set()
    params: dict[str, str] = {"page_size": str(_EASYPOST_PAGE)}
    for _ in range(MAX_PAGES):
        response = session.client.get(url, params=params)
        response.raise_for_status()
        body = response.json()
        page = [str(tracker[key]) for tracker in body["trackers"]]
        if keys.intersection(page) or len(set(page)) != len(page):
            raise ValueError("a tracker was listed twice: the list moved while it was read")
        keys.update(page)
        if not body["has_more"]:
            return keys
        if not page:
            raise ValueError("an empty page says more trackers follow")
        params = {**params, "before_id": page[-1]}
    raise ValueError(f"more than {MAX_PAGES} pages")


def _easypost_gone(session: SourceSession, url: str, key: str) -> bool:
    """Whether the tracker ``key`` is gone: 404 yes, 200 no, anything else an error."""
    response = session.client.get(f"{url}/{key}")
    if response.status_code == 404:
        return True
    response.raise_for_status()
    return False


def _iso(moment: str) -> str:
    return moment


@dataclass(frozen=True)
class KeyListing:
    """How a system's keys are listed and a missing one confirmed, and how its records
    write a time."""

    stream: str
    keys: Callable[[SourceSession, str, str], set[str]]
    gone: Callable[[SourceSession, str, str], bool]
    time: Callable[[str], str]


#: The systems whose keys can be listed.
RECONCILED: dict[str, KeyListing] = {
    "erp": KeyListing("sales_orders", _odata_keys, _odata_gone, lambda t: odata_datetime(t) or t),
    "tms": KeyListing("trackers", _easypost_keys, _easypost_gone, _iso),
}


def stored_keys(conn: psycopg.Connection[Any], connector: ConnectorSpec, stream: str) -> set[str]:
    """The keys stored for ``stream`` that no version yet says are gone."""
    flags = sql.SQL(" or ").join(
        sql.SQL("data ? {}").format(sql.Literal(f)) for f in DELETION_FLAGS
    )
    query = sql.SQL("select record_key from {} group by record_key having not bool_or({})").format(
        sql.Identifier(connector.raw_schema, stream), flags
    )
    return {str(key) for (key,) in conn.execute(query)}


def _latest(conn: psycopg.Connection[Any], connector: ConnectorSpec, stream: StreamSpec,
            keys: list[str]) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each key's latest stored version (by cursor, then extraction time)."""
    query = sql.SQL(
        "select distinct on (record_key) record_key, data from {} where record_key = any(%s)"
        " order by record_key, cursor_value desc nulls last, extracted_at desc"
    ).format(sql.Identifier(connector.raw_schema, stream.name))
    return {str(key): dict(data) for key, data in conn.execute(query, (keys,))}


def gone_version(
    stream: StreamSpec, latest: Mapping[str, Any], at: datetime, time: Callable[[str], str]
) -> dict[str, Any]:
    """The version saying a record is gone: its latest, changed at ``at`` (written by
    ``time`` as the source writes it) and flagged."""
    moment = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record = {k: v for k, v in latest.items() if k not in (stream.cursor_field, *DELETION_FLAGS)}
    record[stream.source_cursor] = time(moment)
    return dict(stream.as_read({**record, RECONCILED_BY: moment}))


def reconcile(
    system: str,
    config: Mapping[str, Any],
    database_url: str,
    *,
    progress: Progress | None = None,
    max_missing_share: float = MAX_MISSING_SHARE,
) -> Reconciliation:
    """List ``system``'s keys, store a flagged version of each stored key gone (module)."""
    if system not in RECONCILED:
        raise ConnectorError(system, f"no key listing for {system}; known: {list(RECONCILED)}")
    connector = get_connector(system)
    listing = RECONCILED[system]
    stream = connector.stream(listing.stream)
    where = endpoint(connector, stream.name)
    with system_lock(system, database_url), psycopg.connect(database_url) as conn:
        stored = stored_keys(conn, connector, stream.name)
        session = SourceSession(where.authenticator, config)
        try:
            url = render_template(where.url, config)
            listed_at = datetime.now(UTC)
            listed = listing.keys(session, url, stream.primary_key)
            missing = sorted(stored - listed)
            if stored and not listed:
                raise ValueError(f"the source lists no key while {len(stored)} are stored")
            if stored and len(missing) > max_missing_share * len(stored):
                raise ValueError(
                    f"{len(missing)} of {len(stored)} stored keys missing: more than "
                    f"{max_missing_share:.0%}, so the listing is not trusted"
                )
            served = [key for key in missing if not listing.gone(session, url, key)]
            if served:
                raise ValueError(f"keys missing from the listing are still served: {served[:5]}")
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
            raise ConnectorError(
                system, f"key reconciliation failed: {error}", stream.name
            ) from error
        finally:
            session.close()
        if progress is not None:
            progress(f"{system}.{stream.name}: {len(listed)} keys listed, {len(stored)} stored,"
                     f" {len(missing)} gone without a deletion")  # fmt: skip
        if not missing:
            return Reconciliation(system, stream.name, len(listed), len(stored), (), None)
        latest = _latest(conn, connector, stream, missing)
        records = [gone_version(stream, latest[key], listed_at, listing.time) for key in missing]
        result = load_batch(database_url, connector, stream, records, None, progress)
    return Reconciliation(system, stream.name, len(listed), len(stored), tuple(missing), result)
