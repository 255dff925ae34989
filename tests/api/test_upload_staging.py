"""The staging folder keeps a received file exactly as long as something may still upload it: a request waiting
for approval keeps its file whatever its age, a rejected one loses it at the next sweep, and a file nothing names
is removed once older than the grace period. The storage's page says what the folder holds."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.engine import create_engine, session_factory
from app.services.pipeline import GRACE_SECONDS, sweep_staging
from tests.approval_guests import people
from tests.conftest import app_settings
from tests.factories import make_user, run_async, signed_in
from tests.fakepve_thread import ServedFake
from tests.ip_guests import eventually
from tests.servers import AppServer

NAME = "held-back.iso"
DATA = b"an ISO image that waits for a second person\n" * 1024


@pytest.fixture
def held_app(served_fake: ServedFake, database_url: str, tmp_path: Path) -> Iterator[AppServer]:
    """An app where an upload waits for an approver."""
    server = AppServer(app_settings(served_fake, database_url, tmp_path, approval_operations="upload"))
    yield server
    server.stop()


def sweep(settings: Settings) -> list[str]:
    """One sweep of the staging folder, as another process's housekeeping would run it."""

    async def once() -> list[str]:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await sweep_staging(session_factory(engine), settings.data_dir / "uploads")
        finally:
            await engine.dispose()

    return run_async(once())


def age(path: Path, seconds: float) -> Path:
    """The file as if last written `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_a_waiting_request_keeps_its_file_until_it_is_rejected(held_app: AppServer) -> None:
    settings = held_app.app.state.runtime.settings
    crew = people(settings)
    folder = settings.data_dir / "uploads"
    with httpx.Client(base_url=held_app.url, timeout=30) as client:
        asked = client.post(
            "/api/v1/storage/pve1/local/upload",
            data={"content": "iso", "filename": NAME, "reason": "the rescue image"},
            files={"file": (NAME, DATA)},
            headers=crew.alice,
        )
        assert asked.status_code == 202, asked.text
        [waiting] = list(folder.iterdir())
        age(waiting, 2 * GRACE_SECONDS)  # older than the grace period: only its request keeps it
        old_orphan = folder / ("o" * 32)
        old_orphan.write_bytes(b"left behind by a process that died")
        age(old_orphan, GRACE_SECONDS + 60)
        young_orphan = folder / ("y" * 32)
        young_orphan.write_bytes(b"just arrived, its request not written yet")
        assert sweep(settings) == ["o" * 32]
        assert sorted(p.name for p in folder.iterdir()) == sorted([waiting.name, "y" * 32])

        with signed_in(held_app.url, make_user(settings, "operator")) as operator:
            shown = operator.get("/storage/pve1/local").text
        assert "staging folder holds 2 received files" in shown and 'id="upload-staged"' in shown

        rid = asked.json()["request_id"]
        rejected = client.post(
            f"/api/v1/requests/{rid}/reject", json={"comment": "not this one"}, headers=crew.bob
        )
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    age(waiting, 0)  # young: the rejection alone lets it go
    assert sweep(settings) == [waiting.name]
    assert [p.name for p in folder.iterdir()] == ["y" * 32], "the rejected request's file is gone"


def test_an_app_sweeps_the_staging_folder_when_it_starts(
    served_fake: ServedFake, database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    left = folder / ("l" * 32)
    left.touch()
    age(left, GRACE_SECONDS + 60)
    young = folder / ("y" * 32)
    young.touch()
    server = AppServer(app_settings(served_fake, database_url, tmp_path))
    try:
        eventually(lambda: not left.exists())
        assert young.exists()
    finally:
        server.stop()
