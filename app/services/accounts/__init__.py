"""Accounts: users, roles, passwords, sessions and API tokens; single sign-on and LDAP sign-in."""

from app.db.models import Role
from app.services.accounts import auth, directory, sso, users
from app.services.accounts.auth import Policy, Principal, acting_for, same_secret
from app.services.accounts.cli import add_token, add_user, set_password, set_role, set_user_groups
from app.services.accounts.ldap import LdapConfig, LdapDirectory, LdapRefused
from app.services.accounts.oidc import Attempt, OidcClient, SsoConfig, SsoRefused
from app.services.accounts.passwords import verify_password
from app.services.accounts.sso import Sealer
from app.services.accounts.users import set_groups

__all__ = [
    "Attempt",
    "LdapConfig",
    "LdapDirectory",
    "LdapRefused",
    "OidcClient",
    "Sealer",
    "SsoConfig",
    "SsoRefused",
    "sso",
    "Policy",
    "Principal",
    "Role",
    "acting_for",
    "add_token",
    "add_user",
    "auth",
    "directory",
    "same_secret",
    "set_groups",
    "set_password",
    "set_role",
    "set_user_groups",
    "users",
    "verify_password",
]
