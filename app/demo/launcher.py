"""`proxgate demo`: a simulated cluster in its own process, and Proxgate served on it like `proxgate serve`."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from app.config import load_settings
from app.db.engine import create_engine, session_factory, session_scope
from app.db.migrate import upgrade_database
from app.db.models import Role, user_key
from app.demo.fakeserver import start_fake_process
from app.services import users

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


def _announce(url: str, password: str, guests: int) -> None:
    print(
        f"\nProxgate demo: {guests} simulated guests\n"
        f"  open {url}\n"
        f"  sign in as  admin (admin) | alice (operator) | bob (approver)\n"
        f"  password    {password}\n"
        "  stop with Ctrl-C\n",
        flush=True,
    )


def run_demo(host: str, port: int, guests: int, password: str | None, data_dir: str | None) -> None:
    """Start the fake cluster, point the settings at it, create the demo users and serve."""
    from app.cli import serve

    password = password or secrets.token_urlsafe(9)
    scratch = Path(tempfile.mkdtemp(prefix="proxgate-demo-"))
    folder = Path(data_dir) if data_dir else scratch / "data"
    fake = start_fake_process(guests=guests, state_dir=scratch / "fake")
    try:
        database_url = f"sqlite+aiosqlite:///{folder / 'proxgate.db'}"
        os.environ.update(
            PROXMOX_HOST=fake.host,
            PROXMOX_TOKEN_ID=fake.token_id,
            PROXMOX_TOKEN_SECRET=fake.token_secret,
            PROXMOX_TLS_FINGERPRINT=fake.fingerprint,
            PROXMOX_VERIFY_TLS="true",
            PROXGATE_DATA_DIR=str(folder),
            DATABASE_URL=database_url,
            PROXGATE_DEMO="true",
        )
        settings = load_settings()
        upgrade_database(settings.resolved_database_url)
        asyncio.run(ensure_demo_users(settings.resolved_database_url, password))
        _announce(f"http://{host}:{port}/", password, guests)
        serve(settings, host, port)
    finally:
        fake.stop()
        shutil.rmtree(scratch, ignore_errors=True)
