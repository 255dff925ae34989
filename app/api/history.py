"""GET /api/v1/{guests/{vmid},nodes/{node},storage/{node}/{storage}}/rrd: history charts from Proxmox's RRD data."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.deps import HistoryDep, require_principal
from app.http.csrf import verify_csrf
from app.services.cluster import Consolidation, History, Timeframe, Unit

router = APIRouter(
    prefix="/api/v1", tags=["history"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
TimeframeQuery = Annotated[Timeframe, Query(description="hour, day, week, month or year")]
CfQuery = Annotated[Consolidation, Query(description="AVERAGE, or MAX for each step's highest value")]


class SeriesOut(BaseModel):
    """A line: PVE's field name, a label, one value per time (null where Proxmox has none)."""

    field: str
    label: str
    values: list[float | None]


class ChartOut(BaseModel):
    """A chart; every value of its lines is in `unit`: percent (0-100), bytes, bytes/s, or load (a count)."""

    id: str
    title: str
    unit: Unit
    has_data: bool
    series: list[SeriesOut]


class HistoryOut(BaseModel):
    """Charts over a timeframe; `time` is in seconds since 1970-01-01 UTC, one entry per value of each line."""

    timeframe: Timeframe
    cf: Consolidation
    step: int = Field(description="seconds between two points (Proxmox's RRD resolution for this timeframe)")
    points: int
    has_data: bool = Field(description="false when Proxmox has no value at all for this timeframe")
    time: list[int]
    charts: list[ChartOut]


def history_json(history: History) -> dict[str, Any]:
    """The history in plain JSON types, as HistoryOut describes it."""
    return {
        "timeframe": history.timeframe,
        "cf": history.cf,
        "step": history.step,
        "points": len(history.times),
        "has_data": history.has_data,
        "time": history.times,
        "charts": [
            {
                "id": c.id,
                "title": c.title,
                "unit": c.unit,
                "has_data": c.has_data,
                "series": [{"field": s.field, "label": s.label, "values": s.values} for s in c.series],
            }
            for c in history.charts
        ],
    }


def answer(history: History) -> Response:
    """JSON without a second validation pass (a Response skips the response_model, which only documents it
    here): a day of points is tens of thousands of numbers."""
    return Response(orjson.dumps(history_json(history)), media_type="application/json")


@router.get("/guests/{vmid}/rrd", name="guest_rrd", response_model=HistoryOut)
async def guest_rrd(
    service: HistoryDep,
    vmid: Annotated[int, Path(ge=100, le=999_999_999)],
    timeframe: TimeframeQuery = "hour",
    cf: CfQuery = "AVERAGE",
) -> Response:
    """CPU (percent of the guest's CPUs), memory (bytes), network and disk IO (bytes/s)."""
    return answer(await service.guest(vmid, timeframe, cf))


@router.get("/nodes/{node}/rrd", name="node_rrd", response_model=HistoryOut)
async def node_rrd(
    service: HistoryDep,
    node: Annotated[str, Path(max_length=64)],
    timeframe: TimeframeQuery = "hour",
    cf: CfQuery = "AVERAGE",
) -> Response:
    """CPU and IO delay (percent), load, memory, swap and root disk (bytes), network (bytes/s)."""
    return answer(await service.node(node, timeframe, cf))


@router.get("/storage/{node}/{storage}/rrd", name="storage_rrd", response_model=HistoryOut)
async def storage_rrd(
    service: HistoryDep,
    node: Annotated[str, Path(max_length=64)],
    storage: Annotated[str, Path(max_length=64)],
    timeframe: TimeframeQuery = "hour",
    cf: CfQuery = "AVERAGE",
) -> Response:
    """Used and total size (bytes) of the storage as seen from the node."""
    return answer(await service.storage(node, storage, timeframe, cf))
