"""The sandbox's fixed world: SKUs, stores, regions, places, warehouses, carriers, hubs.

Plain data, no randomness: the scenario draws from these tables with its own seeded
random generator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sku:
    """A product: code, unit net price in cents and how popular it is."""

    code: str
    price_cents: int
    popularity: float


@dataclass(frozen=True, slots=True)
class Place:
    """A ship-to place: ISO country, subdivision code (``ShipToRegion``), city, zip."""

    country: str
    region: str
    city: str
    zip: str


@dataclass(frozen=True, slots=True)
class Store:
    """A store: id (``SalesOffice``), sales region (``SalesDistrict``), its city, demand weight."""

    store_id: str
    region: str
    home: Place
    weight: float


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A warehouse: code, where it is and its Odoo stock location ids."""

    code: str
    place: Place
    stock_location: int
    pack_location: int
    output_location: int


SKUS: tuple[Sku, ...] = (
    Sku("SKU-001", 1999, 1.6),
    Sku("SKU-002", 2450, 1.2),
    Sku("SKU-003", 995, 2.0),
    Sku("SKU-004", 4900, 0.7),
    Sku("SKU-005", 1475, 1.0),
    Sku("SKU-006", 8990, 0.4),
    Sku("SKU-007", 499, 1.8),
    Sku("SKU-008", 3420, 0.8),
)

REGIONS: tuple[str, ...] = ("NORTH", "SOUTH", "EAST", "WEST")

#: Where customers of each sales region live.
PLACES: dict[str, tuple[Place, ...]] = {
    "NORTH": (
        Place("DE", "HH", "Hamburg", "20095"),
        Place("DE", "BE", "Berlin", "10115"),
        Place("NL", "NH", "Amsterdam", "1012"),
        Place("DK", "84", "Copenhagen", "1050"),
    ),
    "SOUTH": (
        Place("IT", "25", "Milan", "20121"),
        Place("ES", "MD", "Madrid", "28001"),
        Place("DE", "BY", "Munich", "80331"),
    ),
    "EAST": (
        Place("AT", "9", "Vienna", "1010"),
        Place("PL", "MZ", "Warsaw", "00-001"),
        Place("CZ", "10", "Prague", "110 00"),
    ),
    "WEST": (
        Place("FR", "IDF", "Paris", "75001"),
        Place("FR", "ARA", "Lyon", "69001"),
        Place("BE", "BRU", "Brussels", "1000"),
    ),
}

#: Six stores in four regions; ``weight`` scales a store's demand.
STORES: tuple[Store, ...] = (
    Store("S01", "NORTH", PLACES["NORTH"][0], 1.3),
    Store("S02", "NORTH", PLACES["NORTH"][1], 1.0),
    Store("S03", "SOUTH", PLACES["SOUTH"][0], 0.9),
    Store("S04", "EAST", PLACES["EAST"][0], 0.7),
    Store("S05", "WEST", PLACES["WEST"][0], 1.2),
    Store("S06", "WEST", PLACES["WEST"][1], 0.8),
)

#: Per store, how much more or less than average each SKU sells (index = SKU position).
STORE_SKU_TILT: dict[str, tuple[float, ...]] = {
    "S01": (1.2, 1.0, 0.9, 1.1, 1.0, 1.3, 0.8, 1.0),
    "S02": (1.0, 1.2, 1.0, 0.9, 1.1, 0.8, 1.0, 1.2),
    "S03": (0.8, 1.0, 1.3, 1.0, 0.9, 1.0, 1.2, 0.9),
    "S04": (1.0, 0.9, 1.1, 1.2, 1.0, 0.7, 1.1, 1.0),
    "S05": (1.1, 1.1, 0.9, 1.0, 1.2, 1.2, 0.9, 1.1),
    "S06": (0.9, 1.0, 1.0, 0.8, 1.0, 0.9, 1.3, 0.8),
}

WAREHOUSES: dict[str, Warehouse] = {
    "WH1": Warehouse("WH1", Place("DE", "HE", "Kassel", "34117"), 8, 9, 10),
    "WH2": Warehouse("WH2", Place("FR", "BFC", "Dijon", "21000"), 18, 19, 20),
}
#: The third-party logistics provider operating each warehouse: a warehouse delivery no carrier
#: carries yet is handled by it (the product's seed dbt_project/seeds/partners.csv knows them).
WAREHOUSE_OPERATORS: dict[str, str] = {"WH1": "NORDLOG", "WH2": "SAONELOG"}
#: Which warehouse usually serves a region (the other one sometimes does).
HOME_WAREHOUSE: dict[str, str] = {"NORTH": "WH1", "EAST": "WH1", "SOUTH": "WH2", "WEST": "WH2"}
#: Odoo's partner location that every delivery order ships to.
CUSTOMERS_LOCATION: tuple[int, str] = (5, "Partners/Customers")

#: Demand by weekday (Monday first): Saturday peaks, Sunday is quiet.
WEEKDAY_FACTOR: tuple[float, ...] = (1.0, 0.95, 1.0, 1.1, 1.3, 1.6, 0.55)
#: Demand grows by this fraction over the 120 days.
TREND: float = 0.25
#: Relative order intake by hour of the day (UTC).
HOUR_WEIGHTS: tuple[float, ...] = (
    1.0, 0.5, 0.3, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 5.0,
    5.0, 5.0, 5.0, 5.0, 5.0, 5.5, 6.0, 7.0, 7.0, 6.0, 4.0, 2.0,
)  # fmt: skip
#: Lines per order (1-4) and units per line (1-4).
ITEM_COUNT_WEIGHTS: tuple[float, ...] = (0.45, 0.3, 0.15, 0.1)
QUANTITY_WEIGHTS: tuple[float, ...] = (0.55, 0.3, 0.1, 0.05)

CARRIERS: tuple[str, ...] = ("UPS", "DHL", "USPS")
CARRIER_WEIGHTS: tuple[float, ...] = (0.45, 0.4, 0.15)

#: Carrier hubs a parcel passes on its way.
HUBS: tuple[Place, ...] = (
    Place("DE", "NW", "Cologne", "50667"),
    Place("DE", "SN", "Leipzig", "04103"),
    Place("FR", "IDF", "Roissy-en-France", "95700"),
    Place("BE", "VLG", "Liege", "4000"),
    Place("NL", "NH", "Hoofddorp", "2132"),
    Place("IT", "25", "Bergamo", "24121"),
)

FIRST_NAMES: tuple[str, ...] = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Karla", "Luca", "Mia", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tara", "Yusuf",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Jansen",
    "Kowalski", "Lambert", "Moreau", "Novak", "Rossi", "Schmidt", "Weber", "Zielinski",
)  # fmt: skip
