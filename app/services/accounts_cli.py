"""Account commands for the CLI: add a user, add a token, each in one short transaction."""

from __future__ import annotations

from app.config import Settings
from app.db.engine import create_engine, session_factory, session_scope
from app.services import auth, users
from app.services.errors import NotFound


async def add_user(settings: Settings, name: str, role: str, password: str) -> str:
    """Create the user; returns the line to print (ServiceError when refused)."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(session_factory(engine)) as db:
            user = await users.create_user(db, name, password, users.parse_role(role))
            return f"user {user.username} added with role {user.role}"
    finally:
        await engine.dispose()


async def add_token(settings: Settings, name: str, username: str, role: str | None) -> str:
    """Create a token for the user; returns its secret, which is shown only this once."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(session_factory(engine)) as db:
            user = await users.find_user(db, username)
            if user is None:
                raise NotFound(f"no user named {username!r}")
            _token, secret = await auth.create_token(db, user, name, users.parse_role(role) if role else None)
            return secret
    finally:
        await engine.dispose()
