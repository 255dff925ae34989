"""Two admins demoting each other at the same moment, through two app instances on one database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from app.db.migrate import upgrade_database
from tests.conftest import app_settings
from tests.factories import make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer
from tests.web.test_admin import user_id


def active_admins(url: str) -> int:
    """How many active admins the database holds."""
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM users WHERE role = 'admin' AND is_active")
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path / "data")
    first, second = AppServer(settings), AppServer(settings)
    try:
        names = make_user(settings, "admin"), make_user(settings, "admin")
        with signed_in(first.url, names[0]) as one, signed_in(second.url, names[1]) as two:
            ids = user_id(one, names[1]), user_id(one, names[0])
            for _ in range(6):
                barrier = threading.Barrier(2)

                def demote(client: httpx.Client, target: str, barrier: threading.Barrier = barrier) -> int:
                    barrier.wait()
                    return client.post(f"/admin/users/{target}", data={"role": "viewer"}).status_code

                with ThreadPoolExecutor(2) as pool:
                    statuses = sorted(pool.map(demote, (one, two), ids))
                assert active_admins(empty_database) == 1
                # The loser was refused: as the last admin (409), or already demoted when it asked (403).
                assert statuses[0] == 200 and statuses[1] in (403, 409)
                survivor, other = (
                    (one, ids[0]) if one.get("/admin/users").status_code == 200 else (two, ids[1])
                )
                assert survivor.post(f"/admin/users/{other}", data={"role": "admin"}).status_code == 200
    finally:
        first.stop()
        second.stop()
