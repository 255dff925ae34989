"""Single sign-on's accounts: users made and kept in step with the provider, sessions it re-checks, the audit."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import User, WebSession, user_key, utcnow
from app.services.accounts.auth import SSO_CHECK_INTERVAL, Principal, digest, start_session
from app.services.accounts.oidc import Identity, OidcClient, SsoRefused
from app.services.accounts.users import (
    GROUP_RE,
    GROUPS_LIMIT,
    groups_of,
    revoke_sessions,
    revoke_tokens,
    validate_username,
)
from app.services.audit import Actor, Draft, Target, append
from app.services.errors import Invalid

# Stored instead of a password hash: argon2 can never match it, so an SSO user has no local password.
NO_PASSWORD = "!sso"  # noqa: S105 (an impossible hash, not a password)


class Sealer:
    """Encrypts what single sign-on keeps (refresh tokens, a sign-in under way) with a key from the secret key."""

    def __init__(self, secret_key: str) -> None:
        raw = hashlib.sha256(b"proxgate sso refresh tokens\0" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def seal(self, text: str | None) -> str | None:
        """The text encrypted (and authenticated), or None."""
        return self._fernet.encrypt(text.encode()).decode() if text else None

    def open(self, sealed: str | None, ttl: int | None = None) -> str | None:
        """The text, or None when there is none, it was sealed with another key or more than ttl seconds ago."""
        if not sealed:
            return None
        try:
            return self._fernet.decrypt(sealed.encode(), ttl=ttl).decode()
        except InvalidToken:
            return None


async def sync_user(db: AsyncSession, identity: Identity) -> User:
    """The user for this identity, made at first sign-in; role and groups follow the provider's.

    Someone whose groups no longer map to a role is refused, and loses their other sessions and API tokens."""
    user = (await db.exec(select(User).where(User.sso_subject == identity.subject))).first()
    if identity.role is None:
        if user is not None:
            await revoke_sessions(db, user_key(user))
            await revoke_tokens(db, user_key(user))
            await db.commit()
        raise SsoRefused("None of your groups at the identity provider gives access to Proxgate.", "no-role")
    if user is None:
        try:
            name = validate_username(identity.username)
        except Invalid as exc:
            raise SsoRefused(
                f"Your name at the identity provider cannot be used here: {exc.message}", "bad-name"
            ) from exc
        if (await db.exec(select(User).where(User.username == name))).first() is not None:
            # Never hand an existing (local) account to whoever the provider calls by the same name.
            raise SsoRefused(
                f"A Proxgate account named '{name}' exists already and is not linked to single sign-on.",
                "name-taken",
            )
        user = User(
            username=name, role=identity.role, password_hash=NO_PASSWORD, sso_subject=identity.subject
        )
    if not user.is_active:
        raise SsoRefused("Your Proxgate account is deactivated.", "inactive")
    user.role = identity.role
    user.groups = ",".join(kept_groups(identity))
    db.add(user)
    await db.flush()
    return user


class Grouped(Protocol):
    """Someone as an identity provider or the LDAP directory describes them: their groups, and those mapped."""

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group named."""

    @property
    def mapped(self) -> tuple[str, ...]:
        """The groups the role map names."""


def kept_groups(identity: Grouped, limit: int = GROUPS_LIMIT) -> list[str]:
    """The provider's (or directory's) groups that are group names here (lower-cased), those that map to a role
    first, within the room a user's groups have; the others (paths such as /team/dba, names with spaces) only
    map roles."""
    valid = {g.strip().lower() for g in identity.groups} - {""}
    names = sorted(g for g in valid if GROUP_RE.match(g))
    mapped = {g.lower() for g in identity.mapped}
    kept: list[str] = []
    for name in sorted(names, key=lambda g: (g not in mapped, g)):
        if len(",".join([*kept, name])) <= limit:
            kept.append(name)
    return sorted(kept)


async def sign_in(
    db: AsyncSession, sealer: Sealer, identity: Identity, ip: str, user_agent: str
) -> tuple[User, str]:
    """The synced user and a new session that remembers how to ask the provider again; the cookie secret."""
    user = await sync_user(db, identity)
    secret = await start_session(db, user, ip, user_agent)
    await db.exec(
        update(WebSession)
        .where(col(WebSession.id) == digest(secret))
        .values(
            sso_refresh_token=sealer.seal(identity.refresh_token),
            sso_id_token=identity.id_token,
            sso_checked_at=utcnow(),
        )
    )
    return user, secret


async def claim_check(db: AsyncSession, principal: Principal) -> bool:
    """Claim the session's check of its identity (the provider's or the directory's) once its last is older than
    SSO_CHECK_INTERVAL: True for the one request that does; the others carry on with the role given last."""
    if principal.session_id is None:
        return False
    now = utcnow()
    claimed = await db.exec(
        update(WebSession)
        .where(
            col(WebSession.id) == principal.session_id,
            col(WebSession.sso_checked_at) < now - SSO_CHECK_INTERVAL,
        )
        .values(sso_checked_at=now)
    )
    await db.commit()
    return bool(claimed.rowcount == 1)


async def recheck(
    db: AsyncSession, client: OidcClient, sealer: Sealer, principal: Principal
) -> tuple[Principal | None, Identity | SsoRefused | None]:
    """Ask the provider about a session's person once its word is older than SSO_CHECK_INTERVAL.

    Returns the principal to act as (None: the session ended) and what the provider said (None: nobody asked,
    because another request of the session is asking right now or did a moment ago)."""
    if not await claim_check(db, principal):
        return principal, None
    row = await db.get(WebSession, principal.session_id)
    user = await db.get(User, principal.user_id)
    if row is None or user is None or user.sso_subject is None:
        return principal, None
    try:
        refresh_token = sealer.open(row.sso_refresh_token)
        if refresh_token is None:
            raise SsoRefused(
                "The identity provider gave no refresh token to check the sign-in with.", "no-refresh-token"
            )
        identity = await client.refresh(refresh_token, user.sso_subject)
        user = await sync_user(db, identity)
    except SsoRefused as refused:
        row.revoked_at = utcnow()
        db.add(row)
        await db.commit()
        return None, refused
    row.sso_refresh_token = sealer.seal(identity.refresh_token)
    row.sso_id_token = identity.id_token
    db.add(row)
    await db.commit()
    principal = Principal(
        user_key(user),
        user.username,
        user.role,
        "session",
        session_id=row.id,
        csrf_token=row.csrf_token,
        groups=groups_of(user),
    )
    return principal, identity


async def id_token_of(db: AsyncSession, session_id: str) -> str | None:
    """The ID token a session was started with (a hint for signing out at the provider), or None."""
    row = await db.get(WebSession, session_id)
    return row.sso_id_token if row else None


async def record(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    operation: str,
    outcome: str,
    subject: str,
    message: str,
    params: Mapping[str, object],
) -> None:
    """One single sign-on event in the audit chain (risk 'admin': it decides who has which role)."""
    await append(
        sessions, actor, Draft(operation, "admin", outcome, Target(name=subject), params, message=message)
    )
