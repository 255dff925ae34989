"""`proxgate demo`: a simulated cluster in its own process, and Proxgate served on it like `proxgate serve`."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings, load_settings
from app.db.engine import create_engine, session_factory, session_scope
from app.db.migrate import upgrade_database
from app.db.models import Role, user_key
from app.demo.fakeserver import start_fake_process
from app.services.accounts import users

DEMO_USERS = (("admin", Role.admin), ("alice", Role.operator), ("bob", Role.approver))


async def ensure_demo_users(database_url: str, password: str) -> None:
    """Create admin, alice and bob, or reset their role and password to the demo's."""
    engine = create_engine(database_url)
    try:
        async with session_scope(session_factory(engine)) as db:
            for name, role in DEMO_USERS:
                user = await users.find_user(db, name)
                if user is None:
                    await users.create_user(db, name, password, role)
                    continue
                await users.update_user(db, user_key(user), role=role, active=True)
                await users.set_password(db, user_key(user), password)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Demo:
    """A running demo cluster: the settings that point Proxgate at it, and the demo users' password."""

    settings: Settings
    password: str
    # The simulated Proxmox's folder, for `python -m app.demo.side_door`.
    fake_dir: Path | None = None


@contextmanager
def demo_cluster(guests: int, password: str | None, data_dir: str | None) -> Iterator[Demo]:
    """Start the fake cluster, migrate, create the demo users; stop the fake and delete its folder on exit."""
    password = password or secrets.token_urlsafe(9)
    scratch = Path(tempfile.mkdtemp(prefix="proxgate-demo-"))
    folder = Path(data_dir) if data_dir else scratch / "data"
    fake = start_fake_process(guests=guests, state_dir=scratch / "fake")
    try:
        settings = load_settings(
            proxmox_host=fake.host,
            proxmox_token_id=fake.token_id,
            proxmox_token_secret=fake.token_secret,
            proxmox_tls_fingerprint=fake.fingerprint,
            proxmox_verify_tls=True,
            data_dir=folder,
            database_url=f"sqlite+aiosqlite:///{folder / 'proxgate.db'}",
            demo=True,
        )
        upgrade_database(settings.resolved_database_url)
        asyncio.run(ensure_demo_users(settings.resolved_database_url, password))
        yield Demo(settings, password, scratch / "fake")
    finally:
        fake.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def announce(url: str, password: str, guests: int, fake_dir: Path | None = None) -> None:
    """Print where the demo is and how to sign in (and how to delete a guest beside Proxgate)."""
    side_door = (
        f"  side door   {sys.executable} -m app.demo.side_door {fake_dir}\n"
        "              (someone deletes a guest in the Proxmox UI; Proxgate notices)\n"
        if fake_dir
        else ""
    )
    print(
        f"\nProxgate demo: {guests} simulated guests\n"
        f"  open {url}\n"
        f"  sign in as  admin (admin) | alice (operator) | bob (approver)\n"
        f"  password    {password}\n"
        f"{side_door}"
        "  stop with Ctrl-C\n",
        flush=True,
    )
