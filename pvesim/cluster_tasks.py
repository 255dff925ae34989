"""GET /cluster/tasks from the fake's own task log (fakepve answers one made-up vzdump entry), and a node's
task list filtered by `since` and `until` as PVE filters it (fakepve ignores both)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from fakepve.server import params

from pvesim.base import DemoBase

# PVE broadcasts each node's recent tasks (the running ones and a bounded tail of finished ones);
# the demo keeps the newest this many per node.
RECENT_PER_NODE = 50


def cluster_task(record: dict[str, Any]) -> dict[str, Any]:
    """One task as /cluster/tasks lists it (FACTS.md section 3).

    `status` is the exit status once the task stopped and RUNNING before; `endtime` only once stopped.
    A token's task names the user in `user` and the token in `tokenid`, as PVE's split_tokenid does.
    """
    keys = ("upid", "node", "pid", "pstart", "starttime", "type", "id", "user")
    item = {key: record[key] for key in keys if key in record}
    user, bang, token = str(record.get("user", "")).partition("!")
    if bang:
        item["user"], item["tokenid"] = user, token
    if record.get("status") == "stopped":
        item["status"] = record.get("exitstatus") or "unexpected status"
        if record.get("endtime") is not None:
            item["endtime"] = record["endtime"]
    else:
        item["status"] = "RUNNING"
    return item


class ClusterTasksMixin(DemoBase):
    """Mixin of DemoPve: the cluster-wide recent task list, filtered as PVE filters it."""

    def _routes_cluster_tasks(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/cluster/tasks", self._cluster_tasks)]

    async def _cluster_tasks(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """Everyone's tasks with Sys.Audit on /, else the caller's own (and its tokens')."""
        audit = self.allowed(user, "/", "Sys.Audit")
        kept: dict[str, int] = {}
        out = []
        for record in sorted(self.tasklog, key=lambda r: -int(r.get("starttime", 0))):
            node = str(record.get("node"))
            if kept.get(node, 0) >= RECENT_PER_NODE:
                continue
            if not audit and user not in (record["user"], str(record["user"]).partition("!")[0]):
                continue
            kept[node] = kept.get(node, 0) + 1
            out.append(cluster_task(record))
        return out

    async def _task_list(self, request: web.Request) -> web.Response:
        """GET /nodes/{node}/tasks: fakepve's list, then only tasks started within [since, until] (paged after)."""
        given = await params(request)
        window = {k: int(given[k]) for k in ("since", "until") if str(given.get(k, "")).isdigit()}
        if not window:
            response: web.Response = await super()._task_list(request)
            return response
        start, limit = int(given.get("start", 0) or 0), int(given.get("limit", 50) or 50)
        # All of the node's tasks from fakepve, filtered here, then paged as asked.
        request = request.clone(rel_url=request.rel_url.update_query(start=0, limit=1_000_000))
        listed = json.loads((await super()._task_list(request)).text or "{}")["data"]
        kept = [
            t
            for t in listed
            if window.get("since", 0) <= t["starttime"] <= window.get("until", t["starttime"])
        ]
        return web.json_response({"data": kept[start : start + limit], "total": len(kept)})
