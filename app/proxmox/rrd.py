"""PVE's RRD history (GET .../rrddata of a node, guest or storage) as compact columns, PVE 8 and PVE 9 alike.

What PVE sends (pve-cluster PVE::RRD::create_rrd_data): an array of {time, field: value, ...}, one entry per
step, where a field RRD holds no value for is left out; the newest entry goes when it holds only its time.
PVE 9 files have finer steps (hour and day: 60 s; week and month: 30 min; year: 6 h) than PVE 8's
(hour 60 s, day 30 min, week 3 h, month 12 h, year 7 days), and while old files are still being migrated
one answer may mix both, so the step is read from the data, not assumed. PVE 9 adds fields (memhost,
memavailable, arcsize, pressure*); an early PVE 9 migration named memavailable 'memfree'.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = ["CONSOLIDATIONS", "TIMEFRAMES", "Consolidation", "RrdSeries", "Timeframe", "parse_rrddata"]

Timeframe = Literal["hour", "day", "week", "month", "year"]
Consolidation = Literal["AVERAGE", "MAX"]
TIMEFRAMES: tuple[str, ...] = get_args(Timeframe)
CONSOLIDATIONS: tuple[str, ...] = get_args(Consolidation)
# PVE 9's step per timeframe, for an answer too short to show its own.
PVE9_STEP = {"hour": 60, "day": 60, "week": 1800, "month": 1800, "year": 21600}
# PVE 9.0's first migrated node files called memavailable memfree (pve-cluster maps it since 9.0.x).
ALIASES = {"memfree": "memavailable"}


@dataclass(frozen=True)
class RrdSeries:
    """The entries as columns: times (epoch seconds, ascending) and per field one value per time, NaN for none.

    Arrays of doubles hold a day of 1-minute points for twenty fields in about 230 KB, a fifth of Python lists.
    """

    times: array[int]
    fields: dict[str, array[float]]
    step: int

    def __len__(self) -> int:
        return len(self.times)

    def values(self, name: str) -> list[float | None]:
        """The field's values with None where PVE had none (all None when PVE never sent the field)."""
        column = self.fields.get(name)
        if column is None:
            return [None] * len(self.times)
        return [None if math.isnan(v) else v for v in column]

    def has(self, name: str) -> bool:
        """True if PVE sent at least one value of the field."""
        column = self.fields.get(name)
        return column is not None and any(not math.isnan(v) for v in column)


def parse_rrddata(data: Any, timeframe: str) -> RrdSeries:
    """Columns of an rrddata answer; entries without a usable time and values that are not numbers are skipped."""
    rows = data if isinstance(data, list) else []
    entries: list[dict[str, Any]] = sorted(
        (e for e in rows if isinstance(e, dict) and _number(e.get("time"))), key=lambda e: float(e["time"])
    )
    times = array("q", (int(float(e["time"])) for e in entries))
    fields: dict[str, array[float]] = {}
    for index, entry in enumerate(entries):
        for key, value in entry.items():
            name = ALIASES.get(key, key)
            if key == "time" or not _number(value) or (name != key and name in entry):
                continue
            column = fields.get(name)
            if column is None:
                column = fields[name] = array("d", [math.nan]) * len(entries)
            column[index] = float(value)
    return RrdSeries(times, fields, _step(times, timeframe))


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _step(times: array[int], timeframe: str) -> int:
    """The newest step: the data's own spacing at its end (where PVE 9 appends), else PVE 9's."""
    if len(times) >= 2 and times[-1] > times[-2]:
        return int(times[-1] - times[-2])
    return PVE9_STEP.get(timeframe, 60)
