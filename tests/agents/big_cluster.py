"""A 2,000-guest demo cluster on a fake and an app of its own, with /mcp on: the MCP tests at scale share it
(tests/agents/conftest.py makes it once for the package)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.demo.seed import seed_cluster
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, ServedFake
from tests.servers import AppServer

GUESTS = 2000


@dataclass
class Big:
    """The app with /mcp on, over a seeded fake of GUESTS guests, and an operator's token."""

    server: AppServer
    served: ServedFake
    pve: DemoPve
    settings: Settings
    token: str

    def api(self) -> httpx.Client:
        """A client of the app's /api/v1 with the operator's token."""
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=180)

    def whole(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of an API listing, 500 a page."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {**params, "limit": 500}
        with self.api() as api:
            while True:
                page = api.get(path, params=query).json()
                items += page["items"]
                if not page["next_cursor"]:
                    return items
                query["cursor"] = page["next_cursor"]


def big_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    """GUESTS guests (the demo's seed, as bench/ uses it) on their own fake and app; four starts and three
    requests for deletion already made through the API, so that tasks, audit events and requests span pages."""
    pve = DemoPve()
    seed_cluster(pve, guests=GUESTS)
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    folder: Path = tmp_path_factory.mktemp("big")
    served = ServedFake(pve, folder)
    settings = app_settings(served, f"sqlite:///{folder / 'big.db'}", folder / "data", mcp_http=True)
    server = AppServer(settings)
    try:
        made = Big(server, served, pve, settings, make_token(settings, make_user(settings, "operator")))
        stopped = [vm.vmid for vm in pve.vms if vm.status == "stopped" and not vm.template]
        with made.api() as api:
            for vmid in stopped[:4]:
                assert api.post(f"/api/v1/guests/{vmid}/actions/start", json={}).status_code == 200
            for vmid in stopped[4:7]:
                asked = api.post(f"/api/v1/guests/{vmid}/actions/delete", json={"reason": "scale test"})
                assert asked.status_code == 202, asked.text
            # Every guest's addresses read once: the index fills in the background, so wait for the whole.
            deadline = time.monotonic() + 300
            while not api.get("/api/v1/ips", params={"limit": 1}).json()["complete"]:
                assert time.monotonic() < deadline, "the IP index was not read whole in 5 minutes"
                time.sleep(0.5)
        time.sleep(0.6)  # past the app's cached cluster view
        yield made
    finally:
        server.stop()
        served.stop()
