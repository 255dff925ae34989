"""Local accounts: create, list, change role or password, deactivate."""

from __future__ import annotations

import re

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import Role, User, WebSession, utcnow
from app.services.errors import Conflict, Invalid, NotFound
from app.services.passwords import hash_password, password_problem

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def validate_username(username: str) -> str:
    """The normalised name, or Invalid explaining the rule."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise Invalid(
            "Use 2–64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            field="username",
        )
    return name


def parse_role(value: str) -> Role:
    """The role named by value, or Invalid listing the choices."""
    try:
        return Role(value)
    except ValueError:
        raise Invalid(f"Unknown role '{value}'; choose one of {', '.join(Role)}.", field="role") from None


async def create_user(db: AsyncSession, username: str, password: str, role: Role) -> User:
    """Add an account; Conflict if the name is taken."""
    name = validate_username(username)
    problem = password_problem(password)
    if problem:
        raise Invalid(problem, field="password")
    if await find_user(db, name) is not None:
        raise Conflict(f"A user named '{name}' already exists.", field="username")
    user = User(username=name, role=role, password_hash=await hash_password(password))
    db.add(user)
    await db.flush()
    return user


async def find_user(db: AsyncSession, username: str) -> User | None:
    """The user with this name, or None."""
    result = await db.exec(select(User).where(User.username == username.strip().lower()))
    return result.first()


async def get_user(db: AsyncSession, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


async def list_users(db: AsyncSession) -> list[User]:
    """Every account, by name."""
    return list((await db.exec(select(User).order_by(col(User.username)))).all())


async def update_user(
    db: AsyncSession, user_id: int, *, role: Role | None = None, active: bool | None = None
) -> User:
    """Change role or active flag; deactivating ends the user's sessions."""
    user = await get_user(db, user_id)
    demoting = user.role == Role.admin and ((role is not None and role != Role.admin) or active is False)
    if demoting and await count_admins(db) <= 1:
        raise Conflict("This is the last active admin; make someone else admin first.")
    if role is not None:
        user.role = role
    if active is not None:
        user.is_active = active
        if not active:
            await revoke_sessions(db, user_id)
    db.add(user)
    await db.flush()
    return user


async def set_password(db: AsyncSession, user_id: int, password: str) -> User:
    """Replace the password and end the user's other sessions."""
    problem = password_problem(password)
    if problem:
        raise Invalid(problem, field="password")
    user = await get_user(db, user_id)
    user.password_hash = await hash_password(password)
    user.password_changed_at = utcnow()
    db.add(user)
    await revoke_sessions(db, user_id)
    await db.flush()
    return user


async def revoke_sessions(db: AsyncSession, user_id: int) -> None:
    """Sign the user out everywhere."""
    await db.exec(
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def count_admins(db: AsyncSession) -> int:
    """Active admins; the last one may not be demoted or deactivated."""
    result = await db.exec(select(User).where(User.role == Role.admin, col(User.is_active).is_(True)))
    return len(result.all())
