"""Account commands for the CLI: users, roles, passwords and tokens, each audited like the same change on the web."""

from __future__ import annotations

import getpass
import socket
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.engine import session_scope
from app.db.models import User, user_key
from app.services.accounts import auth, users
from app.services.audit import Actor, checkpoint_now, command_sessions, record_account_change
from app.services.errors import NotFound


def shell_actor() -> Actor:
    """Whoever runs the command: their login on this machine, recorded as a command-line change."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # a container user without a name
        login = "unknown"
    return Actor(None, login[:64], "cli", user_agent=f"proxgate command on {socket.gethostname()}"[:255])


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    operation: str,
    subject: str,
    line: str,
    params: dict[str, Any],
) -> str:
    """Audit the change (after it was committed, as the web does) and anchor it with a checkpoint."""
    await record_account_change(sessions, shell_actor(), operation, subject, line, params)
    await checkpoint_now(sessions)
    return line


async def _user(db: AsyncSession, username: str) -> User:
    user = await users.find_user(db, username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def _groups_text(user: User) -> str:
    return ", ".join(sorted(users.groups_of(user))) or "none"


async def add_user(settings: Settings, name: str, role: str, password: str, groups: str = "") -> str:
    """Create the user; returns the line to print (ServiceError when refused)."""
    async with command_sessions(settings) as sessions:
        async with session_scope(sessions) as db:
            user = await users.create_user(db, name, password, users.parse_role(role), groups)
        line = f"user {user.username} added with role {user.role}"
        if user.groups:
            line += f" in groups {_groups_text(user)}"
        params = {"role": user.role, **({"groups": user.groups} if user.groups else {})}
        return await _record(sessions, "user-add", user.username, line, params)


async def set_user_groups(settings: Settings, username: str, groups: str) -> str:
    """Replace the user's approver groups ("" for none)."""
    async with command_sessions(settings) as sessions:
        async with session_scope(sessions) as db:
            user = await users.set_groups(db, username, groups)
        line = f"{user.username} is now in groups {_groups_text(user)}"
        return await _record(sessions, "user-update", user.username, line, {"groups": user.groups})


async def add_token(settings: Settings, name: str, username: str, role: str | None) -> str:
    """Create a token for the user; returns its secret, which is shown only this once."""
    async with command_sessions(settings) as sessions:
        async with session_scope(sessions) as db:
            user = await _user(db, username)
            token, secret = await auth.create_token(db, user, name, users.parse_role(role) if role else None)
        params = {"role": token.role, **auth.token_facts(token), "user": user.username}
        await _record(
            sessions, "token-add", token.name, f"Token {token.name} created for {user.username}.", params
        )
        return secret


async def set_password(settings: Settings, username: str, password: str, keep_tokens: bool = False) -> str:
    """Reset a password: the user's sessions end and, unless kept, their API tokens are revoked."""
    async with command_sessions(settings) as sessions:
        async with session_scope(sessions) as db:
            user = await _user(db, username)
            if keep_tokens:
                await users.set_password(db, user_key(user), password)
                revoked = 0
            else:
                revoked = (await users.reset_password(db, user_key(user), password))[1]
        line = (
            f"password of {user.username} changed; their sessions were ended and {revoked} API tokens revoked"
        )
        params = {"password": "set", "tokens_revoked": revoked}
        return await _record(sessions, "user-update", user.username, line, params)


async def set_role(settings: Settings, username: str, role: str) -> str:
    """Give the user another role (the last active admin keeps theirs)."""
    async with command_sessions(settings) as sessions:
        async with session_scope(sessions) as db:
            user = await users.update_user(
                db, user_key(await _user(db, username)), role=users.parse_role(role)
            )
        line = f"{user.username} is now {user.role}"
        return await _record(sessions, "user-update", user.username, line, {"role": user.role})
