"""How a provider's groups become a role and the user's groups (pure functions)."""

from __future__ import annotations

from app.db.models import Role
from app.services.accounts.oidc import Identity, role_for
from app.services.accounts.sso import kept_groups

ROLE_MAP = {"proxmox-admins": Role.admin, "dba": Role.approver, "ops": Role.operator}


def identity(groups: list[str], mapped: list[str]) -> Identity:
    return Identity("sub", "someone", tuple(groups), None, None, "id-token", tuple(mapped))


def test_the_highest_mapped_role_wins_and_unmapped_groups_give_none() -> None:
    assert role_for(("ops", "dba", "other"), ROLE_MAP) == Role.approver
    assert role_for(("ops", "proxmox-admins"), ROLE_MAP) == Role.admin
    assert role_for(("other", "DBA"), ROLE_MAP) is None  # names are compared exactly


def test_groups_kept_are_group_names_here_with_mapped_ones_first_when_room_runs_out() -> None:
    assert kept_groups(identity(["Ops", "/team/dba", "two words", "dba"], ["dba"])) == ["dba", "ops"]
    many = [f"team-{n:03d}" for n in range(100)] + ["zz-dba"]
    kept = kept_groups(identity(many, ["zz-dba"]), limit=40)
    assert "zz-dba" in kept and len(",".join(kept)) <= 40
    assert kept == sorted(["zz-dba", "team-000", "team-001", "team-002"])
