"""GET /api/v1/tasks and /api/v1/tasks/{upid}."""

from __future__ import annotations

import httpx

from pvesim.fake import DemoPve
from tests.backup_guests import (
    VM,
    Made,
)


def test_tasks_with_filters(api: httpx.Client, backup_guests: Made) -> None:
    everything = api.get("/api/v1/tasks", params={"limit": 500}).json()["items"]
    ok = next(t for t in everything if t["upid"] == backup_guests.backup_upid)
    assert ok["state"] == "ok" and ok["status"] == "OK" and ok["vmid"] == VM and ok["node"] == "pve1"
    assert ok["user"] == "root@pam!proxgate" and ok["endtime"] >= ok["starttime"]
    failed = api.get("/api/v1/tasks", params={"status": "error", "guest": "9199"}).json()["items"]
    assert failed[0]["upid"] == backup_guests.failed_upid, "newest first"
    assert all(t["state"] == "error" and t["vmid"] == 9199 and t["status"] == "job errors" for t in failed)
    assert api.get("/api/v1/tasks", params={"status": "bogus"}).status_code == 422


def test_task_detail_with_the_whole_log(api: httpx.Client, pve: DemoPve, backup_guests: Made) -> None:
    body = api.get(f"/api/v1/tasks/{backup_guests.failed_upid}").json()
    assert body["status"] == "stopped" and body["exitstatus"] == "job errors" and body["state"] == "error"
    assert body["log"] == pve.tasks[backup_guests.failed_upid]["log"]
    assert body["log"][-1] == "TASK ERROR: job errors"
    assert body["endtime"] == pve.tasks[backup_guests.failed_upid]["endtime"]
    assert (body["type"], body["id"], body["node"]) == ("vzdump", "9199", "pve1")


def test_bad_and_unknown_upids(api: httpx.Client) -> None:
    bad = api.get("/api/v1/tasks/garbage")
    assert bad.status_code == 422 and bad.json() == {"detail": "unable to parse worker upid", "field": "upid"}
    unknown = api.get("/api/v1/tasks/UPID:pve1:00000001:00000007:00000000:qmstart:100:root@pam:")
    assert unknown.status_code == 404 and "upid" in unknown.json()["detail"]
