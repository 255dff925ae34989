"""Slow Proxmox: a page waits no longer than the timeout its message names, retries included."""

from __future__ import annotations

import time
from pathlib import Path

from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.factories import make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


def test_a_stalled_proxmox_answers_within_the_named_timeout(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path
) -> None:
    upgrade_database(empty_database)
    settings = app_settings(
        served_fake, empty_database, tmp_path / "data", proxmox_timeout=1.0, resources_ttl=0
    )
    server = AppServer(settings)
    try:
        with signed_in(server.url, make_user(settings, "viewer")) as http:
            pve.stall("GET", "/cluster/resources", 5.0)
            started = time.monotonic()
            page = http.get("/guests")
            waited = time.monotonic() - started
            assert "Proxmox cannot be reached right now" in page.text
            assert "no answer within 1 s" in page.text
            assert waited < 1.5, f"the page took {waited:.2f} s for a 1 s timeout"
            pve.stalls.clear()
            pve.slow_network(0.3)  # slow but within the timeout: the page simply takes longer
            assert "no answer within" not in http.get("/guests").text
    finally:
        server.stop()
