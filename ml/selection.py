"""Which candidate forecasts which series: demand classes, per-series choice, cluster fallback.

Series are clustered by level and by their demand pattern (Syntetos & Boylan's classes
from the average inter-demand interval ADI and the squared coefficient of variation CV²
of the non-zero demands: ``smooth`` ADI < 1.32 and CV² < 0.49, ``erratic`` ADI < 1.32,
``intermittent`` CV² < 0.49, else ``lumpy``; ``zero`` without demand).

:func:`choose` picks, for each series, the candidate with the least absolute error over
the selection windows of the backtest, but only when it beats its cluster's best
candidate on that series by ``margin`` (relative); otherwise the series takes the
cluster's choice. Two weeks of one sparse series say little; the cluster says more, and
a series with a clear winner still gets it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ADI_CUT = 1.32
CV2_CUT = 0.49
#: Relative advantage a series' own best needs over its cluster's choice.
DEFAULT_MARGIN = 0.10


def demand_classes(matrix: np.ndarray) -> np.ndarray:
    """The demand class of every row of a (series x days) history matrix."""
    nonzero = matrix > 0
    count = nonzero.sum(axis=1)
    values = np.where(nonzero, matrix, 0.0)
    safe = np.maximum(count, 1)
    adi = matrix.shape[1] / safe
    mean = values.sum(axis=1) / safe
    variance = np.where(nonzero, (matrix - mean[:, None]) ** 2, 0.0).sum(axis=1) / safe
    with np.errstate(divide="ignore", invalid="ignore"):
        cv2 = np.where(mean > 0, variance / mean**2, 0.0)
    classes = np.where(
        adi < ADI_CUT,
        np.where(cv2 < CV2_CUT, "smooth", "erratic"),
        np.where(cv2 < CV2_CUT, "intermittent", "lumpy"),
    ).astype(object)
    classes[count == 0] = "zero"
    return classes


def choose(
    errors: pd.DataFrame,
    clusters: pd.Series,
    families: Sequence[str],
    margin: float = DEFAULT_MARGIN,
) -> pd.DataFrame:
    """``unique_id, family, cluster, rule``: one choice per series.

    ``errors`` has ``unique_id`` and one column per family holding that family's summed
    absolute error over the selection windows; ``clusters`` maps ``unique_id`` to its
    cluster. ``rule`` says whether the series' own best (``series``) or its cluster's
    (``cluster``) decided.
    """
    table = errors.set_index("unique_id")[list(families)]
    cluster = clusters.reindex(table.index)
    totals = table.groupby(cluster.to_numpy()).sum()
    cluster_best = totals.idxmin(axis=1)
    fallback = cluster.map(cluster_best)
    own = table.idxmin(axis=1)
    own_error = table.min(axis=1)
    positions = table.columns.get_indexer(fallback)
    fallback_error = pd.Series(
        table.to_numpy()[np.arange(len(table)), positions], index=table.index
    )
    wins = own_error < (1.0 - margin) * fallback_error
    return pd.DataFrame(
        {
            "unique_id": table.index,
            "family": np.where(wins, own, fallback),
            "cluster": cluster.to_numpy(),
            "rule": np.where(wins, "series", "cluster"),
        }
    ).reset_index(drop=True)


def cluster_defaults(choices: pd.DataFrame) -> dict[str, str]:
    """Each cluster's most chosen family: what a series the model has not seen gets."""
    counts = choices.groupby(["cluster", "family"]).size().reset_index(name="n")
    counts = counts.sort_values(["cluster", "n", "family"], ascending=[True, False, True])
    return dict(counts.drop_duplicates("cluster")[["cluster", "family"]].to_numpy())


def pick(predictions: pd.DataFrame, choices: pd.DataFrame) -> np.ndarray:
    """Each row's value from the column its series' chosen family names."""
    family = predictions["unique_id"].map(choices.set_index("unique_id")["family"])
    if family.isna().any():
        missing = predictions.loc[family.isna(), "unique_id"].iloc[0]
        raise KeyError(f"no family chosen for series {missing}")
    columns = pd.Index(sorted(set(family)))
    values = predictions[list(columns)].to_numpy(dtype=float)
    return values[np.arange(len(predictions)), columns.get_indexer(family)]
