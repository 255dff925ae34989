"""Files received for an upload, kept under a random name in the staging folder until the operation `upload`
sends them on to Proxmox (and deletes them), and the sweep that removes those nothing will send any more."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest
from app.operations.uploads import STAGED

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
# How long a file nothing names is kept: it may be between its arrival and the request or call that uses it
# (a file still arriving is written to, so its age counts from its last byte).
GRACE_SECONDS = 3600.0
# Requests that may still upload their file (a waiting one keeps it until it expires: the approval expiry).
LIVE = ("pending", "scheduled", "executing")
# Requests that never will: their file goes at the next sweep, whatever its age.
DROPPED = ("rejected", "cancelled", "expired")
# Only names stage_file() gives are ever swept: nothing else in the folder is the sweep's to delete.
STAGED_NAME = re.compile(STAGED)


class Readable(Protocol):
    """What the file a request brings offers: reads of a chunk at a time."""

    async def read(self, size: int = -1) -> bytes:
        """Up to size bytes, b'' at the end."""
        ...


@dataclass(frozen=True)
class Held:
    """What the staging folder holds: how many files, how many bytes."""

    files: int
    size: int


async def stage_file(staging: Path, source: Readable) -> tuple[str, int]:
    """Copy the file into the staging folder (readable by this user only), a chunk at a time; its name there
    and its size."""
    await asyncio.to_thread(staging.mkdir, mode=0o700, parents=True, exist_ok=True)
    name = secrets.token_urlsafe(24)
    path = staging / name
    size = 0
    handle = await asyncio.to_thread(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while chunk := await source.read(CHUNK):
            size += len(chunk)
            await asyncio.to_thread(os.write, handle, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        os.close(handle)
    return name, size


def discard(staging: Path, name: str) -> None:
    """Delete a staged file that will not be uploaded (the change was refused)."""
    (staging / name).unlink(missing_ok=True)


def held(staging: Path) -> Held:
    """The files in the staging folder and their size (waiting ones, and leftovers the sweep has not reached)."""
    sizes = [stat.st_size for stat in _staged(staging).values()]
    return Held(len(sizes), sum(sizes))


async def sweep_staging(
    sessions: async_sessionmaker[AsyncSession], staging: Path, grace: float = GRACE_SECONDS
) -> list[str]:
    """Delete the staged files nothing may still upload; the names deleted."""
    files = await asyncio.to_thread(_ages, staging)
    if not files:
        return []
    live = await _named(sessions, LIVE)
    removed = []
    for name, age in files.items():
        if name in live or not (age > grace or await _dropped(sessions, name)):
            continue
        if await asyncio.to_thread(_remove_unless_open, staging / name):
            removed.append(name)
    if removed:
        log.info("staging folder: removed %d file(s) nothing will upload", len(removed))
    return removed


def _ages(staging: Path) -> dict[str, float]:
    """Each staged file's seconds since it was last written."""
    now = time.time()
    return {name: now - stat.st_mtime for name, stat in _staged(staging).items()}


def _staged(staging: Path) -> dict[str, os.stat_result]:
    """The staged files by name (only names stage_file() gives), leaving out any deleted while looked at."""
    found: dict[str, os.stat_result] = {}
    if not staging.is_dir():
        return found
    for path in staging.iterdir():
        if not STAGED_NAME.match(path.name) or not path.is_file():
            continue
        with contextlib.suppress(FileNotFoundError):
            found[path.name] = path.stat()
    return found


async def _named(sessions: async_sessionmaker[AsyncSession], statuses: tuple[str, ...]) -> set[str]:
    """The staged files of the upload requests in these statuses."""
    query = select(ApprovalRequest.params).where(
        ApprovalRequest.operation == "upload", col(ApprovalRequest.status).in_(statuses)
    )
    async with sessions() as db:
        rows = (await db.exec(query)).all()
    return {str(json.loads(params).get("staged")) for params in rows}


async def _dropped(sessions: async_sessionmaker[AsyncSession], name: str) -> bool:
    """True when a rejected, cancelled or expired upload request names the file."""
    query = select(ApprovalRequest.id).where(
        ApprovalRequest.operation == "upload",
        col(ApprovalRequest.status).in_(DROPPED),
        col(ApprovalRequest.params).contains(json.dumps(name), autoescape=True),
    )
    async with sessions() as db:
        return (await db.exec(query.limit(1))).first() is not None


def _remove_unless_open(path: Path) -> bool:
    """Delete the file unless an upload streams it now, in this process or another on this host: the upload
    holds a shared lock on it while it sends (app/operations/uploads.py), and the kernel lets go of the lock
    when that process dies, so a lock is the one sign of use that cannot outlive the use."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return False
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(handle)  # closing lets go of the lock
    return True
