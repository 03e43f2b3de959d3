"""Load daily demand from the warehouse into a dense panel, and fingerprint it.

The mart ``marts.fct_daily_demand`` holds one row per SKU x store x day that had
orders; a missing day means zero units. :func:`build_panel` turns those rows into
the long, dense frame the models use (``unique_id``, ``ds``, ``y``), one row per
series and day over the table's whole date range. :func:`snapshot_hash` names the
exact rows a model was trained on (SHA-256 over the sorted canonical rows), so the
provenance of a forecast can point at its data.

Two columns are read when the mart has them (:data:`OPTIONAL_COLUMNS`): ``country`` (the
store's country, for its public holidays; :data:`ml.calendar.DEFAULT_COUNTRY` otherwise)
and ``on_promotion`` (some line of that SKU, store and day was on promotion), which
becomes the panel's ``promo`` matrix (0 on days without a row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ml.calendar import DEFAULT_COUNTRY
from ml.errors import ForecastError

#: The warehouse table the forecast reads (built by the dbt model of the same name).
DEMAND_TABLE = "marts.fct_daily_demand"
#: Columns read from it.
DEMAND_COLUMNS = ("sku", "store_id", "region", "demand_date", "units")
#: Columns read when the table has them.
OPTIONAL_COLUMNS = ("country", "on_promotion")
#: Shortest history (days from the first to the last date in the table) worth forecasting.
MIN_HISTORY_DAYS = 28
#: Separator between SKU and store in a series id.
ID_SEPARATOR = "|"
#: Version of the canonical row encoding that :func:`snapshot_hash` hashes.
HASH_FORMAT = "orderhub.fct_daily_demand.v1"
#: The same, for rows that carry :data:`OPTIONAL_COLUMNS` (appended to each line).
HASH_FORMAT_WITH_OPTIONAL = "orderhub.fct_daily_demand.v2"


@dataclass(frozen=True)
class DemandPanel:
    """Dense daily demand: every series on every day from ``start`` to ``end``.

    ``frame`` has columns ``unique_id`` (``"<sku>|<store_id>"``), ``ds`` (datetime64)
    and ``y`` (float), sorted by id and day. ``series`` maps each ``unique_id`` to
    its ``sku``, ``store_id``, ``region`` and ``country``. ``promo`` (series x days,
    in ``series`` order) is 1 where some line was on promotion, or None when the data
    has no promotion flags.
    """

    frame: pd.DataFrame
    series: pd.DataFrame
    start: date
    end: date
    snapshot_hash: str
    source_rows: int
    promo: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        """Demand as a (series x days) matrix, rows in ``series`` order (a view of frame)."""
        return self.frame["y"].to_numpy().reshape(self.n_series, self.n_days)

    @property
    def n_series(self) -> int:
        return len(self.series)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1


def series_id(sku: str, store_id: str) -> str:
    """The panel's id of one SKU x store series."""
    return f"{sku}{ID_SEPARATOR}{store_id}"


def _table_identifier(table: str) -> sql.Composable:
    return sql.Identifier(*table.split("."))


def read_demand(
    conn: psycopg.Connection,
    table: str = DEMAND_TABLE,
    *,
    through: date | None = None,
    only: date | None = None,
) -> pd.DataFrame:
    """All rows of the demand table, as loaded (``units`` as :class:`~decimal.Decimal`);
    with ``through`` only the days up to it (the as-of cut), with ``only`` that one day.

    Raises :class:`ForecastError` naming the table when it does not exist, lacks a
    column, or holds a row without key, date or units. :data:`OPTIONAL_COLUMNS` the
    table has are read too.
    """
    found = conn.execute("select to_regclass(%s)", (table,)).fetchone()
    if found is None or found[0] is None:
        raise ForecastError(
            f"the demand table {table} does not exist; build it first (dbt model fct_daily_demand)"
        )
    schema, name = table.split(".")
    present = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            (schema, name),
        ).fetchall()
    }
    optional = [c for c in OPTIONAL_COLUMNS if c in present]
    query = sql.SQL(
        "select {cols} from {table} where (%(through)s::date is null or demand_date <= %(through)s)"
        " and (%(only)s::date is null or demand_date = %(only)s)"
    ).format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in (*DEMAND_COLUMNS, *optional)),
        table=_table_identifier(table),
    )
    try:
        with conn.cursor() as cur:
            cur.execute(query, {"through": through, "only": only})
            rows = cur.fetchall()
    except psycopg.errors.UndefinedColumn as exc:
        raise ForecastError(
            f"the demand table {table} lacks a column: {exc.diag.message_primary}; "
            f"expected {', '.join(DEMAND_COLUMNS)}"
        ) from exc
    raw = pd.DataFrame(rows, columns=[*DEMAND_COLUMNS, *optional])
    incomplete = int(raw[list(DEMAND_COLUMNS)].isna().any(axis=1).sum())
    if incomplete:
        raise ForecastError(
            f"the demand table {table} has {incomplete} row(s) with an empty "
            f"{', '.join(DEMAND_COLUMNS)} value"
        )
    return raw


def _canonical_units(value: object) -> str:
    """``units`` as a plain decimal string without trailing zeros (5, 5.0, 5.00 -> "5")."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(number.normalize(), "f")
    return "0" if text == "-0" else text


def _canonical_column(
    values: pd.Series, encode: Callable[[object], str]
) -> tuple[np.ndarray, np.ndarray]:
    """(codes, texts): each distinct value is encoded once; ``texts[codes]`` is the column.

    ``texts`` is sorted (code-point order) and unique, so sorting rows by codes sorts
    them by text.
    """
    codes, uniques = pd.factorize(values, sort=False)
    encoded = np.array([encode(u) for u in uniques], dtype=object)
    texts, rank = np.unique(encoded, return_inverse=True)
    return rank[codes], texts


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def snapshot_hash(raw: pd.DataFrame) -> str:
    """SHA-256 (hex) of the demand rows in canonical form, independent of row order.

    Canonical row: ``sku <TAB> store_id <TAB> region <TAB> YYYY-MM-DD <TAB> units``,
    text with backslash, tab and newline escaped (``\\\\``, ``\\t``, ``\\n``) and units
    as a plain decimal without trailing zeros. Rows are sorted by (sku, store_id,
    date, region, units) in code-point order and hashed one per line after a format
    line (:data:`HASH_FORMAT`). Rows that carry :data:`OPTIONAL_COLUMNS` append them
    (``<TAB> country <TAB> true|false``, empty when null) under
    :data:`HASH_FORMAT_WITH_OPTIONAL`. Each distinct value is encoded once, so a million
    rows hash in about a second.
    """
    columns = [
        ("sku", _escape),
        ("store_id", _escape),
        ("demand_date", lambda d: pd.Timestamp(d).date().isoformat()),
        ("region", _escape),
        ("units", _canonical_units),
    ]
    optional = [c for c in OPTIONAL_COLUMNS if c in raw.columns]
    columns += [(name, _optional_text) for name in optional]
    encoded = [_canonical_column(raw[name], encode) for name, encode in columns]
    order = np.lexsort([codes for codes, _ in reversed(encoded)])
    sku, store, day, region, units, *extra = (texts[codes[order]] for codes, texts in encoded)
    lines = sku + "\t" + store + "\t" + region + "\t" + day + "\t" + units
    for texts in extra:
        lines = lines + "\t" + texts
    header = HASH_FORMAT_WITH_OPTIONAL if optional else HASH_FORMAT
    body = "\n".join([header, *lines.tolist()])
    return hashlib.sha256(body.encode()).hexdigest()


def _optional_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return _escape(value)


def build_panel(raw: pd.DataFrame, *, table: str = DEMAND_TABLE) -> DemandPanel:
    """The dense panel of ``raw`` demand rows, missing days filled with zero.

    Every series spans the table's whole date range, so all series end on the same
    day and forecast the same dates. Duplicate (sku, store, day) rows are summed;
    a series' region is the one on its latest row. Raises :class:`ForecastError`
    when the table is empty or spans fewer than :data:`MIN_HISTORY_DAYS` days.
    """
    if raw.empty:
        raise ForecastError(f"the demand table {table} is empty; nothing to forecast")
    days = pd.to_datetime(raw["demand_date"])
    start, end = days.min(), days.max()
    n_days = (end - start).days + 1
    if n_days < MIN_HISTORY_DAYS:
        raise ForecastError(
            f"the demand table {table} covers {n_days} day(s) "
            f"({start.date()} to {end.date()}); at least {MIN_HISTORY_DAYS} are needed"
        )
    ids = raw["sku"].astype(str) + ID_SEPARATOR + raw["store_id"].astype(str)
    codes, uniques = pd.factorize(ids, sort=True)
    day_index = (days - start).dt.days.to_numpy()
    matrix = np.zeros((len(uniques), n_days), dtype=float)
    np.add.at(matrix, (codes, day_index), raw["units"].astype(float).to_numpy())

    calendar = pd.date_range(start, end, freq="D")
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.asarray(uniques, dtype=object), n_days),
            "ds": np.tile(calendar.to_numpy(), len(uniques)),
            "y": matrix.ravel(),
        }
    )
    # Each series' labels come from its latest row (sort by series, then day).
    order = np.lexsort((day_index, codes))
    last = order[np.r_[codes[order][1:] != codes[order][:-1], True]]
    country = raw["country"] if "country" in raw.columns else pd.Series(None, index=raw.index)
    series = pd.DataFrame(
        {
            "unique_id": np.asarray(uniques, dtype=object)[codes[last]],
            "sku": raw["sku"].to_numpy()[last],
            "store_id": raw["store_id"].to_numpy()[last],
            "region": raw["region"].to_numpy()[last],
            "country": country.fillna(DEFAULT_COUNTRY).astype(str).to_numpy()[last],
        }
    )
    promo = None
    if "on_promotion" in raw.columns:
        promo = np.zeros((len(uniques), n_days), dtype=np.float32)
        flags = raw["on_promotion"].fillna(False).astype(bool).to_numpy()
        promo[codes[flags], day_index[flags]] = 1.0
    return DemandPanel(
        frame=frame,
        series=series,
        start=start.date(),
        end=end.date(),
        snapshot_hash=snapshot_hash(raw),
        source_rows=len(raw),
        promo=promo,
    )


def load_panel(
    conn: psycopg.Connection, table: str = DEMAND_TABLE, *, through: date | None = None
) -> DemandPanel:
    """Read the demand table (up to ``through`` when given) and build its dense panel (see
    :func:`build_panel`)."""
    return build_panel(read_demand(conn, table, through=through), table=table)
