"""Local accounts: create, list, change role or password, deactivate."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import ApiToken, Role, User, WebSession, utcnow
from app.services.accounts.passwords import hash_password, password_problem
from app.services.errors import Conflict, Invalid, NotFound

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Room for a user's groups, comma-separated (the users.groups column).
GROUPS_LIMIT = 1000


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


def parse_groups(value: str | Iterable[str]) -> frozenset[str]:
    """Group names from "a,b" or a list, lower-cased; Invalid naming a malformed one."""
    names = value.replace(";", ",").split(",") if isinstance(value, str) else list(value)
    groups = frozenset(n.strip().lower() for n in names if n.strip())
    bad = sorted(g for g in groups if not GROUP_RE.match(g))
    if bad:
        raise Invalid(
            f"Group '{bad[0]}' is not a group name: use letters, digits, '.', '_' or '-' (at most 64).",
            field="groups",
        )
    if len(",".join(groups)) > GROUPS_LIMIT:
        raise Invalid("Too many groups: at most 1000 characters of group names.", field="groups")
    return groups


def groups_of(user: User) -> frozenset[str]:
    """The user's groups as a set."""
    return frozenset(g for g in user.groups.split(",") if g)


async def set_groups(db: AsyncSession, username: str, groups: str | Iterable[str]) -> User:
    """Replace the named user's groups (local change or the identity provider's at sign-in); NotFound."""
    user = await find_user(db, username)
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    user.groups = ",".join(sorted(parse_groups(groups)))
    db.add(user)
    await db.flush()
    return user


async def create_user(
    db: AsyncSession, username: str, password: str, role: Role, groups: str | Iterable[str] = ""
) -> User:
    """Add an account; Conflict if the name is taken."""
    name = validate_username(username)
    problem = password_problem(password)
    if problem:
        raise Invalid(problem, field="password")
    if await find_user(db, name) is not None:
        raise Conflict(f"A user named '{name}' already exists.", field="username")
    user = User(
        username=name,
        role=role,
        password_hash=await hash_password(password),
        groups=",".join(sorted(parse_groups(groups))),
    )
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


async def list_users(db: AsyncSession, text: str = "", role: Role | None = None) -> list[User]:
    """Accounts by name: every one, or those whose name contains the text (any case) and have the role."""
    query = select(User).order_by(col(User.username))
    if text:
        query = query.where(col(User.username).icontains(text, autoescape=True))
    if role is not None:
        query = query.where(User.role == role)
    return list((await db.exec(query)).all())


async def update_user(
    db: AsyncSession, user_id: int, *, role: Role | None = None, active: bool | None = None
) -> User:
    """Change role or active flag; deactivating ends the user's sessions. The last active admin stays one."""
    changes = {name: value for name, value in (("role", role), ("is_active", active)) if value is not None}
    if changes:
        demoting = active is False or (role is not None and role != Role.admin)
        if demoting:
            await _lock_admins(db)
        statement = update(User).where(col(User.id) == user_id).values(**changes)
        if demoting:
            statement = statement.where(_keeps_another_admin(user_id))
        if (await db.exec(statement)).rowcount != 1:
            await get_user(db, user_id)  # NotFound when there is no such user
            raise Conflict("This is the last active admin; make someone else admin first.")
    if active is False:
        await revoke_sessions(db, user_id)
    user = await get_user(db, user_id)
    await db.refresh(user)
    return user


def _keeps_another_admin(user_id: int) -> ColumnElement[bool]:
    """The user is no active admin now, or another active admin exists: the one condition of a demotion."""
    other = aliased(User)
    others = select(other.id).where(
        other.id != user_id, other.role == Role.admin, col(other.is_active).is_(True)
    )
    return or_(col(User.role) != Role.admin, col(User.is_active).is_(False), others.exists())


async def _lock_admins(db: AsyncSession) -> None:
    """On PostgreSQL, lock every active admin row (in id order) before a demotion is decided.

    Without it two demotions at once each count the other as the remaining admin (write skew under READ
    COMMITTED); with it the second waits, then its UPDATE sees the first one's result. SQLite runs one writer
    at a time, and a read before the UPDATE would only make its write lock fail, so there it does nothing.
    """
    if db.bind is None or db.bind.dialect.name != "postgresql":
        return
    admins = select(User.id).where(User.role == Role.admin, col(User.is_active).is_(True))
    await db.exec(admins.order_by(col(User.id)).with_for_update())


async def reset_password(db: AsyncSession, user_id: int, password: str) -> tuple[User, int]:
    """An admin sets someone's password: their sessions end and their API tokens are revoked (how many)."""
    user = await set_password(db, user_id, password)
    return user, await revoke_tokens(db, user_id)


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


async def revoke_tokens(db: AsyncSession, user_id: int) -> int:
    """Revoke every live API token of the user; returns how many (a reset password may have leaked with them)."""
    result = await db.exec(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)
