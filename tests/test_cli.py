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
        PROXGATE_SECRET_KEY=settings.resolved_secret_key(),
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
    assert me == {"username": name, "role": "operator", "auth": "token", "groups": []}


def test_a_token_of_an_approver_is_an_operator_unless_made_with_the_approver_role(
    settings: Settings, served_fake: ServedFake, client: httpx.Client
) -> None:
    env = env_for(settings, served_fake)
    name = unique_name("bob")
    assert (
        proxgate(["user", "add", name, "--role", "approver"], env, stdin="a fine password\n").returncode == 0
    )
    roles = {}
    for asked in ([], ["--role", "approver"]):
        made = proxgate(["token", "add", f"agent{len(roles)}", "--user", name, *asked], env)
        assert made.returncode == 0, made.stderr
        bearer = {"Authorization": f"Bearer {made.stdout.strip()}"}
        roles[" ".join(asked)] = client.get("/api/v1/me", headers=bearer).json()["role"]
    assert roles == {"": "operator", "--role approver": "approver"}
    helped = " ".join(proxgate(["token", "add", "--help"], env).stdout.split())
    assert "at most operator" in helped and "PROXGATE_APPROVE_WITH_TOKENS=true" in helped


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


def test_check_warns_about_data_open_to_group_or_others(
    settings: Settings, served_fake: ServedFake, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    (data / "secret_key").write_text("a key someone copied in")
    (data / "secret_key").chmod(0o644)
    result = proxgate(["check"], env_for(settings, served_fake, PROXGATE_DATA_DIR=str(data)))
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("proxgate: WARNING: ")]
    assert any(
        f"{data} is open to group or others (mode 0755)" in w and f"chmod 700 {data}" in w for w in warnings
    )
    key = data / "secret_key"
    assert any(
        f"{key} is open to group or others (mode 0644)" in w and f"chmod 600 {key}" in w for w in warnings
    )
    assert "WARNING" not in result.stdout  # stdout stays the connection report, one line per check


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


def write_events(settings: Settings, count: int, checkpoint: bool = True) -> None:
    """Append events to the settings' database with its key, as the app would, and a checkpoint after them."""
    import asyncio

    from app.services import audit
    from app.services.audit.sessions import command_sessions

    async def write() -> None:
        async with command_sessions(settings) as sessions:
            for vmid in range(100, 100 + count):
                draft = audit.Draft("start", "reversible", "intent", audit.Target(vmid=vmid))
                await audit.append(sessions, audit.Actor(None, "alice", "session"), draft)
            if checkpoint:
                await audit.checkpoint_now(sessions)

    asyncio.run(write())


def sql(url: str, statement: str, **params: object) -> None:
    """Run one statement on the database, as someone with direct access would."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_audit_verify_passes_then_names_an_altered_row(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    from app.db.migrate import upgrade_database
    from tests.conftest import app_settings

    upgrade_database(empty_database)
    own = app_settings(served_fake, empty_database, tmp_path / "data")
    write_events(own, 3)
    env = env_for(own, served_fake)
    intact = proxgate(["audit", "verify"], env)
    assert intact.returncode == 0, intact.stderr
    lines = intact.stdout.splitlines()
    assert lines[0] == "audit chain intact: 3 events verified"
    assert lines[1].startswith("  events #1–#3: key ") and lines[1].endswith(
        "(the current key): every event verified"
    )
    assert (
        lines[2].startswith("  checkpoint of ") and "the database still holds everything up to it" in lines[2]
    )
    sql(empty_database, "UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2")
    broken = proxgate(["audit", "verify"], env)
    assert broken.returncode == 1
    assert broken.stdout.startswith(
        "audit chain BROKEN (altered) at event #2: event #2 was altered after it was written"
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


def test_audit_verify_needs_a_checkpoint_to_see_a_cut_tail(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    from app.db.migrate import upgrade_database
    from app.services.audit.checkpoint import checkpoint_files
    from tests.conftest import app_settings

    upgrade_database(empty_database)
    own = app_settings(served_fake, empty_database, tmp_path / "data")
    write_events(own, 4)
    (kept,) = checkpoint_files(own.resolved_checkpoint_dir())
    offsite = tmp_path / "offsite.jsonl"
    offsite.write_text(kept.read_text())
    kept.unlink()  # whoever cut the log also removed the local checkpoints
    sql(empty_database, "DELETE FROM audit_events WHERE seq = 4")
    sql(empty_database, "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_events WHERE seq = 3)")
    env = env_for(own, served_fake)
    blind = proxgate(["audit", "verify"], env)
    assert blind.returncode == 3, blind.stdout
    assert blind.stdout.startswith("audit chain not broken, but not everything could be proven")
    assert "no checkpoint found in" in blind.stdout and "a cut-off tail or an emptied table" in blind.stdout
    anchored = proxgate(["audit", "verify", "--checkpoint", str(offsite)], env)
    assert anchored.returncode == 1
    assert anchored.stdout.startswith(
        "audit chain BROKEN (truncated) at event #4: the newest events are gone"
    )


def test_command_line_account_changes_are_audited_like_the_webs(
    settings: Settings, served_fake: ServedFake, client: httpx.Client
) -> None:
    import getpass

    from tests.factories import make_token, make_user

    env = env_for(settings, served_fake)
    name = unique_name("shell")
    assert (
        proxgate(["user", "add", name, "--role", "operator"], env, stdin="a fine password\n").returncode == 0
    )
    secret = proxgate(["token", "add", "nightly-ci", "--user", name], env).stdout.strip()
    role = proxgate(["user", "role", name, "approver"], env)
    assert role.stdout.strip() == f"{name} is now approver", role.stderr
    reset = proxgate(["user", "password", name], env, stdin="another fine password\n")
    assert reset.stdout.strip() == (
        f"password of {name} changed; their sessions were ended and 1 API tokens revoked"
    ), reset.stderr
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    admin = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'admin'))}"}
    events = client.get("/api/v1/audit", params={"q": name, "risk": "admin"}, headers=admin).json()["items"]
    found = [(e["operation"], e["actor_name"], e["auth_method"], e["params"]) for e in reversed(events)]
    me = getpass.getuser()
    token_id = found[1][3]["token_id"]
    assert found == [
        ("user-add", me, "cli", {"role": "operator"}),
        (
            "token-add",
            me,
            "cli",
            {"role": "operator", "token_name": "nightly-ci", "token_id": token_id, "user": name},
        ),
        ("user-update", me, "cli", {"role": "approver"}),
        ("user-update", me, "cli", {"password": "[redacted]", "tokens_revoked": 1}),
    ]
    assert secret not in str(events)


def own_settings(served_fake: ServedFake, empty_database: str, tmp_path: Path) -> Settings:
    """Settings of a fresh, migrated database of this test's own (so its chain is the test's alone)."""
    from app.db.migrate import upgrade_database
    from tests.conftest import app_settings

    upgrade_database(empty_database)
    return app_settings(served_fake, empty_database, tmp_path / "data")


def rehash_unkeyed(url: str, first: int) -> None:
    """Rehash the events from #first on as the old unkeyed chain did (plain sha256, no key) and point the
    head at the last one, as anyone who can write the database can."""
    import hashlib

    from sqlalchemy import create_engine, select, text

    from app.db.audit import AuditEvent
    from app.services.audit.chain import GENESIS, LEGACY_FIELDS, canonical
    from app.services.audit.verify import VERIFY_COLUMNS

    table = AuditEvent.__table__  # type: ignore[attr-defined]
    engine = create_engine(url)
    with engine.begin() as conn:
        query = select(*(table.c[name] for name in VERIFY_COLUMNS)).order_by(table.c.seq)
        events = [dict(row._mapping) for row in conn.execute(query)]
        prev = events[first - 2]["hash"] if first > 1 else GENESIS
        for event in events[first - 1 :]:
            event.update(key_id="", prev_hash=prev)
            event["hash"] = prev = hashlib.sha256(prev.encode() + canonical(event, LEGACY_FIELDS)).hexdigest()
            conn.execute(
                text(
                    "UPDATE audit_events SET key_id = '', prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"
                ),
                event,
            )
        conn.execute(text("UPDATE audit_head SET hash = :h, key_id = '' WHERE id = 1"), {"h": prev})
    engine.dispose()


def test_audit_verify_names_an_edited_event_with_the_checkpoints_gone(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    """An edit is broken whatever the checkpoints say: exit 1 naming the event, not 3 ("not proven")."""
    import shutil

    from app.services.audit.checkpoint import checkpoint_files

    own = own_settings(served_fake, empty_database, tmp_path)
    write_events(own, 3)
    folder = own.resolved_checkpoint_dir()
    env = env_for(own, served_fake)
    sql(empty_database, "UPDATE audit_events SET key_id = '0123456789abcdef' WHERE seq = 3")
    for path in checkpoint_files(folder):
        path.unlink()
    emptied = proxgate(["audit", "verify"], env)
    shutil.rmtree(folder)
    removed = proxgate(["audit", "verify"], env)
    for answer in (emptied, removed):
        assert answer.returncode == 1, answer.stdout
        assert answer.stdout.startswith(
            "audit chain BROKEN (altered) at event #3: event #3 names key 0123456789abcdef, which no rotation "
            "record opens: its key id was altered"
        )


def test_audit_verify_calls_unkeyed_rewrites_alterations(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    """Unkeyed (plain sha256) events may only come first: after keyed ones, or in place of checkpointed ones,
    they were written without the key. Nothing was deleted, so neither is "truncated"; both exit 1."""
    own = own_settings(served_fake, empty_database, tmp_path)
    write_events(own, 4)
    env = env_for(own, served_fake)
    rehash_unkeyed(empty_database, 3)
    after_keyed = proxgate(["audit", "verify"], env)
    assert after_keyed.returncode == 1, after_keyed.stdout
    assert after_keyed.stdout.startswith(
        "audit chain BROKEN (recomputed) at event #3: event #3 is unkeyed (plain sha256) but keyed events come "
        "before it: unkeyed events may only come first, from before the chain was keyed"
    )
    assert "legacy segment" not in after_keyed.stdout
    rehash_unkeyed(empty_database, 1)
    rewritten = proxgate(["audit", "verify"], env)
    assert rewritten.returncode == 1, rewritten.stdout
    assert rewritten.stdout.startswith(
        "audit chain BROKEN (recomputed) at event #4: event #4 is not the one "
    )
    assert "rewritten in the old unkeyed format (plain sha256), which needs no key" in rewritten.stdout
    assert "truncated" not in rewritten.stdout


def test_groups_set_from_the_command_line_follow_the_user_and_their_tokens(
    settings: Settings, served_fake: ServedFake, client: httpx.Client
) -> None:
    env = env_for(settings, served_fake)
    name = unique_name("grp")
    added = proxgate(["user", "create", name, "--groups", "DBA, network"], env, stdin="a fine password\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"user {name} added with role viewer in groups dba, network"
    bearer = {
        "Authorization": f"Bearer {proxgate(['token', 'add', 'ci', '--user', name], env).stdout.strip()}"
    }
    assert client.get("/api/v1/me", headers=bearer).json()["groups"] == ["dba", "network"]
    changed = proxgate(["user", "set", name, "--groups", "storage"], env)
    assert changed.stdout.strip() == f"{name} is now in groups storage", changed.stderr
    assert client.get("/api/v1/me", headers=bearer).json()["groups"] == ["storage"]
    bad = proxgate(["user", "set", name, "--groups", "db a"], env)
    assert bad.returncode == 2 and "Group 'db a' is not a group name" in bad.stderr
