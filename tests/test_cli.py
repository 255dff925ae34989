"""The proxgate command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from app.config import Settings
from tests.factories import unique_name
from tests.fakepve_thread import ServedFake


def proxgate(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `proxgate ARGS` in a child process."""
    return subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def env_for(settings: Settings, served: ServedFake, **extra: str) -> dict[str, str]:
    """The environment `proxgate` would get from an operator for this database and fake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PROXGATE_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=str(settings.database_url),
        PROXGATE_DATA_DIR=str(settings.data_dir),
        PROXGATE_CREDENTIALS_FILE=str(settings.credentials_file),
        PROXMOX_HOST=served.address,
        PROXMOX_TOKEN_ID="root@pam!proxgate",
        PROXMOX_TOKEN_SECRET="5ab0c1f8-0d2c-4a5e-9a53-8e0f7c4c2e11",
        PROXMOX_TLS_FINGERPRINT=served.fingerprint,
    )
    env.update(extra)
    return env


def test_user_add_reads_password_from_stdin_and_token_add_prints_it_once(
    settings: Settings, served_fake: ServedFake, client: httpx.Client
) -> None:
    env = env_for(settings, served_fake)
    name = unique_name("cli")
    added = proxgate(["user", "add", name, "--role", "operator"], env, stdin="a fine password\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"user {name} added with role operator"
    token = proxgate(["token", "add", "ci", "--user", name], env)
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("pxg_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me == {"username": name, "role": "operator", "auth": "token"}


def test_duplicate_user_is_one_clear_line(settings: Settings, served_fake: ServedFake) -> None:
    env = env_for(settings, served_fake)
    name = unique_name("dup")
    assert proxgate(["user", "add", name], env, stdin="a fine password\n").returncode == 0
    again = proxgate(["user", "add", name], env, stdin="a fine password\n")
    assert again.returncode == 2
    assert again.stderr.strip() == f"proxgate: A user named '{name}' already exists."


def test_check_names_a_wrong_fingerprint(settings: Settings, served_fake: ServedFake) -> None:
    result = proxgate(["check"], env_for(settings, served_fake, PROXMOX_TLS_FINGERPRINT="11" * 32))
    assert result.returncode == 1
    assert len(result.stdout.strip().splitlines()) == 1
    assert "fingerprint" in result.stdout.lower()
    assert "Traceback" not in result.stderr


def test_serve_without_proxmox_settings_stops_with_one_line(tmp_path: Path, settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PROXGATE_", "DATABASE_URL"))}
    env.update(PROXGATE_DATA_DIR=str(tmp_path), PROXGATE_CREDENTIALS_FILE=str(tmp_path / "none"))
    result = proxgate(["serve", "--port", "1"], env)
    assert result.returncode == 2
    assert result.stderr.startswith("proxgate: configuration error: PROXMOX_HOST is not set")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_setting_stops_with_one_line_naming_it(
    tmp_path: Path, settings: Settings, served_fake: ServedFake
) -> None:
    env = env_for(settings, served_fake, PROXMOX_TLS_FINGERPRINT="nope")
    result = proxgate(["serve"], env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("proxgate: configuration error: PROXMOX_TLS_FINGERPRINT:")


def test_audit_verify_passes_then_names_an_altered_row(
    settings: Settings, served_fake: ServedFake, empty_database: str
) -> None:
    import asyncio

    from sqlalchemy import create_engine, text

    from app.db.engine import create_engine as create_async_engine
    from app.db.engine import session_factory
    from app.db.migrate import upgrade_database
    from app.services import audit

    upgrade_database(empty_database)
    async_url = empty_database.replace("sqlite://", "sqlite+aiosqlite://").replace(
        "postgresql://", "postgresql+psycopg://"
    )

    async def write() -> None:
        engine = create_async_engine(async_url)
        for vmid in (100, 101, 102):
            actor = audit.Actor(None, "alice", "session")
            await audit.append(
                session_factory(engine),
                actor,
                audit.Draft("start", "reversible", "intent", audit.Target(vmid=vmid)),
            )
        await engine.dispose()

    asyncio.run(write())
    env = env_for(settings, served_fake, DATABASE_URL=empty_database)
    intact = proxgate(["audit", "verify"], env)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "audit chain intact: 3 events verified"
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2"))
    engine.dispose()
    broken = proxgate(["audit", "verify"], env)
    assert broken.returncode == 1
    assert broken.stdout.strip().startswith(
        "audit chain BROKEN at event #2: event #2 was altered after it was written"
    )
    exported = proxgate(["audit", "export", "--format", "csv", "--vmid", "101"], env)
    assert exported.returncode == 0
    assert exported.stdout.splitlines()[0].startswith("seq,at,actor_name")
    assert len(exported.stdout.splitlines()) == 2 and ",101," in exported.stdout.splitlines()[1]


def test_up_with_a_partial_proxmox_configuration_names_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PROXGATE_", "DATABASE_URL"))}
    env.update(
        PROXGATE_DATA_DIR=str(tmp_path),
        PROXGATE_CREDENTIALS_FILE=str(tmp_path / "none"),
        PROXMOX_HOST="pve1.lan:8006",
    )
    result = proxgate(["up", "--port", "1"], env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "proxgate: configuration error: PROXMOX_HOST is set but PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET "
        f"are not: give them in the environment or in {tmp_path / 'none'}, or unset PROXMOX_HOST for the demo"
    )
