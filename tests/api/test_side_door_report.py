"""The side-door report: which Proxmox users and tokens can change guests without Proxgate, how to close each
door, and what Proxgate's token could not see."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.proxmox.client import PveClient
from app.proxmox.connection import PveConnection
from app.services.sidedoors import SideDoors
from tests.conftest import app_settings
from tests.factories import login, make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer
from tests.side_door_people import side_door_cluster

AUDIT_ONLY = ("auditor@pve!proxgate", "0f7c3d52-8b1e-4c6a-9e2d-3a4b5c6d7e8f")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """The demo's people on a small cluster, and a token that may list users but not read their rights."""
    for served in side_door_cluster(tmp_path_factory.mktemp("report")):
        pve = served.pve
        pve.add_access_user("auditor@pve")
        pve.add_access_token("auditor@pve", "proxgate", AUDIT_ONLY[1])
        pve.set_acl("/access/groups", AUDIT_ONLY[0], "PVEAuditor", kind="token")
        pve.set_acl("/access/groups", "auditor@pve", "PVEAuditor")
        yield served


@pytest.fixture(scope="module")
def report_settings(cluster: ServedFake, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Proxgate's settings for that cluster, with a database of its own."""
    folder = tmp_path_factory.mktemp("report-app")
    return app_settings(cluster, f"sqlite:///{folder / 'report.db'}", folder)


@pytest.fixture(scope="module")
def server(report_settings: Settings) -> Iterator[AppServer]:
    """Proxgate on that cluster."""
    app = AppServer(report_settings)
    yield app
    app.stop()


def test_the_report_names_who_can_delete_and_who_cannot(server: AppServer, report_settings: Settings) -> None:
    admin = {
        "Authorization": f"Bearer {make_token(report_settings, make_user(report_settings, 'admin'), 'admin')}"
    }
    report = httpx.get(f"{server.url}/api/v1/side-doors", headers=admin, timeout=30).json()
    by_id = {p["id"]: p for p in report["items"]}
    root, ci, monitor = by_id["root@pam"], by_id["ci@pve!deploy"], by_id["monitor@pve"]
    assert root["side_door"] and root["holds"]["delete"] == ["/"] and root["can_log_in"]
    assert ci["side_door"] and ci["holds"]["delete"] == ["/vms"]
    assert ci["proposals"] == ["pveum user token remove ci@pve deploy"]
    assert not monitor["side_door"] and monitor["holds"] == {} and monitor["can_log_in"]
    ours = by_id["root@pam!proxgate"]
    assert ours["proxgate"] and not ours["side_door"] and ours["proposals"] == []
    former = by_id["former@pve"]
    assert not former["enabled"] and not former["can_log_in"] and not former["side_door"]
    assert (
        former["holds"]["delete"] == ["/"] and former["proposals"] == []
    )  # the rights stay, the door is shut
    ops = by_id["ops@pve"]
    assert "pveum acl delete / --users ops@pve --roles PVEAdmin" in ops["proposals"]
    assert "pveum acl modify / --users ops@pve --roles PVEAuditor" in ops["proposals"]
    assert report["side_doors"] == len([p for p in report["items"] if p["side_door"]]) >= 4
    viewer = {"Authorization": f"Bearer {make_token(report_settings, make_user(report_settings, 'viewer'))}"}
    assert httpx.get(f"{server.url}/api/v1/side-doors", headers=viewer, timeout=30).status_code == 403


def menu(page: str) -> str:
    """The page's main navigation."""
    return page.split('<nav class="nav" aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def tabs(page: str) -> str:
    """The admin pages' tabs."""
    return page.split('<nav class="tabs" aria-label="Admin" id="admin-tabs">', 1)[1].split("</nav>", 1)[0]


def test_the_page_and_the_dashboard_show_the_side_doors_to_admins(
    server: AppServer, report_settings: Settings
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert login(browser, make_user(report_settings, "admin")).status_code == 303
        page = browser.get("/admin/side-doors")
        assert page.status_code == 200
        # Under the admin's menu entry on every page, and a tab of the admin pages, marked where it is open.
        assert '<a href="/admin/users" aria-current="page">Admin</a>' in menu(page.text)
        assert 'href="/admin/users" >Admin</a>' in menu(browser.get("/").text)
        assert '/admin/side-doors" aria-current="page">Side doors</a>' in tabs(page.text)
        assert '/admin/side-doors">Side doors</a>' in tabs(browser.get("/admin/users").text)
        assert "own token</span>" in page.text and "can log in" in page.text
        assert "pveum user token remove ci@pve deploy" in page.text
        count = browser.get("/side-doors/alerts")
        assert "can change guests without Proxgate" in count.text and 'id="side-door-count"' in count.text
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert login(browser, make_user(report_settings, "approver")).status_code == 303
        assert browser.get("/admin/side-doors").status_code == 403
        assert "Admin" not in menu(browser.get("/").text)
        assert "side-door-count" not in browser.get("/side-doors/alerts").text


@pytest.fixture
async def auditor_client(cluster: ServedFake) -> AsyncIterator[PveClient]:
    """A client with the token that lists users but holds no Sys.Audit on /access."""
    connection = PveConnection(cluster.address, *AUDIT_ONLY, fingerprint=cluster.fingerprint, resources_ttl=0)
    async with PveClient(connection) as client:
        yield client


async def test_what_the_token_could_not_read_is_named(auditor_client: PveClient, tmp_path: Path) -> None:
    report = await SideDoors(auditor_client).report()
    assert report.unreadable is None and len(report.principals) >= 5
    others = [p for p in report.principals if p.user != "auditor@pve"]
    assert others and all(p.unreadable and "lacks Sys.Audit on /access" in p.unreadable for p in others)
    assert report.acl_unreadable is None  # an empty list: nothing it may change the permissions of
