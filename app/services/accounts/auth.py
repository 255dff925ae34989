"""Sign-in with throttling, server-side sessions, and API tokens for scripts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import ApiToken, LoginAttempt, Role, User, WebSession, user_key, utcnow
from app.services.accounts.passwords import verify_password
from app.services.accounts.users import groups_of
from app.services.errors import Invalid, NotFound, TooManyAttempts, Unauthenticated
from app.services.secrets_in_text import TOKEN_PREFIX, secret_problem

# Writing last_seen on every request would make each page view a database write; a session's is written at most
# this often, or a quarter of its idle time when that is shorter (Policy.touch_interval).
TOUCH_INTERVAL = timedelta(minutes=1)
# What a token gets when no role is asked for: deciding others' requests is a person's act, so a token of an
# approver or an admin acts as an operator unless it is made with a higher role on purpose.
DEFAULT_TOKEN_ROLE = Role.operator
# How long the identity provider's (or the LDAP directory's) word on a session holds: past it, the session's next
# request asks again (app/services/accounts/sso.py, directory.py), so someone no longer let in loses access by then.
SSO_CHECK_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    """Who is acting, how they signed in, and the role in force."""

    user_id: int
    username: str
    role: Role
    method: str  # "session" or "token"
    session_id: str | None = None
    csrf_token: str | None = None
    token_id: int | None = None
    token_name: str | None = None
    # Named approver groups (a token acts with its user's).
    groups: frozenset[str] = frozenset()
    # A single sign-on session whose provider must be asked again before this request goes on.
    sso_due: bool = False
    # A user the LDAP directory vouches for: their session's check asks the directory, not the provider.
    ldap: bool = False

    def can(self, role: Role | str) -> bool:
        """True when the principal's role includes `role`."""
        return self.role.includes(role)


@dataclass(frozen=True)
class Policy:
    """Session lifetime and throttling limits, taken from settings."""

    idle: timedelta
    max_age: timedelta
    max_failures: int
    ip_max_failures: int
    window: timedelta

    @property
    def touch_interval(self) -> timedelta:
        """How stale a session's last_seen may get before activity writes it again."""
        # Well inside the idle time, so an active session never looks idle: with TOUCH_INTERVAL alone, a
        # 1-minute idle time ended a session in use after 60 s, its last write being 60 s old by then.
        return min(TOUCH_INTERVAL, self.idle / 4)


def digest(secret: str) -> str:
    """sha256 hex of a secret; what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


async def _recent_failures(db: AsyncSession, since: datetime, **where: str) -> int:
    ((column, value),) = where.items()
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            getattr(LoginAttempt, column) == value,
            col(LoginAttempt.success).is_(False),
            LoginAttempt.at >= since,
        )
    )
    return int((await db.exec(query)).one())


async def check_throttle(db: AsyncSession, policy: Policy, username: str, ip: str) -> None:
    """TooManyAttempts when the account or the address has failed too often lately."""
    since = utcnow() - policy.window
    minutes = int(policy.window.total_seconds() // 60)
    if await _recent_failures(db, since, username=username) >= policy.max_failures:
        raise TooManyAttempts(f"Too many failed sign-ins for this account. Try again in {minutes} minutes.")
    if await _recent_failures(db, since, ip=ip) >= policy.ip_max_failures:
        raise TooManyAttempts(f"Too many failed sign-ins from your address. Try again in {minutes} minutes.")


async def authenticate(db: AsyncSession, policy: Policy, username: str, password: str, ip: str) -> User:
    """The user for these credentials; records the attempt; one vague message for any failure."""
    name = username.strip().lower()[:64]
    await check_throttle(db, policy, name, ip)
    user = (await db.exec(select(User).where(User.username == name))).first()
    ok = await verify_password(user.password_hash if user else None, password)
    success = bool(ok and user and user.is_active)
    await record_attempt(db, name, ip, success)
    if success and user is not None:
        return user
    await db.commit()
    raise Unauthenticated("Wrong username or password.")


async def record_attempt(db: AsyncSession, name: str, ip: str, success: bool) -> None:
    """Note a sign-in attempt for throttling (a password checked here or by the LDAP directory)."""
    db.add(LoginAttempt(username=name, ip=ip[:64], success=success))
    if success:
        # A good sign-in clears the account's failures so an old burst does not lock it later.
        await db.exec(
            delete(LoginAttempt).where(
                col(LoginAttempt.username) == name, col(LoginAttempt.success).is_(False)
            )
        )


async def start_session(db: AsyncSession, user: User, ip: str, user_agent: str, vouched: bool = False) -> str:
    """A new session for the user; returns the cookie secret (only its digest is stored). A vouched session
    (the LDAP directory's word) is re-checked there once SSO_CHECK_INTERVAL has passed."""
    secret = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            id=digest(secret),
            user_id=user_key(user),
            csrf_token=secrets.token_urlsafe(32),
            ip=ip[:64],
            user_agent=user_agent[:255],
            sso_checked_at=utcnow() if vouched else None,
        )
    )
    await db.flush()
    return secret


async def resolve_session(
    db: AsyncSession, policy: Policy, secret: str, activity: bool = True
) -> Principal | None:
    """The principal of a live session cookie, or None (expired, revoked, unknown, inactive user).

    Only activity extends the idle time: a page's own background refreshes pass activity=False.
    """
    # The session and its user in one round trip: this runs before every page and API call.
    found = (
        await db.exec(select(WebSession, User).join(User).where(col(WebSession.id) == digest(secret)))
    ).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.revoked_at is not None or not user.is_active:
        return None
    if now - _aware(row.last_seen_at) > policy.idle or now - _aware(row.created_at) > policy.max_age:
        return None
    if activity and now - _aware(row.last_seen_at) > policy.touch_interval:
        row.last_seen_at = now
        db.add(row)
        await db.commit()
    sso_due = row.sso_checked_at is not None and now - _aware(row.sso_checked_at) > SSO_CHECK_INTERVAL
    return Principal(
        user_key(user),
        user.username,
        user.role,
        "session",
        session_id=row.id,
        csrf_token=row.csrf_token,
        groups=groups_of(user),
        sso_due=sso_due,
        ldap=user.ldap_dn is not None,
    )


async def acting_for(db: AsyncSession, user_id: int | None, method: str) -> Principal | None:
    """The principal of an active user with the role and groups they hold now, for work carried on in their
    name without a request of theirs (a batch another process resumes); None when gone or disabled."""
    user = await db.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        return None
    return Principal(user_key(user), user.username, user.role, method, groups=groups_of(user))


async def end_session(db: AsyncSession, session_id: str) -> None:
    """Revoke one session (sign out)."""
    await db.exec(update(WebSession).where(col(WebSession.id) == session_id).values(revoked_at=utcnow()))


async def create_token(
    db: AsyncSession, user: User, name: str, role: Role | None = None
) -> tuple[ApiToken, str]:
    """A new API token acting as `user` with at most the user's role (without a role asked for: the user's,
    at most operator); returns (row, secret shown once)."""
    label = name.strip()
    if not label or len(label) > 64:
        raise Invalid("Give the token a name of 1–64 characters.", field="name")
    problem = secret_problem(label, "name")
    if problem:
        raise Invalid(problem, field="name")
    scope = role or default_token_role(user.role)
    if not user.role.includes(scope):
        raise Invalid(f"A token cannot have more rights than its user ({user.role}).", field="role")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=label, user_id=user_key(user), role=scope, token_hash=digest(secret), prefix=secret[:10]
    )
    db.add(token)
    await db.flush()
    return token, secret


def default_token_role(user_role: Role) -> Role:
    """The role of a token made without one: the user's, at most DEFAULT_TOKEN_ROLE."""
    return user_role if DEFAULT_TOKEN_ROLE.includes(user_role) else DEFAULT_TOKEN_ROLE


async def resolve_token(db: AsyncSession, secret: str) -> Principal | None:
    """The principal of a bearer token; its role is capped by the user's current role."""
    found = (
        await db.exec(select(ApiToken, User).join(User).where(ApiToken.token_hash == digest(secret)))
    ).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None or not user.is_active:
        return None
    role = token.role if user.role.includes(token.role) else user.role
    now = utcnow()
    if token.last_used_at is None or now - _aware(token.last_used_at) > TOUCH_INTERVAL:
        token.last_used_at = now
        db.add(token)
        await db.commit()
    return Principal(
        user_key(user),
        user.username,
        role,
        "token",
        token_id=token.id,
        token_name=token.name,
        groups=groups_of(user),
    )


def token_facts(token: ApiToken) -> dict[str, object]:
    """How the audit log names a token: its name and id, never its secret."""
    return {"token_name": token.name, "token_id": token.id}


async def list_tokens(db: AsyncSession, user_id: int | None = None, text: str = "") -> list[ApiToken]:
    """Tokens, newest first; one user's when user_id is given; those whose name or owner's name contains the
    text (any case) when it is given."""
    query = select(ApiToken).order_by(col(ApiToken.created_at).desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    if text:
        owners = select(User.id).where(col(User.username).icontains(text, autoescape=True))
        query = query.where(
            or_(col(ApiToken.name).icontains(text, autoescape=True), col(ApiToken.user_id).in_(owners))
        )
    return list((await db.exec(query)).all())


async def revoke_token(db: AsyncSession, token_id: int) -> ApiToken:
    """Revoke a token so it stops working at once."""
    token = await db.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token with id {token_id}.")
    token.revoked_at = token.revoked_at or utcnow()
    db.add(token)
    await db.flush()
    return token


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two optional secrets."""
    return bool(given and expected and hmac.compare_digest(given, expected))
