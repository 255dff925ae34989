"""Proxmox in trouble: each fault gives a clear message on the page a user is on, within the timeout, and the
same page is normal again once Proxmox is back (after the resources cache's TTL)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fakepve.shapes import PRIVILEGES

from app.config import Settings
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.factories import make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer
from tests.tcp_proxy import TcpProxy

TIMEOUT = 1.0
TTL = 0.5
# What a page may take beyond the Proxmox timeout: rendering, the database, a loaded machine.
MARGIN = 0.9
# A token of its own (not root's, whose ACLs fakepve ignores), so the 403 case can take a privilege away.
TOKEN_ID = "proxgate@pve!faults"
TOKEN_SECRET = "9b2e1c3d-5f60-4a7b-8c9d-0e1f2a3b4c5d"
# Words that tell of Proxmox trouble: none may be left on a page once Proxmox is back.
TROUBLE = ("could not be read", "cannot be reached", "Cannot reach Proxmox", "is offline")
PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


@dataclass
class Scene:
    """What a case works with: the fake, the proxy in front of it, a signed-in operator, and a guest."""

    pve: DemoPve
    proxy: TcpProxy
    http: httpx.Client
    vm: Any
    answered: float = 0.0  # seconds the last page or action took to answer

    def get(self, path: str) -> str:
        """A page, timed."""
        started = time.monotonic()
        text = self.http.get(path).text
        self.answered = time.monotonic() - started
        return text


@dataclass
class Fault:
    """A way Proxmox fails, the page it is seen on, what the user reads then, and what normal looks like."""

    name: str
    inject: Callable[[Scene], None]
    undo: Callable[[Scene], None]
    visit: Callable[[Scene], str]
    says: tuple[str, ...]
    normal: str
    misleads: str = "no such text"  # what would tell the user the wrong story


@dataclass
class Proxied:
    """An app whose way to Proxmox runs through a proxy the test can cut."""

    server: AppServer
    settings: Settings
    proxy: TcpProxy
    http: httpx.Client


@pytest.fixture(scope="module")
def proxied(
    served_fake: ServedFake, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxied]:
    """One app for the module: 1 s Proxmox timeout, 0.5 s resources cache, Proxmox behind a TCP proxy."""
    served_fake.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    proxy = TcpProxy(served_fake.pve.host, served_fake.pve.port)
    settings = app_settings(
        served_fake,
        database_url,
        tmp_path_factory.mktemp("faults"),
        proxmox_host=proxy.address,
        proxmox_token_id=TOKEN_ID,
        proxmox_token_secret=TOKEN_SECRET,
        proxmox_timeout=TIMEOUT,
        resources_ttl=TTL,
    )
    server = AppServer(settings)
    with signed_in(server.url, make_user(settings, "operator")) as http:
        yield Proxied(server, settings, proxy, http)
    server.stop()
    proxy.cut()
    served_fake.pve.apitokens.pop(TOKEN_ID, None)


@pytest.fixture
def scene(proxied: Proxied, pve: DemoPve) -> Iterator[Scene]:
    """The signed-in operator and a stopped, unlocked VM on an online node; the VM is stopped again afterwards."""
    vm = next(v for v in pve.vms if v.status == "stopped" and not v.template and not v.lock)
    time_scale = pve.time_scale
    yield Scene(pve, proxied.proxy, proxied.http, vm)
    proxied.proxy.restore()
    pve.time_scale = time_scale
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    pve.unlock(vm.vmid)
    vm.status, vm.qmpstatus = "stopped", "stopped"


def dashboard(scene: Scene) -> str:
    """The dashboard."""
    return scene.get("/")


def guest_list(scene: Scene) -> str:
    """The guest list."""
    return scene.get("/guests")


def guest_page(scene: Scene) -> str:
    """The VM's page."""
    return scene.get(f"/guests/{scene.vm.vmid}")


def start_guest(scene: Scene) -> str:
    """Press Start on the VM's page, and follow the task it started to its end, as the page does."""
    started = time.monotonic()
    answer = scene.http.post(f"/guests/{scene.vm.vmid}/actions/start", headers={"HX-Request": "true"})
    scene.answered = time.monotonic() - started
    text = answer.text
    found = re.search(r'href="([^"]+)" id="action-task-link"', text)
    if found is None:
        return text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        task = scene.http.get(found.group(1), headers={"HX-Request": "true"}).text
        if "running" not in task.lower() or time.monotonic() + 0.2 > deadline:
            return text + task
        time.sleep(0.2)
    return text


def slow(scene: Scene) -> None:
    """Every answer takes 5 real seconds."""
    scene.pve.time_scale = 1.0
    scene.pve.slow_network(5.0)


def fast(scene: Scene) -> None:
    """Answers come at once again."""
    scene.pve.slow_network(0.0)
    scene.pve.time_scale = 0.0


def slow_node(scene: Scene) -> None:
    """Only the VM's node answers 5 real seconds late (the API host proxies to it over a bad link)."""
    scene.pve.time_scale = 1.0
    scene.pve.slow_network(5.0, node=scene.vm.node)


def fast_node(scene: Scene) -> None:
    """The node answers at once again."""
    scene.pve.slow_network(0.0, node=scene.vm.node)
    scene.pve.time_scale = 0.0


def deny_sys_audit(scene: Scene) -> None:
    """The token holds every privilege on / except Sys.Audit (PVEVMAdmin and storage roles, say)."""
    scene.pve.grant(TOKEN_ID, "/", *(p for p in PRIVILEGES if p != "Sys.Audit"))
    scene.pve.grant(TOKEN_ID, "/nodes", "Sys.Audit")


def offline(scene: Scene) -> None:
    """The VM's node goes away (PVE answers 595 for it)."""
    scene.pve.set_node_offline(scene.vm.node)


FAULTS = [
    Fault(
        "unreachable",
        lambda s: s.proxy.cut(),
        lambda s: s.proxy.restore(),
        dashboard,
        ("Proxmox cannot be reached right now.", "connection refused"),
        "Nodes online",
    ),
    Fault(
        "unreachable-action",
        lambda s: s.proxy.cut(),
        lambda s: s.proxy.restore(),
        start_guest,
        ("Cannot reach Proxmox VE", "connection refused"),
        ": started.",
    ),
    Fault(
        "slow",
        slow,
        fast,
        guest_list,
        ("Proxmox cannot be reached right now, so no guest can be shown.", f"no answer within {TIMEOUT:g} s"),
        'id="guest-table"',
    ),
    Fault(
        "node-slow",
        slow_node,
        fast_node,
        guest_page,
        (f"no answer within {TIMEOUT:g} s",),
        'id="disk-table"',
    ),
    Fault(
        "flaky",
        lambda s: s.pve.flaky_network(drop_rate=1.0),
        lambda s: s.pve.flaky_network(),
        guest_page,
        ("Cannot reach Proxmox VE", "the connection was dropped before PVE answered"),
        'id="disk-table"',
    ),
    Fault(
        "html-from-a-proxy",
        lambda s: s.pve.fail("GET", "/cluster/resources", 502, PROXY_PAGE, html=True),
        lambda s: s.pve.failures.clear(),
        guest_list,
        ("Proxmox cannot be reached right now, so no guest can be shown.", "Bad Gateway"),
        'id="guest-table"',
    ),
    Fault(
        "html-login-page",
        lambda s: s.pve.fail(
            "GET", "/cluster/resources", 200, "<html><body>Sign in to continue</body></html>", html=True
        ),
        lambda s: s.pve.failures.clear(),
        dashboard,
        ("Proxmox answered with an error.", "PVE answered with something that is not JSON"),
        "Nodes online",
        misleads="cannot be reached",
    ),
    Fault(
        "token-revoked",
        lambda s: s.pve.apitokens.__setitem__(TOKEN_ID, "revoked"),
        lambda s: s.pve.apitokens.__setitem__(TOKEN_ID, TOKEN_SECRET),
        dashboard,
        (
            "Proxmox refused Proxgate’s API token.",
            f"refused the API token {TOKEN_ID}",
            "deleted or has expired",
        ),
        "Nodes online",
        misleads="cannot be reached",
    ),
    Fault(
        "partial-403",
        deny_sys_audit,
        lambda s: setattr(s.pve, "acl", None),
        dashboard,
        ("Quorum and node addresses are hidden", "lacks the privilege Sys.Audit on /"),
        "Nodes online",
    ),
    Fault(
        "quorum-lost",
        lambda s: s.pve.lose_quorum(),
        lambda s: s.pve.regain_quorum(),
        start_guest,
        ("The cluster has lost quorum, so Proxmox makes no changes until enough nodes are back",),
        ": started.",
    ),
    Fault(
        "node-offline",
        offline,
        lambda s: s.pve.set_node_offline(s.vm.node, offline=False),
        guest_page,
        ("Node {node} is offline: Proxmox cannot say what this guest is doing",),
        'id="disk-table"',
    ),
    Fault(
        "guest-locked",
        lambda s: s.pve.snapshot_lock(s.vm.vmid, "backup"),
        lambda s: s.pve.unlock(s.vm.vmid),
        start_guest,
        ("locked (backup)",),
        ": started.",
    ),
    Fault(
        "task-failed",
        lambda s: s.pve.fail("POST", f"/qemu/{s.vm.vmid}/status/start", error="qemu_exited_code"),
        lambda s: s.pve.failures.clear(),
        start_guest,
        ("QEMU exited with code 1",),
        ": started.",
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_fault_is_told_plainly_in_time_and_the_page_recovers(scene: Scene, fault: Fault) -> None:
    fault.inject(scene)
    time.sleep(TTL + 0.1)  # what the cache held before the fault is gone
    page = fault.visit(scene)
    says = [text.format(node=scene.vm.node, vmid=scene.vm.vmid) for text in fault.says]
    for text in says:
        assert text in page, f"{fault.name}: {text!r} is not on the page:\n{visible(page)}"
    assert "Traceback" not in page and "Something went wrong on our side" not in page
    assert fault.misleads not in page, f"{fault.name}: the page says {fault.misleads!r}"
    assert scene.answered < TIMEOUT + MARGIN, f"{fault.name}: the answer took {scene.answered:.2f} s"
    fault.undo(scene)
    time.sleep(TTL + 0.1)
    page = fault.visit(scene)
    assert fault.normal in page, f"{fault.name}: not normal again:\n{visible(page)}"
    for text in (*says, *TROUBLE):
        assert text not in page, f"{fault.name}: {text!r} is still on the page"


def visible(html: str) -> str:
    """The page's text without its tags, shortened, for an assertion's message."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))[:3000]
