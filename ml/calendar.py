"""Calendar signals the global model sees: public holidays by country, from ``holidays``.

Each series belongs to a store, and each store to a country (ISO 3166 alpha-2, from the
demand mart; :data:`DEFAULT_COUNTRY` when the data names none). :func:`holiday_frame`
gives, per country and day, ``holiday`` (1 on a public holiday) and ``holiday_eve`` (1 on
the day before one, when shoppers stock up). Both are known in advance, so the forecast
uses their real future values. A country the ``holidays`` package does not know has no
holidays (logged once), rather than failing the forecast.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

import holidays
import numpy as np
import pandas as pd

LOGGER = logging.getLogger("ml.calendar")

#: Country of a store whose data names none.
DEFAULT_COUNTRY = "US"
#: The calendar features, in the order the model sees them.
HOLIDAY_FEATURES = ("holiday", "holiday_eve")


@cache
def _holiday_days(country: str, years: tuple[int, ...]) -> frozenset[date]:
    try:
        found = holidays.country_holidays(country, years=list(years))
    except NotImplementedError:
        LOGGER.warning("no public holidays known for country %r; none are assumed", country)
        return frozenset()
    return frozenset(found.keys())


def holiday_days(country: str, start: date, end: date) -> frozenset[date]:
    """The public holidays of ``country`` from ``start`` to ``end`` (inclusive)."""
    years = tuple(range(start.year, end.year + 2))
    return frozenset(d for d in _holiday_days(country, years) if start <= d <= end)


def holiday_frame(countries: Iterable[str], start: date, end: date) -> pd.DataFrame:
    """``country, ds, holiday, holiday_eve`` for every country and day from start to end."""
    days = pd.date_range(start, end, freq="D")
    frames = []
    for country in sorted(set(countries)):
        # the eve of a holiday just past ``end`` counts too
        known = holiday_days(country, start, end + timedelta(days=1))
        on = np.array([d.date() in known for d in days])
        eve = np.array([(d + timedelta(days=1)).date() in known for d in days])
        frames.append(
            pd.DataFrame(
                {
                    "country": country,
                    "ds": days,
                    "holiday": on.astype(np.float32),
                    "holiday_eve": eve.astype(np.float32),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["country", "ds", *HOLIDAY_FEATURES])
    return pd.concat(frames, ignore_index=True)


def series_holidays(
    series_country: pd.Series, start: date, end: date
) -> tuple[np.ndarray, np.ndarray]:
    """(holiday, holiday_eve) matrices, one row per series (``series_country`` order) and one
    column per day from ``start`` to ``end``."""
    n_days = (end - start).days + 1
    countries = series_country.fillna(DEFAULT_COUNTRY).astype(str).to_numpy()
    uniques, codes = np.unique(countries, return_inverse=True)
    table = holiday_frame(uniques, start, end)
    on = np.zeros((len(uniques), n_days), dtype=np.float32)
    eve = np.zeros_like(on)
    for i, country in enumerate(uniques):
        rows = table[table["country"] == country]
        on[i] = rows["holiday"].to_numpy()
        eve[i] = rows["holiday_eve"].to_numpy()
    return on[codes], eve[codes]
