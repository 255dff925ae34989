"""The data on disk is the app's user's alone: a new data dir is 0700 with 0600 files, open ones are warned about."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db.files import open_to_others
from app.db.migrate import upgrade_database
from tests.conftest import app_settings
from tests.factories import make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

# Each test makes a SQLite data dir of its own, whatever database the suite runs on.
pytestmark = pytest.mark.database_free


@pytest.fixture
def common_umask() -> Iterator[None]:
    """The usual umask (022), under which files are made readable by everyone unless asked otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    """The permission bits of a file or folder."""
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_dir_is_private_after_start_up(
    served_fake: ServedFake, tmp_path: Path, common_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.runtime")
    data = tmp_path / "new" / "data"
    # The default database (SQLite in the data dir) and a generated secret key, as a first start has them.
    settings = app_settings(served_fake, "", data, secret_key=None)
    server = AppServer(settings)
    try:
        make_user(settings, "admin")  # a write, so the WAL and its index exist beside the database
        names = sorted(p.name for p in data.iterdir())
        assert names == ["proxgate.db", "proxgate.db-shm", "proxgate.db-wal", "secret_key"]
        assert mode(data) == 0o700
        assert {name: mode(data / name) for name in names} == dict.fromkeys(names, 0o600)
    finally:
        server.stop()
    assert not [r for r in caplog.records if "open to group or others" in r.getMessage()]


def test_a_database_open_to_others_is_warned_about_at_start_up(
    served_fake: ServedFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.runtime")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    database = data / "proxgate.db"
    upgrade_database(f"sqlite:///{database}")
    database.chmod(0o644)  # as an older Proxgate, a copy or a restore left it
    server = AppServer(app_settings(served_fake, f"sqlite:///{database}", data))
    server.stop()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        line.startswith(f"{database} is open to group or others (mode 0644)")
        and f"chmod 600 {database}" in line
        for line in warned
    ), warned
    assert mode(database) == 0o644  # told, not changed behind the operator's back


def test_open_modes_are_named_with_the_command_that_closes_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "secret_key").touch(mode=0o600)
    (data / "proxgate.db").touch()
    (data / "proxgate.db").chmod(0o640)
    elsewhere = tmp_path / "db" / "other.db"
    elsewhere.parent.mkdir()
    Path(f"{elsewhere}-wal").touch()
    Path(f"{elsewhere}-wal").chmod(0o604)
    lines = open_to_others(data, f"sqlite+aiosqlite:///{elsewhere}")
    assert [line.split(" is open")[0] for line in lines] == [
        str(data),
        str(data / "proxgate.db"),
        f"{elsewhere}-wal",
    ]
    assert "(mode 0755)" in lines[0] and lines[0].endswith(f"chmod 700 {data}")
    assert "(mode 0640)" in lines[1] and lines[1].endswith(f"chmod 600 {data / 'proxgate.db'}")
    assert open_to_others(tmp_path / "missing", "postgresql+psycopg://db/proxgate") == []
