"""The history panel of the guest, node and storage pages: its time range (kept in the URL) and its data's URL.

The page renders the panel empty; static/js/charts.js fetches the JSON (app/api/history.py) and draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict

from app.services.cluster import DEFAULT_CF, DEFAULT_TIMEFRAME, ChartSpec, Consolidation, Timeframe

TIMEFRAME_LABELS = {"hour": "Hour", "day": "Day", "week": "Week", "month": "Month", "year": "Year"}
CF_LABELS = {"AVERAGE": "Average", "MAX": "Maximum"}


class RangeQuery(BaseModel):
    """?timeframe=&cf= of a page with charts."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    timeframe: Timeframe = DEFAULT_TIMEFRAME
    cf: Consolidation = DEFAULT_CF


RangeDep = Annotated[RangeQuery, Query()]


@dataclass(frozen=True)
class RangeLink:
    """One choice of the range menu."""

    value: str
    label: str
    href: str
    current: bool


@dataclass(frozen=True)
class ChartPanel:
    """What templates/partials/history/_charts.html draws."""

    data_url: str
    timeframe: str
    cf: str
    charts: tuple[ChartSpec, ...]
    timeframes: list[RangeLink]
    consolidations: list[RangeLink]


def chart_panel(
    request: Request, data_url: str, charts: tuple[ChartSpec, ...], chosen: RangeQuery
) -> ChartPanel:
    """The panel for this page, its menu linking to the same page with another range (other parameters kept)."""

    def link(name: str, value: str, label: str) -> RangeLink:
        params = {**request.query_params, "timeframe": chosen.timeframe, "cf": chosen.cf, name: value}
        href = f"{request.url.path}?{urlencode(params)}"
        return RangeLink(value, label, href, getattr(chosen, name) == value)

    return ChartPanel(
        data_url,
        chosen.timeframe,
        chosen.cf,
        charts,
        [link("timeframe", v, label) for v, label in TIMEFRAME_LABELS.items()],
        [link("cf", v, label) for v, label in CF_LABELS.items()],
    )
