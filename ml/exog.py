"""Exogenous signals per series and day: holidays (known ahead) and recent promotions.

- ``holiday`` / ``holiday_eve``: public holidays of the series' country (:mod:`ml.calendar`),
  known for any future day;
- ``promo_recent``: the share of the previous 7 days on which the series had a line on
  promotion (0 without promotion data). It only looks back, so it is known the day before
  and never leaks the day's own sales; past the cutoff it stays at its value on the first
  forecast day, the same in the backtest and in production.

:class:`Exogenous` holds them as (series x days) matrices that reach ``extra_days`` past the
panel's end, and cuts the frames the global model trains and forecasts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from ml.calendar import series_holidays
from ml.features import DemandPanel

#: The exogenous features, in the order the model sees them.
EXOG_FEATURES = ("holiday", "holiday_eve", "promo_recent")
#: Days ``promo_recent`` looks back.
PROMO_WINDOW = 7


@dataclass(frozen=True)
class Exogenous:
    """Feature matrices (series x days from the panel's start to ``extra_days`` past its end)."""

    ids: np.ndarray
    start: pd.Timestamp
    matrices: dict[str, np.ndarray]

    @classmethod
    def of(cls, panel: DemandPanel, extra_days: int) -> Exogenous:
        end = panel.end + timedelta(days=extra_days)
        holiday, eve = series_holidays(panel.series["country"], panel.start, end)
        promo_recent = np.zeros_like(holiday)
        if panel.promo is not None:
            promo_recent[:, : panel.n_days + 1] = _trailing_share(panel.promo)
            promo_recent[:, panel.n_days + 1 :] = promo_recent[:, [panel.n_days]]
        return cls(
            ids=panel.series["unique_id"].to_numpy(dtype=object),
            start=pd.Timestamp(panel.start),
            matrices={"holiday": holiday, "holiday_eve": eve, "promo_recent": promo_recent},
        )

    def _index(self, day: pd.Timestamp) -> int:
        return int((pd.Timestamp(day) - self.start).days)

    def history(self, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
        """The features of every series and day from ``first`` to ``last``, long, in panel
        order (``unique_id, ds, <features>``)."""
        lo, hi = self._index(first), self._index(last) + 1
        return self._frame(lo, {name: m[:, lo:hi] for name, m in self.matrices.items()})

    def future(self, cutoff: pd.Timestamp, h: int) -> pd.DataFrame:
        """The features of the ``h`` days after ``cutoff`` as known on the cutoff day."""
        lo = self._index(cutoff) + 1
        columns = {
            "holiday": self.matrices["holiday"][:, lo : lo + h],
            "holiday_eve": self.matrices["holiday_eve"][:, lo : lo + h],
            "promo_recent": np.repeat(self.matrices["promo_recent"][:, [lo]], h, axis=1),
        }
        return self._frame(lo, columns)

    def _frame(self, lo: int, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        width = next(iter(columns.values())).shape[1]
        days = pd.date_range(self.start + pd.Timedelta(days=lo), periods=width, freq="D")
        frame = pd.DataFrame(
            {"unique_id": np.repeat(self.ids, width), "ds": np.tile(days.to_numpy(), len(self.ids))}
        )
        for name in EXOG_FEATURES:
            frame[name] = columns[name].ravel()
        return frame


def _trailing_share(promo: np.ndarray) -> np.ndarray:
    """(series x days+1): column t is the share of promo days among days t-7 .. t-1."""
    n_series, n_days = promo.shape
    cumulative = np.zeros((n_series, n_days + 1), dtype=np.float64)
    np.cumsum(promo, axis=1, out=cumulative[:, 1:])
    lagged = np.zeros_like(cumulative)
    lagged[:, PROMO_WINDOW:] = cumulative[:, :-PROMO_WINDOW]
    return ((cumulative - lagged) / PROMO_WINDOW).astype(np.float32)
