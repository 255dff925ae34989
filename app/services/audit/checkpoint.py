"""Signed checkpoints of the audit chain's head, kept outside the database: a file, the log and /metrics.

A checkpoint says "at this time the chain held events #1 to #seq, and #seq had this hash", signed (HMAC) with
the audit key. The database cannot take back what a checkpoint recorded: `proxgate audit verify` compares the
chain with the newest checkpoint and names a cut-off tail, an emptied table or a rewritten chain. Before writing
a new checkpoint, the events since the previous one are verified; a chain that no longer matches its last
checkpoint gets no new one (which would hide the damage), only an error in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.audit.binding import ChainConfig, config_of
from app.services.audit.chain import Keyring
from app.services.audit.seals import check_seals
from app.services.audit.signed import Checkpoint, parse_line, sign, signature_holds
from app.services.audit.verify import Verification, read_head, verify_chain

log = logging.getLogger(__name__)
FILE_GLOB = "checkpoints-*.jsonl"


@dataclass
class Found:
    """The checkpoint to verify against, and what was wrong with the others."""

    checkpoint: Checkpoint | None
    forged: list[str]
    unknown_keys: set[str]
    unreadable: list[str]


def read_checkpoints(paths: list[Path], keyring: Keyring) -> Found:
    """The highest signed checkpoint in these files; lines whose signature fails are listed as forged."""
    found = Found(None, [], set(), [])
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            found.unreadable.append(f"{path} cannot be read ({exc.strerror})")
            continue
        for number, text in enumerate(lines, 1):
            _consider(found, parse_line(text, f"{path}:{number}"), keyring, f"{path} line {number}")
    return found


def _consider(found: Found, checkpoint: Checkpoint | None, keyring: Keyring, where: str) -> None:
    if checkpoint is None:
        # Not even JSON: a line cut off by a crash; signed lines that fail their check are the suspicious ones.
        found.unreadable.append(f"{where} is not a checkpoint")
        return
    holds = signature_holds(checkpoint, keyring)
    if holds is None:
        found.unknown_keys.add(checkpoint.key)
    elif not holds:
        found.forged.append(where)
    elif found.checkpoint is None or checkpoint.seq >= found.checkpoint.seq:
        found.checkpoint = checkpoint


def checkpoint_files(folder: Path | None) -> list[Path]:
    """The checkpoint files of a folder, oldest month first."""
    return sorted(folder.glob(FILE_GLOB)) if folder is not None and folder.is_dir() else []


def newest(folder: Path | None, keyring: Keyring) -> Found:
    """The highest signed checkpoint of the newest file that has one (older files only if needed)."""
    files = checkpoint_files(folder)
    for index in range(len(files) - 1, -1, -1):
        found = read_checkpoints([files[index]], keyring)
        if found.checkpoint is not None or found.forged:
            return found
    return Found(None, [], set(), [])


def write(folder: Path, checkpoint: Checkpoint) -> Path:
    """Append the checkpoint to this month's file (one write, so writers in several processes never mix)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"checkpoints-{checkpoint.at[:7]}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, checkpoint.line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


async def checkpoint_now(sessions: async_sessionmaker[AsyncSession]) -> Checkpoint | None:
    """Sign and record the chain's head now; None (and an error in the log) when it could not be done.

    Call it after anything that must not be quietly undone (a destructive decision); the app also calls it
    every few minutes. It checks only the events since the previous checkpoint, so it is quick, and it does not
    raise (but AuditKeyMissing for an engine never configured): a missing checkpoint must not fail what was
    just decided.
    """
    config = config_of(sessions)
    folder = config.checkpoint_dir
    if folder is None:
        return None
    try:
        checkpoint = await _next_checkpoint(sessions, config.keyring, folder)
    except Exception:  # a database hiccup: the next checkpoint will cover these events too
        log.exception("audit checkpoint failed")
        return None
    return None if checkpoint is None else await _record(config, folder, checkpoint)


async def _next_checkpoint(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, folder: Path
) -> Checkpoint | None:
    """A checkpoint of the head, unless the chain no longer matches the previous checkpoint."""
    previous = (await asyncio.to_thread(newest, folder, keyring)).checkpoint
    async with sessions() as db:
        head = await read_head(db)
        if previous is not None:
            result = await verify_chain(db, anchor=previous, since=previous)
            if not result.ok:
                log.error(
                    "audit chain does not match its checkpoint, so none is written: %s", result.summary()
                )
                return None
    return sign(keyring, head.seq, head.hash, head.key_id)


async def _record(config: ChainConfig, folder: Path, checkpoint: Checkpoint) -> Checkpoint | None:
    """The checkpoint to its file, the log and the listener (the app's /metrics)."""
    try:
        path = await asyncio.to_thread(write, folder, checkpoint)
    except OSError as exc:
        log.error("cannot write the audit checkpoint to %s: %s", folder, exc)
        return None
    log.info("audit checkpoint %s (%s)", checkpoint.line().strip(), path)
    if config.on_checkpoint is not None:
        config.on_checkpoint(checkpoint)
    return checkpoint


async def keep_checkpoints(sessions: async_sessionmaker[AsyncSession], interval: float) -> None:
    """Write a checkpoint now and then every `interval` seconds, until cancelled."""
    while True:
        await checkpoint_now(sessions)
        await asyncio.sleep(interval)


async def stop_checkpoints(task: asyncio.Task[None], sessions: async_sessionmaker[AsyncSession]) -> None:
    """Stop the loop and write a last checkpoint, so the newest events are anchored before the app stops."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await checkpoint_now(sessions)


async def verify_against_checkpoints(
    sessions: async_sessionmaker[AsyncSession], checkpoint_file: Path | None = None
) -> Verification:
    """Verify the whole chain against the newest checkpoint in the folder (or in the file given)."""
    config = config_of(sessions)
    keyring, folder = config.keyring, config.checkpoint_dir
    if checkpoint_file is not None:
        found = await asyncio.to_thread(read_checkpoints, [checkpoint_file], keyring)
    else:
        found = await asyncio.to_thread(newest, folder, keyring)
    async with sessions() as db:
        result = await verify_chain(db, anchor=found.checkpoint)
        await check_seals(db, result)
    if found.forged:
        result.fail(
            "checkpoint",
            None,
            f"a checkpoint's signature does not hold (edited or forged): {found.forged[0]}",
        )
    result.notes.extend(found.unreadable)
    for kid in sorted(found.unknown_keys):
        result.notes.append(f"checkpoints signed with key {kid} were skipped: that key is not configured")
    if found.checkpoint is None:
        where = checkpoint_file or folder
        result.notes.append(
            f"no checkpoint found in {where}: a cut-off tail or an emptied table would go unnoticed"
        )
    return result
