"""The WMS's stock: warehouses with their locations, Odoo ``stock.quant`` records, and the
replenishment transfers and carrier capacity reservations written back to the sandbox.

Plain data and a small thread-safe book, no HTTP: Odoo's ``stock.quant`` and
``stock.warehouse`` are served by the WMS's JSON-RPC (:mod:`sandbox.apis.wms`) from the store
tables :meth:`StockBook.refresh` derives; the write-back routes are :mod:`sandbox.apis.stock`.
Datetimes are Odoo's (``2026-10-03 14:05:09``, UTC).
The stock is derived, deterministically, from the WMS's own deliveries in the store: per
warehouse and SKU, the units shipped in the last 28 days give a daily rate, and the quantity on
hand covers that rate for 2-11 days (a fixed hash picks how many), so some quants run short;
``reserved_quantity`` is what open deliveries of that warehouse still hold (kept up as the
pickings change, :mod:`sandbox.quant_tally`, not walked again at each read). A warehouse
without the cold chain keeps no chilled SKU. WH3 (Verona) is a site the deliveries do not
use yet: it holds half the network's average.

Write-backs are idempotent by key: the same key with the same body answers the first result
again (``replayed``), the same key with another body is refused (409).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.catalog import SKUS
from sandbox.changelog import Taken
from sandbox.clock import odoo, parse_instant
from sandbox.quant_tally import QuantTally, keep_up
from sandbox.store import SandboxStore

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Site:
    """A warehouse as the WMS describes it: code, name, where, cold chain, operator, locations."""

    warehouse_id: int
    code: str
    name: str
    city: str
    country: str
    latitude: float
    longitude: float
    cold_chain: bool
    operator: str
    stock_location: int


SITES: tuple[Site, ...] = (
    Site(1, "WH1", "Warehouse Kassel", "Kassel", "DE", 51.3127, 9.4797, True, "NORDLOG", 8),
    Site(2, "WH2", "Warehouse Dijon", "Dijon", "FR", 47.3220, 5.0415, False, "SAONELOG", 18),
    Site(3, "WH3", "Warehouse Verona", "Verona", "IT", 45.4384, 10.9916, True, "ADIGELOG", 28),
)
#: The SKUs kept at 2-7 °C (the product's seed product_catalog.csv says the same by category).
CHILLED_SKUS: frozenset[str] = frozenset({"SKU-003", "SKU-005", "SKU-007"})
#: Odoo's partner location replenishment receipts come from.
VENDORS_LOCATION: tuple[int, str] = (4, "Partners/Vendors")
RATE_DAYS = 28
_DAY = 86_400


def _locations(site: Site) -> list[list[Any]]:
    base = site.stock_location
    return [
        [base, f"{site.code}/Stock"],
        [base + 1, f"{site.code}/Pack"],
        [base + 2, f"{site.code}/Output"],
    ]


def warehouse_record(site: Site, written: str) -> Record:
    """An Odoo ``stock.warehouse`` with its partner's coordinates and two custom fields."""
    return {
        "id": site.warehouse_id,
        "name": site.name,
        "code": site.code,
        "lot_stock_id": _locations(site)[0],
        "location_ids": _locations(site),
        "partner_city": site.city,
        "partner_country_code": site.country,
        "partner_latitude": site.latitude,
        "partner_longitude": site.longitude,
        "x_cold_chain": site.cold_chain,
        "x_operator": site.operator,
        "active": True,  # Odoo archives a warehouse by active = false
        "write_date": written,
    }


def _cover_days(code: str, sku: str) -> int:
    digest = hashlib.sha256(f"{code}:{sku}".encode()).digest()
    return 2 + digest[0] % 10


def _deliveries(store: SandboxStore) -> Iterator[Record]:
    return (r for r in store.iter_records("wms") if r.get("picking_type_code") == "OUT")


#: What stands for the pickings' last ``write_date`` when there are none.
_NO_PICKINGS = "2026-01-01T00:00:00Z"


def _as_of(store: SandboxStore) -> int:
    """The last ``write_date`` of the WMS's pickings (the store sorts them by it)."""
    return int(parse_instant(store.last_cursor("wms") or _NO_PICKINGS))


def warehouse_records(now: int) -> list[Record]:
    """Every site's ``stock.warehouse``, written at ``now``."""
    written = odoo(now)
    return [warehouse_record(site, written) for site in SITES]


def _sums_of_every_picking(
    store: SandboxStore, now: int
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Per (warehouse, SKU): units shipped in the rate window, units open deliveries hold."""
    shipped: dict[tuple[str, str], float] = {}
    reserved: dict[tuple[str, str], float] = {}
    for picking in _deliveries(store):
        if not isinstance(picking.get("create_date"), str):
            continue  # a delivery without its creation date says nothing about the rate
        created = parse_instant(picking["create_date"])
        for move in picking.get("move_ids") or []:
            key = (str(picking.get("warehouse")), str(move.get("product")))
            units = float(move.get("quantity") or 0.0)
            if now - RATE_DAYS * _DAY <= created <= now:
                shipped[key] = shipped.get(key, 0.0) + units
            if picking.get("state") not in {"done", "cancel"}:
                reserved[key] = reserved.get(key, 0.0) + units
    return shipped, reserved


def quant_records(store: SandboxStore) -> list[Record]:
    """The ``stock.quant`` records of every site and SKU the site may keep, from every
    picking (what :meth:`StockBook.refresh` keeps up with incrementally)."""
    now = _as_of(store)
    return quants_of(*_sums_of_every_picking(store, now), now)


def quants_of(
    shipped: Mapping[tuple[str, str], float], reserved: Mapping[tuple[str, str], float], now: int
) -> list[Record]:
    """The ``stock.quant`` records, in site then SKU order, for the units ``shipped`` in the
    rate window and ``reserved`` per (warehouse, SKU), as of ``now``."""
    records: list[Record] = []
    for site in SITES:
        for number, sku in enumerate((s.code for s in SKUS), start=1):
            if sku in CHILLED_SKUS and not site.cold_chain:
                continue
            rate = shipped.get((site.code, sku), 0.0) / RATE_DAYS
            if site.code == "WH3":
                rate = 0.5 * sum(shipped.get((c, sku), 0.0) for c in ("WH1", "WH2")) / RATE_DAYS / 2
            held = reserved.get((site.code, sku), 0.0)
            on_hand = max(held, float(math.ceil(rate * _cover_days(site.code, sku))))
            records.append(
                {
                    "id": site.warehouse_id * 100 + number,
                    "product_id": [number, sku],
                    "location_id": _locations(site)[0],
                    "warehouse_id": [site.warehouse_id, site.code],
                    "quantity": on_hand,
                    "reserved_quantity": held,
                    "lot_id": False,
                    "in_date": odoo(now - 7 * _DAY),
                    "write_date": odoo(now),
                }
            )
    return records


class IdempotencyConflict(ValueError):
    """An idempotency key reused with another body."""


class StockBook:
    """The stock the WMS serves and what the product wrote back (transfers, reservations)."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._written: dict[str, dict[str, tuple[str, Record]]] = {"transfers": {}, "capacity": {}}
        self._derived_from: int | None = None
        self._derive_lock = threading.Lock()
        self._log = store.watch("wms")
        self._tally: QuantTally | None = None

    def refresh(self) -> None:
        """Bring the store's ``wms_quants`` and ``wms_warehouses`` tables (what Odoo's
        ``stock.quant`` and ``stock.warehouse`` serve) up to the pickings, if they changed.

        The first call walks every picking; later ones redo the pickings changed since
        (:mod:`sandbox.quant_tally`) and serve what :func:`quant_records` would. Measured at
        100,000 orders (285,744 pickings, 2 shared cores; a scratch script playing
        ``Scenario(orders=100000, seed=7, moves=0.01)``'s rounds 2 and 3 into the store, 1,050
        pickings upserted each, the clock moved to the wall clock): 4.39 and 3.93 s when
        every picking was built and summed again, 0.017 and 0.007 s kept up (one picking
        changed: 0.5 ms); the first call walks as before (3.9-4.1 s).
        """
        with self._derive_lock:
            taken = self.store.take("wms", self._log)
            if taken.version == self._derived_from and taken.entries is None:
                return
            now = int(parse_instant(taken.last_cursor or _NO_PICKINGS))
            self.store.replace("wms_quants", self._quants(taken, now))
            self.store.replace("wms_warehouses", warehouse_records(now))
            self._derived_from = taken.version

    def _quants(self, taken: Taken, now: int) -> list[Record]:
        try:
            self._tally = tally = keep_up(self._tally, taken, RATE_DAYS * _DAY)
        except Exception:  # a picking the sums cannot read: start again from every picking
            self._tally, self._log = None, self.store.watch("wms")
            return quant_records(self.store)
        if tally.inexact:  # a fractional quantity or second: float sums depend on the order
            return quant_records(self.store)
        return quants_of(*tally.sums(now), now)

    def quants(self) -> list[Record]:
        """Every quant derived anew from every picking (:func:`quant_records`)."""
        return quant_records(self.store)

    def warehouses(self) -> list[Record]:
        return warehouse_records(_as_of(self.store))

    def created(self, kind: str) -> list[Record]:
        """Every transfer (``transfers``) or reservation (``capacity``) created, in order."""
        with self._lock:
            return [record for _, record in self._written[kind].values()]

    def create(self, kind: str, key: str, body: Record, make: Any) -> tuple[Record, bool]:
        """The record ``make(number)`` builds for ``body`` under idempotency ``key``, and
        whether it is new; the same key with the same body answers the first record again."""
        fingerprint = json.dumps(body, sort_keys=True)
        with self._lock:
            known = self._written[kind].get(key)
            if known is not None:
                if known[0] != fingerprint:
                    raise IdempotencyConflict(key)
                return known[1], False
            record = make(len(self._written[kind]) + 1)
            self._written[kind][key] = (fingerprint, record)
            return record, True


def site_by_code(code: str) -> Site | None:
    """The site with warehouse code ``code``."""
    return next((site for site in SITES if site.code == code), None)
