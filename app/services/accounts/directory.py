"""LDAP sign-in's accounts: the password form's sign-in (local accounts stay local), users made and kept in step
with the directory, sessions it re-checks, the audit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import User, user_key
from app.services.accounts import auth
from app.services.accounts.auth import Policy, Principal, check_throttle, record_attempt
from app.services.accounts.ldap import LdapDirectory, LdapRefused, Person
from app.services.accounts.sso import claim_check, kept_groups, record
from app.services.accounts.users import (
    find_user,
    groups_of,
    revoke_sessions,
    revoke_tokens,
    validate_username,
)
from app.services.audit import Actor
from app.services.errors import Invalid, Unauthenticated

# Stored instead of a password hash: argon2 can never match it, so a directory user has no local password.
NO_PASSWORD = "!ldap"  # noqa: S105 (an impossible hash, not a password)


async def authenticate(
    db: AsyncSession,
    policy: Policy,
    directory: LdapDirectory | None,
    username: str,
    password: str,
    ip: str,
) -> tuple[User, Person | None]:
    """The user for these credentials: an account of this name not from the directory by its password here,
    anyone else by the directory (when there is one), throttled and recorded alike; and the directory's word."""
    name = username.strip().lower()[:64]
    known = await find_user(db, name)
    if directory is None or (known is not None and known.ldap_dn is None):
        return await auth.authenticate(db, policy, username, password, ip), None
    await check_throttle(db, policy, name, ip)
    # The directory may take seconds: the database connection goes back to the pool meanwhile.
    await db.commit()
    try:
        # Lower-cased as the user's name here is, so the sign-in and the session checks ask the same question.
        person = await directory.authenticate(username.strip().lower(), password)
    except LdapRefused:
        raise  # the directory could not say: no failed password
    except Unauthenticated:
        await record_attempt(db, name, ip, success=False)
        await db.commit()
        raise
    await record_attempt(db, name, ip, success=True)
    return await sync_user(db, person), person


async def sync_user(db: AsyncSession, person: Person) -> User:
    """The user for this person, made at first sign-in; role, groups and DN follow the directory's.

    Someone in no mapped group is refused, and loses their other sessions and API tokens."""
    try:
        name = validate_username(person.username)
    except Invalid as exc:
        raise LdapRefused(
            f"Your name in the directory cannot be used here: {exc.message}", "bad-name"
        ) from exc
    user = await find_user(db, name)
    if user is not None and user.ldap_dn is None:
        # Never hand an existing account (local, or single sign-on's) to whoever the directory calls the same.
        raise LdapRefused(
            f"A Proxgate account named '{name}' exists already and is not linked to the directory.",
            "name-taken",
        )
    if person.role is None:
        if user is not None:
            await end_everything(db, user)
        raise LdapRefused("None of your groups in the directory gives access to Proxgate.", "no-role")
    if user is None:
        user = User(username=name, role=person.role, password_hash=NO_PASSWORD, ldap_dn=person.dn)
    if not user.is_active:
        raise LdapRefused("Your Proxgate account is deactivated.", "inactive")
    user.role = person.role
    user.groups = ",".join(kept_groups(person))
    user.ldap_dn = person.dn
    db.add(user)
    await db.flush()
    return user


async def end_everything(db: AsyncSession, user: User) -> None:
    """End the user's sessions and revoke their API tokens (committed: the refusal that follows rolls back)."""
    await revoke_sessions(db, user_key(user))
    await revoke_tokens(db, user_key(user))
    await db.commit()


async def recheck(
    db: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    directory: LdapDirectory | None,
    principal: Principal,
    actor: Actor,
) -> Principal | None:
    """Ask the directory about a session's person once its word is older than SSO_CHECK_INTERVAL: the principal
    to act as, with the role and groups it gives now, or None when the session ended (audited either way)."""
    if not await claim_check(db, principal):
        return principal
    try:
        user = await _user_now(db, directory, principal.username)
    except LdapRefused as refused:
        await _end_session(db, principal)
        message = f"{principal.username}'s directory session ended: {refused.message}"
        said = {"reason": refused.reason}
        await record(sessions, actor, "ldap.session_ended", "refused", principal.username, message, said)
        return None
    await db.commit()
    if user.role != principal.role:
        message = f"{user.username} is {user.role} now (was {principal.role}), as the directory says"
        params: dict[str, object] = {
            "role": str(user.role),
            "previous_role": str(principal.role),
            "groups": sorted(groups_of(user)),
        }
        await record(sessions, actor, "ldap.role_changed", "succeeded", user.username, message, params)
    return Principal(
        user_key(user),
        user.username,
        user.role,
        "session",
        session_id=principal.session_id,
        csrf_token=principal.csrf_token,
        groups=groups_of(user),
        ldap=True,
    )


async def _user_now(db: AsyncSession, directory: LdapDirectory | None, username: str) -> User:
    """The user as the directory describes them now; LdapRefused when it no longer lets them in."""
    if directory is None:
        raise LdapRefused("Signing in with the directory is turned off.", "ldap-off")
    person = await directory.lookup(username)
    if person is None:
        # The directory's own answer (nobody of that name, or disabled where the user filter leaves disabled
        # people out) ends every way in, as no mapped group does; one that cannot answer ends this session only.
        if (user := await find_user(db, username)) is not None:
            await end_everything(db, user)
        raise LdapRefused("The directory no longer finds you (removed, disabled or renamed).", "not-found")
    return await sync_user(db, person)


async def _end_session(db: AsyncSession, principal: Principal) -> None:
    await db.rollback()
    await auth.end_session(db, principal.session_id or "")
    await db.commit()


async def record_sign_in(
    sessions: async_sessionmaker[AsyncSession], actor: Actor, user: User, person: Person
) -> None:
    """The directory's sign-in in the audit chain, with the role and groups it gave."""
    message = f"{user.username} signed in with the directory as {user.role}"
    params = {"role": str(user.role), "groups": list(person.groups), "dn": person.dn}
    await record(sessions, actor, "ldap.sign_in", "succeeded", user.username, message, params)


async def record_refusal(
    sessions: async_sessionmaker[AsyncSession], actor: Actor, refused: LdapRefused
) -> None:
    """A sign-in refused for another reason than a wrong password (a right one that gives no access, or a
    directory that cannot answer), in the audit chain."""
    params = {"reason": refused.reason}
    await record(sessions, actor, "ldap.refused", "refused", "sign-in", refused.message, params)
