"""The data on disk: a new SQLite database (and its folder) is private to the app's user; open modes are named.

SQLite gives its -wal, -shm and -journal files the mode of the database file (os_unix.c, findCreateFileMode),
so creating the database file 0600 before SQLite first opens it keeps all of them private whatever the umask.
Changing the umask instead would be process-wide and race with other threads creating files. Existing files
keep their modes and are warned about: tightening an operator's modes unasked could break their backup job.
"""

from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The SQLite database file a URL names; None for PostgreSQL and for in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def make_private_dir(path: Path) -> None:
    """Create the folder (and missing parents) for the app's user alone; an existing one is left as it is."""
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def make_private_sqlite(url: str) -> None:
    """Before SQLite first opens a database: create its folder 0700 and its empty file 0600 when missing."""
    path = sqlite_file(url)
    if path is None:
        return
    make_private_dir(path.parent)
    # O_EXCL: an existing database, or one another process made a moment ago, keeps its mode.
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def open_to_others(data_dir: Path, database_url: str) -> list[str]:
    """One line for each of the data dir, its files and the SQLite files that group or others may use."""
    paths = [data_dir, *(sorted(p for p in data_dir.iterdir() if p.is_file()) if data_dir.is_dir() else [])]
    database = sqlite_file(database_url)
    if database is not None:
        paths += [Path(f"{database}{suffix}") for suffix in SQLITE_SUFFIXES]
    lines = []
    for path in dict.fromkeys(p.absolute() for p in paths):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & OPEN_TO_OTHERS:
            private = PRIVATE_DIR if stat.S_ISDIR(mode) else PRIVATE_FILE
            lines.append(
                f"{path} is open to group or others (mode {stat.S_IMODE(mode):04o}), but Proxgate's data "
                f"(sessions, the audit log, the secret key) is for its own user: run chmod {private:o} {path}"
            )
    return lines
