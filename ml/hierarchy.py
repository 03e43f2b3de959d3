"""The demand hierarchy SKU x store -> store -> region -> total, and its reconciliation.

The bottom series are the panel's SKU x store series; a store belongs to one region (the
region most of its series carry, ties to the first by name), so the hierarchy is strict.
Aggregate ids are ``total``, ``total/<region>`` and ``total/<region>/<store>``.

Forecasts made level by level do not add up. :func:`reconcile` makes them coherent with
hierarchicalforecast's ``MinTraceSparse`` (Wickramasuriya, Athanasopoulos & Hyndman's
trace minimisation with a diagonal covariance, ``wls_var``: each series is weighted by the
inverse variance of its backtest errors, so the levels forecast well pull harder) and
non-negative results. The sparse summing matrix keeps it fast for 10,000 series.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

#: The levels, top first; the bottom one is the panel's series.
LEVELS = ("total", "region", "store", "sku")
BOTTOM = LEVELS[-1]
TOTAL_ID = "total"


@dataclass(frozen=True)
class Hierarchy:
    """Which bottom series add up to which aggregate.

    ``bottom_ids`` are in panel order; ``aggregate_ids`` top first; ``S`` (all ids x bottom)
    is sparse, aggregates first then the identity, as hierarchicalforecast expects.
    """

    bottom_ids: np.ndarray
    aggregate_ids: np.ndarray
    aggregate_levels: np.ndarray
    S: sparse.csr_matrix
    store_region: dict[str, str]

    @property
    def ids(self) -> np.ndarray:
        return np.concatenate([self.aggregate_ids, self.bottom_ids])

    @cached_property
    def level_of(self) -> dict[str, str]:
        """Level of every id."""
        mapping = dict(zip(self.aggregate_ids, self.aggregate_levels, strict=True))
        mapping.update(dict.fromkeys(self.bottom_ids, BOTTOM))
        return mapping

    def tags(self) -> dict[str, np.ndarray]:
        """hierarchicalforecast's tags: level -> ids."""
        out = {level: self.aggregate_ids[self.aggregate_levels == level] for level in LEVELS[:-1]}
        out[BOTTOM] = self.bottom_ids
        return out

    def aggregate(self, bottom: np.ndarray) -> np.ndarray:
        """Aggregate rows (in ``aggregate_ids`` order) of a bottom matrix (series x time)."""
        return np.asarray(self.S[: len(self.aggregate_ids)] @ bottom)

    def aggregate_frame(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """Sum ``columns`` of a long bottom frame (``unique_id, ds, ...``) to every aggregate."""
        aggregate_of = self._ancestors()
        merged = frame.merge(aggregate_of, on="unique_id", how="inner")
        out = merged.groupby(["aggregate_id", "ds"], sort=False, observed=True)[columns].sum()
        return out.reset_index().rename(columns={"aggregate_id": "unique_id"})

    def _ancestors(self) -> pd.DataFrame:
        rows, cols = self.S[: len(self.aggregate_ids)].nonzero()
        return pd.DataFrame(
            {"unique_id": self.bottom_ids[cols], "aggregate_id": self.aggregate_ids[rows]}
        )


def build_hierarchy(series: pd.DataFrame) -> Hierarchy:
    """The hierarchy of the panel's ``series`` (``unique_id, store_id, region``, panel order)."""
    stores = series["store_id"].astype(str).to_numpy()
    regions = series["region"].astype(str).to_numpy()
    counts = pd.DataFrame({"store": stores, "region": regions}).value_counts().reset_index()
    counts = counts.sort_values(["store", "count", "region"], ascending=[True, False, True])
    store_region = dict(counts.drop_duplicates("store")[["store", "region"]].to_numpy())
    region_names = sorted(set(store_region.values()))
    store_names = sorted(store_region)
    region_ids = [f"{TOTAL_ID}/{r}" for r in region_names]
    store_ids = [f"{TOTAL_ID}/{store_region[s]}/{s}" for s in store_names]
    n = len(series)
    region_index = {r: i for i, r in enumerate(region_names)}
    store_index = {s: i for i, s in enumerate(store_names)}
    store_of = np.array([store_index[s] for s in stores])
    region_of = np.array([region_index[store_region[s]] for s in stores])
    ones = np.ones(n)
    blocks = [
        sparse.csr_matrix(ones[None, :]),
        sparse.csr_matrix((ones, (region_of, np.arange(n))), shape=(len(region_names), n)),
        sparse.csr_matrix((ones, (store_of, np.arange(n))), shape=(len(store_names), n)),
        sparse.identity(n, format="csr"),
    ]
    return Hierarchy(
        bottom_ids=series["unique_id"].to_numpy(dtype=object),
        aggregate_ids=np.array([TOTAL_ID, *region_ids, *store_ids], dtype=object),
        aggregate_levels=np.array(
            ["total"] + ["region"] * len(region_ids) + ["store"] * len(store_ids), dtype=object
        ),
        S=sparse.vstack(blocks, format="csr"),
        store_region=store_region,
    )


def reconcile(
    hierarchy: Hierarchy, forecasts: pd.DataFrame, residuals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Coherent ``y_hat`` for every id of ``forecasts`` (``unique_id, ds, y_hat``, all ids).

    ``residuals`` (``unique_id, ds, y, y_hat`` of past forecasts, e.g. a backtest) weight
    each series by its error variance (MinTrace ``wls_var``); without them, or when a series
    has none, the structural weights (``wls_struct``) are used. Non-negative.
    """
    from hierarchicalforecast.core import HierarchicalReconciliation
    from hierarchicalforecast.methods import MinTraceSparse
    from hierarchicalforecast.utils import SMatrix

    ids = hierarchy.ids
    s_matrix = SMatrix(hierarchy.S, ids, hierarchy.bottom_ids)
    base = forecasts[["unique_id", "ds", "y_hat"]]
    insample = _insample(ids, residuals)
    method = "wls_var" if insample is not None else "wls_struct"
    reconciler = HierarchicalReconciliation([MinTraceSparse(method=method, nonnegative=True)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = reconciler.reconcile(
            Y_hat_df=base, tags=hierarchy.tags(), S_df=s_matrix, Y_df=insample
        )
    column = next(c for c in out.columns if c.startswith("y_hat/"))
    result = out[["unique_id", "ds", column]].rename(columns={column: "y_hat"})
    result["y_hat"] = result["y_hat"].clip(lower=0.0)
    return result.reset_index(drop=True)


def _insample(ids: np.ndarray, residuals: pd.DataFrame | None) -> pd.DataFrame | None:
    """Past errors of every id on one common set of days, for ``wls_var`` (or None)."""
    if residuals is None or residuals.empty:
        return None
    # One error per id and day (overlapping windows: the latest forecast of that day).
    latest = residuals.sort_values("cutoff").drop_duplicates(["unique_id", "ds"], keep="last")
    days = np.sort(latest["ds"].unique())
    grid = pd.MultiIndex.from_product([ids, days], names=["unique_id", "ds"])
    table = latest.set_index(["unique_id", "ds"])[["y", "y_hat"]].reindex(grid)
    if table["y"].isna().any():
        return None
    per_id = (table["y"] - table["y_hat"]).groupby(level=0, sort=False).std().fillna(0.0)
    exact = per_id.index[per_id.to_numpy() <= 0.0]
    if len(exact):
        # A series forecast without error would get an infinite weight: give it a tiny error.
        first = pd.MultiIndex.from_product([exact, days[:1]], names=["unique_id", "ds"])
        table.loc[first, "y_hat"] += 1e-3
    return table.reset_index()
