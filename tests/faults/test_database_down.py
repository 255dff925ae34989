"""PostgreSQL stopped: not ready, plain words on pages, no change reaches Proxmox, and recovery without restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer
from tests.tcp_proxy import TcpProxy

UNAVAILABLE = "The database is unavailable right now"
# A refused connection is told at once; this allows for a loaded machine.
PROMPT = 3.0


@pytest.fixture
def postgres_behind_proxy(postgres_database: str) -> Iterator[tuple[str, TcpProxy]]:
    """A fresh PostgreSQL database, reached through a TCP proxy; its URL and the proxy."""
    url = make_url(postgres_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    finally:
        proxy.cut()


@pytest.fixture
def stopped_vm(pve: DemoPve) -> Iterator[Any]:
    """A stopped, unlocked VM of the demo; stopped again afterwards."""
    vm = next(v for v in pve.vms if v.status == "stopped" and not v.template and not v.lock)
    yield vm
    vm.status, vm.qmpstatus = "stopped", "stopped"


def timed(call: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    """The answer, which must come promptly."""
    started = time.monotonic()
    answer: httpx.Response = call(*args, **kwargs)
    waited = time.monotonic() - started
    assert waited < PROMPT, f"{args[0]} took {waited:.2f} s with the database gone"
    return answer


def test_postgres_stopped_is_told_plainly_changes_nothing_and_is_recovered_from(
    served_fake: ServedFake,
    pve: DemoPve,
    postgres_behind_proxy: tuple[str, TcpProxy],
    stopped_vm: Any,
    tmp_path: Path,
) -> None:
    url, proxy = postgres_behind_proxy
    settings = app_settings(served_fake, url, tmp_path / "data")
    server = AppServer(settings)
    operator = make_user(settings, "operator")
    bearer = {"Authorization": f"Bearer {make_token(settings, operator)}"}
    start = f"/api/v1/guests/{stopped_vm.vmid}/actions/start"
    try:
        with signed_in(server.url, operator) as browser, httpx.Client(base_url=server.url, timeout=30) as api:
            assert api.get("/readyz").status_code == 200
            assert browser.get(f"/guests/{stopped_vm.vmid}").status_code == 200

            proxy.cut()
            sent_before = len(pve.requests)
            ready = timed(api.get, "/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            for path in ("/", "/guests", f"/guests/{stopped_vm.vmid}"):
                page = timed(browser.get, path)
                assert page.status_code == 503, f"{path}: {page.status_code}"
                assert UNAVAILABLE in page.text, f"{path}: {page.text[:2000]}"
                assert "Something went wrong on our side" not in page.text
            refused = timed(api.post, start, json={}, headers=bearer)
            assert refused.status_code == 503 and UNAVAILABLE in refused.json()["detail"], refused.text
            pressed = timed(
                browser.post, f"/guests/{stopped_vm.vmid}/actions/start", headers={"HX-Request": "true"}
            )
            assert pressed.status_code == 503 and UNAVAILABLE in pressed.text, pressed.text
            upstream = [
                (m, p) for m, p, _ in pve.requests[sent_before:] if m != "GET" or f"/{stopped_vm.vmid}/" in p
            ]
            assert upstream == [], f"sent to Proxmox with the database gone: {upstream}"
            assert pve.vm(stopped_vm.vmid).status == "stopped"

            proxy.restore()
            assert api.get("/readyz").status_code == 200
            page = browser.get(f"/guests/{stopped_vm.vmid}")
            assert page.status_code == 200 and UNAVAILABLE not in page.text
            started = api.post(start, json={}, headers=bearer)
            assert started.status_code == 200, started.text
            assert pve.vm(stopped_vm.vmid).status == "running"
    finally:
        server.stop()
