"""The task pages: the cluster's recent tasks with filters, failed ones standing out, one task's whole log."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.backup_guests import (
    SLOW_VM,
    VM,
    FakeApi,
    Made,
    add_guests,
    remove_guests,
)
from tests.factories import make_token, make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def task_rows(html: str) -> dict[str, str]:
    """UPID -> its row in the task table."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr data-upid="([^"]+)".*?</tr>', html, re.S)}


def test_recent_tasks_with_the_failed_one_standing_out(viewer: httpx.Client, backup_guests: Made) -> None:
    page = viewer.get("/tasks")
    assert page.status_code == 200 and 'aria-current="page">Tasks<' in page.text
    found = task_rows(page.text)
    ok = found[backup_guests.backup_upid]
    assert 'class="task-ok"' in ok and f'href="/guests/{VM}"' in ok and "root@pam!proxgate" in ok
    assert "&lt;img src=x onerror=alert(1)&gt;" in ok and "<img src=x" not in page.text
    failed = found[backup_guests.failed_upid]
    assert 'class="task-error"' in failed and "failed" in failed and "job errors" in failed
    assert 'hx-trigger="every 5s"' in page.text


def test_filters_keep_their_state_in_the_refresh(viewer: httpx.Client, backup_guests: Made) -> None:
    answer = viewer.get("/tasks", params={"status": "error", "node": "pve1"}, headers={"HX-Request": "true"})
    assert answer.text.lstrip().startswith('<div id="task-list" hx-get="/tasks?status=error&amp;node=pve1"')
    found = task_rows(answer.text)
    assert backup_guests.failed_upid in found and backup_guests.backup_upid not in found
    assert all('data-state="error"' in row for row in found.values())
    mine = task_rows(viewer.get("/tasks", params={"guest": VM, "type": "vzdump", "user": "proxgate"}).text)
    assert backup_guests.backup_upid in mine and backup_guests.failed_upid not in mine
    assert all(f":vzdump:{VM}:root@pam!proxgate:" in upid for upid in mine)
    assert not task_rows(viewer.get("/tasks", params={"guest": VM, "node": "pve2"}).text)
    assert viewer.get("/tasks?node=&type=&status=&user=&guest=").status_code == 200


def test_bad_filters_are_refused(viewer: httpx.Client) -> None:
    assert viewer.get("/tasks", params={"status": "broken"}).status_code == 422
    bad_node = viewer.get("/tasks", params={"node": "pve 1"})
    assert bad_node.status_code == 422 and "node" in bad_node.text
    assert viewer.get("/tasks", params={"type": "a/b"}).status_code == 422


def test_task_detail_shows_the_whole_log_and_stops_refreshing(
    viewer: httpx.Client, pve: DemoPve, backup_guests: Made
) -> None:
    upid = backup_guests.backup_upid
    page = viewer.get(f"/tasks/{quote(upid, safe=':@!')}")
    assert page.status_code == 200
    log = re.search(r'<pre class="task-log" id="task-log">(.*?)</pre>', page.text, re.S)
    assert log is not None
    lines = re.findall(r'<span class="log-line[^"]*">(.*?)</span>', log.group(1))
    assert len(lines) == len(pve.tasks[upid]["log"]) and lines[-1] == "TASK OK"
    assert re.search(r'id="task-exit"><code>OK</code>', page.text)
    assert 'id="task-detail" data-state="ok"' in page.text and "every 1s" not in page.text
    assert f'href="/guests/{VM}"' in page.text and "root@pam!proxgate" in page.text
    failed = viewer.get(f"/tasks/{backup_guests.failed_upid}").text
    assert "job errors" in failed and 'class="log-line log-error">TASK ERROR: job errors<' in failed


def test_a_running_task_refreshes_every_second_until_it_stops(
    viewer: httpx.Client, pve: DemoPve, fake_api: FakeApi
) -> None:
    remove_guests(pve)
    add_guests(pve)
    pve.storages["local-lvm"]["volumes"][f"vm-{SLOW_VM}-disk-0"] = {
        "content": "images",
        "format": "raw",
        "size": 32 * 1024**3,
        "vmid": SLOW_VM,
        "ctime": 0,
    }
    config = {"scsi0": f"local-lvm:vm-{SLOW_VM}-disk-0,size=32G", "memory": 1024}
    pve.add_vm(SLOW_VM, "slow-backup", node="pve1", status="stopped", config=config)
    pve.time_scale = 0.05
    try:
        upid = fake_api.vzdump("pve1", SLOW_VM, storage="local")
        running = viewer.get(f"/tasks/{upid}", headers={"HX-Request": "true"}).text
        assert running.lstrip().startswith('<div id="task-detail" data-state="running"')
        assert 'hx-trigger="every 1s"' in running and "still running" in running
        fake_api.wait(upid)
        done = viewer.get(f"/tasks/{upid}", headers={"HX-Request": "true"}).text
        assert 'data-state="ok"' in done and "hx-trigger" not in done and "TASK OK" in done
        assert re.search(r'id="task-duration">\d+s<', done)
    finally:
        pve.time_scale = 0
        remove_guests(pve)


def test_bad_and_unknown_upids(viewer: httpx.Client) -> None:
    bad = viewer.get("/tasks/not-a-task")
    assert bad.status_code == 422 and "unable to parse worker upid" in bad.text
    unknown = viewer.get("/tasks/UPID:pve1:00000001:00000007:00000000:qmstart:100:root@pam:")
    assert unknown.status_code == 404


def test_offline_node_says_so_on_the_task_page(
    viewer: httpx.Client, pve: DemoPve, backup_guests: Made
) -> None:
    pve.set_node_offline("pve1")
    time.sleep(0.6)
    page = viewer.get(f"/tasks/{backup_guests.backup_upid}")
    assert page.status_code == 200 and "Node pve1 cannot be reached" in page.text
    assert 'hx-trigger="every 5s"' in page.text


def test_task_pages_say_who_in_proxgate_asked(
    client: httpx.Client, app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.lock and not v.template)
    asker = make_user(settings, "operator")
    headers = {"Authorization": f"Bearer {make_token(settings, asker)}"}
    answer = client.post(
        f"/api/v1/guests/{vm.vmid}/actions/snapshot", json={"snapname": "who-asked"}, headers=headers
    )
    upid = answer.json()["upid"]
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        page = http.get(f"/tasks/{upid}").text
        assert re.search(rf'id="task-asked-by">{asker}<', page)
        listing = http.get("/tasks", params={"guest": vm.vmid}).text
        row = re.search(rf'<tr data-upid="{re.escape(upid)}".*?</tr>', listing, re.S)
        assert row and f"<strong>{asker}</strong> via Proxgate" in row.group(0)
    detail = client.get(f"/api/v1/tasks/{upid}", headers=headers).json()
    assert detail["requested_by"] == asker
    listed = client.get("/api/v1/tasks", params={"guest": vm.vmid, "limit": 500}, headers=headers).json()
    assert next(t for t in listed["items"] if t["upid"] == upid)["requested_by"] == asker
