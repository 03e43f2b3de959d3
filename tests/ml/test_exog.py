"""Calendar and promotion signals: public holidays by country, promotions that only look back."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from ml.calendar import holiday_frame, series_holidays
from ml.exog import Exogenous
from ml.features import build_panel

START = date(2026, 6, 29)


def test_holidays_come_from_each_country() -> None:
    table = holiday_frame(["US", "DE"], date(2026, 7, 1), date(2026, 10, 5)).set_index(
        ["country", "ds"]
    )
    assert table.loc[("US", pd.Timestamp("2026-07-04")), "holiday"] == 1.0
    assert table.loc[("US", pd.Timestamp("2026-07-03")), "holiday_eve"] == 1.0
    assert table.loc[("DE", pd.Timestamp("2026-07-04")), "holiday"] == 0.0
    assert table.loc[("DE", pd.Timestamp("2026-10-03")), "holiday"] == 1.0  # Unity Day
    assert table.loc[("US", pd.Timestamp("2026-10-03")), "holiday"] == 0.0
    # an unknown country has no holidays rather than failing the forecast
    on, eve = series_holidays(pd.Series(["ZZ"]), date(2026, 1, 1), date(2026, 12, 31))
    assert on.sum() == 0 and eve.sum() == 0


def _panel_with_promotion() -> tuple[pd.DataFrame, object]:
    rows = []
    for d in range(28):
        day = START + timedelta(days=d)
        rows.append(("A", "S1", "north", day, 5.0, "US", 14 <= d < 21))
        rows.append(("B", "S2", "south", day, 2.0, "DE", False))
    columns = ["sku", "store_id", "region", "demand_date", "units", "country", "on_promotion"]
    raw = pd.DataFrame(rows, columns=columns)
    return raw, build_panel(raw)


def test_recent_promotions_look_back_only() -> None:
    _, panel = _panel_with_promotion()
    exog = Exogenous.of(panel, extra_days=7)
    history = exog.history(pd.Timestamp(START), pd.Timestamp(START) + pd.Timedelta(days=27))
    a = history[history["unique_id"] == "A|S1"]["promo_recent"].to_numpy()
    # promotion on days 14..20: day 14 knows nothing yet, day 15 knows one day, day 21 all
    assert a[14] == 0.0
    assert np.isclose(a[15], 1 / 7)
    assert np.isclose(a[21], 1.0)
    assert np.isclose(a[22], 6 / 7)
    assert history[history["unique_id"] == "B|S2"]["promo_recent"].sum() == 0
    # the forecast days keep what the first of them knew, and the holidays of their country
    cutoff = pd.Timestamp(START) + pd.Timedelta(days=20)
    future = exog.future(cutoff, 3)
    assert np.allclose(future[future["unique_id"] == "A|S1"]["promo_recent"], 1.0)
    assert future["ds"].min() == cutoff + pd.Timedelta(days=1)
    us = exog.future(pd.Timestamp("2026-07-02"), 3)
    assert us[(us["unique_id"] == "A|S1") & (us["ds"] == "2026-07-04")]["holiday"].item() == 1.0
    assert us[(us["unique_id"] == "B|S2") & (us["ds"] == "2026-07-04")]["holiday"].item() == 0.0
