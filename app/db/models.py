"""SQLModel tables: users, sessions, API tokens and login attempts."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _stamp(**kwargs: object) -> object:
    """A timezone-aware timestamp column."""
    return Field(sa_column=Column(DateTime(timezone=True), **kwargs))  # type: ignore[arg-type]


class Role(enum.StrEnum):
    """What a user may do; each role includes the ones before it."""

    viewer = "viewer"
    operator = "operator"
    approver = "approver"
    admin = "admin"

    @property
    def rank(self) -> int:
        """Position in viewer < operator < approver < admin."""
        return list(Role).index(self)

    def includes(self, other: Role | str) -> bool:
        """True when this role grants everything `other` does."""
        return self.rank >= Role(other).rank


def _role_type() -> SAEnum:
    """Roles stored as their names in a plain VARCHAR (no database enum type to migrate)."""
    return SAEnum(
        Role,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class UserBase(SQLModel):
    """Fields every view of a user shares."""

    username: str = Field(max_length=64, unique=True, index=True)
    role: Role = Field(default=Role.viewer, sa_type=_role_type())
    is_active: bool = True
    # Named approver groups, comma-separated, sorted (set locally or from the identity provider at sign-in).
    groups: str = Field(default="", max_length=1000)


class User(UserBase, table=True):
    """A local account."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = _stamp(nullable=False, default=utcnow)  # type: ignore[assignment]
    password_changed_at: datetime = _stamp(nullable=False, default=utcnow)  # type: ignore[assignment]
    # The identity provider's stable id of a user made by single sign-on (None: a local account).
    sso_subject: str | None = Field(default=None, max_length=255, unique=True, index=True)
    # The directory entry of a user made by LDAP sign-in, as last seen (None: not from the directory). Such a
    # user signs in, and is re-checked, against the directory only.
    ldap_dn: str | None = Field(default=None, max_length=1024)


def user_key(user: User) -> int:
    """The id of a stored user (a user not yet flushed has none)."""
    if user.id is None:
        raise ValueError(f"user {user.username!r} has not been saved")
    return user.id


class UserPublic(UserBase):
    """A user as pages and the API show it."""

    id: int
    created_at: datetime


class WebSession(SQLModel, table=True):
    """A browser sign-in; the cookie carries a secret whose sha256 is the key."""

    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    created_at: datetime = _stamp(nullable=False, default=utcnow)  # type: ignore[assignment]
    last_seen_at: datetime = _stamp(nullable=False, default=utcnow)  # type: ignore[assignment]
    revoked_at: datetime | None = _stamp(nullable=True)  # type: ignore[assignment]
    # A session started by single sign-on: the provider's refresh token (sealed), its ID token (for signing out
    # there) and when the provider last confirmed the person.
    sso_refresh_token: str | None = Field(default=None, sa_type=Text)
    sso_id_token: str | None = Field(default=None, sa_type=Text)
    sso_checked_at: datetime | None = _stamp(nullable=True)  # type: ignore[assignment]


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts and agents; only its sha256 is kept."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=_role_type())
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = _stamp(nullable=False, default=utcnow)  # type: ignore[assignment]
    last_used_at: datetime | None = _stamp(nullable=True)  # type: ignore[assignment]
    revoked_at: datetime | None = _stamp(nullable=True)  # type: ignore[assignment]


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, kept for throttling per account and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    ip: str = Field(max_length=64)
    success: bool
    at: datetime = _stamp(nullable=False, default=utcnow)  # type: ignore[assignment]
