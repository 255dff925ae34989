"""Accounts: users, roles, passwords, sessions and API tokens."""

from app.db.models import Role
from app.services.accounts import auth, users
from app.services.accounts.auth import Policy, Principal, same_secret
from app.services.accounts.cli import add_token, add_user, set_password, set_role
from app.services.accounts.passwords import verify_password

__all__ = [
    "Policy",
    "Principal",
    "Role",
    "add_token",
    "add_user",
    "auth",
    "same_secret",
    "set_password",
    "set_role",
    "users",
    "verify_password",
]
