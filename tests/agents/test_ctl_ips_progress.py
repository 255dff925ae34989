"""`proxgate ctl ips` on a new install: it waits for every guest to be read, and never prints part of a listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.agents import waiting
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.agent_guests import helper_ips
from tests.agents.test_ctl import ctl
from tests.backup_guests import FakeApi
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.ip_guests import cold_app
from tests.servers import AppServer


@pytest.fixture
def cold(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> Iterator[tuple[AppServer, Settings]]:
    """An app that has never read the cluster."""
    with cold_app(served_fake, empty_database, tmp_path / "data") as made:
        yield made


def test_ctl_ips_fails_on_part_of_a_listing_and_waits_for_the_whole(
    cold: tuple[AppServer, Settings],
    pve: DemoPve,
    fake_api: FakeApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, settings = cold
    viewer = make_token(settings, make_user(settings, "viewer"))
    expected = helper_ips(fake_api)  # the shell helper's loop, before configurations are answered late
    pve.stall("GET", "/config", 1.0)
    monkeypatch.setattr(waiting, "LISTING_WAIT", 0.0)
    part = ctl(server, viewer, "ips")
    assert part.code == 1 and part.lines == []
    assert "could not be read whole: Read 0 of" in part.err and "ask again in a moment" in part.err
    monkeypatch.setattr(waiting, "LISTING_WAIT", 60.0)
    whole = ctl(server, viewer, "ips")
    assert whole.code == 0 and whole.lines == expected != []
