"""The one error the forecast stage raises for problems a user can fix."""

from __future__ import annotations


class ForecastError(RuntimeError):
    """The forecast cannot run on this data (missing table, too little history, ...).

    Raised before anything is written: a failed run never leaves half a forecast.
    """
