"""Files received for an upload, kept under a random name in the staging folder until the operation `upload`
sends them on to Proxmox (and deletes them)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Protocol

CHUNK = 1024 * 1024


class Readable(Protocol):
    """What the file a request brings offers: reads of a chunk at a time."""

    async def read(self, size: int = -1) -> bytes:
        """Up to size bytes, b'' at the end."""
        ...


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
