"""A node whose task list cannot be read when Proxgate starts keeps its place: the side-door page names the
window not read yet, and the tasks run in it are recorded once the node answers again; a guest gone from it
meanwhile is judged only then (the task that deleted it is among those), so it is no removal without a task."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.approval_guests import select_rows
from tests.conftest import app_settings
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer
from tests.side_door_people import CI_TOKEN, Direct, side_door_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """A small cluster of its own (a node of it goes offline)."""
    yield from side_door_cluster(tmp_path_factory.mktemp("gaps"))


def test_an_unreadable_node_is_named_and_caught_up_once_it_answers(
    cluster: ServedFake, tmp_path: Path
) -> None:
    pve = cluster.pve
    pve.add_vm(9521, "gap-a", node="pve2", status="stopped", config={"memory": 512})
    pve.add_vm(9522, "gap-b", node="pve2", status="stopped", config={"memory": 512})
    settings = app_settings(
        cluster, f"sqlite:///{tmp_path / 'gaps.db'}", tmp_path, observe_interval_seconds=0.3
    )
    first = AppServer(settings)
    try:
        deadline = time.monotonic() + 20
        while select_rows(settings, "SELECT count(*) FROM observer_cursors")[0][0] < len(pve.nodes):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        first.stop()
    direct = Direct(cluster)
    try:
        upid = direct.call("POST", "/nodes/pve2/qemu/9521/status/start")  # while no Proxgate runs
        deleted = direct.call("DELETE", "/nodes/pve2/qemu/9522")
    finally:
        direct.close()
    pve.set_node_offline("pve2")
    second = AppServer(settings)
    admin = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'admin'), 'admin')}"}
    try:
        with signed_in(second.url, make_user(settings, "admin")) as browser:
            page = wait_for(browser, "/admin/side-doors", "pve2&#39;s tasks since")
            assert 'id="observer-gaps"' in page and "could not be read yet" in page
            assert not observed(browser, admin, upid)
            pve.set_node_offline("pve2", offline=False)
            deadline = time.monotonic() + 15
            while not (events := observed(browser, admin, upid)):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert [(e["operation"], e["actor_name"]) for e in events] == [("start", CI_TOKEN)]
            assert "observer-gaps" not in browser.get("/admin/side-doors").text
            gone = browser.get("/api/v1/audit", params={"vmid": 9522}, headers=admin).json()["items"]
            assert [(e["operation"], e["actor_name"], e["upid"]) for e in gone] == [
                ("delete", CI_TOKEN, deleted)
            ], gone
    finally:
        pve.set_node_offline("pve2", offline=False)
        second.stop()


def observed(browser: httpx.Client, head: dict[str, str], upid: str) -> list[dict[str, object]]:
    """The observed events of the task."""
    answer = browser.get("/api/v1/audit", params={"source": "proxmox", "q": upid}, headers=head)
    return list(answer.json()["items"])


def wait_for(browser: httpx.Client, path: str, text: str, timeout: float = 15) -> str:
    """The page once it shows the text."""
    deadline = time.monotonic() + timeout
    while True:
        page = str(browser.get(path).text)
        if text in page:
            return page
        assert time.monotonic() < deadline, page[-2000:]
        time.sleep(0.2)
