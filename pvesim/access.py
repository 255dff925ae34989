"""Users, API tokens, groups, roles and ACLs as pve-access-control keeps them, and what fakepve lacks of them:
GET /access/users (full=1 with groups and tokens), GET /access/acl and GET /access/permissions computed from
the ACL tree as PVE::RPCEnvironment does. Each change also feeds fakepve's own permission checks (`acl`), so a
user's token acts on the cluster with exactly what its ACLs grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakepve import PveError

from pvesim.base import DemoBase

# PVE::AccessControl's privilege groups: (admin, user, audit) per category; roles are made from them.
PRIVGROUPS: dict[str, tuple[list[str] | tuple[str, ...], ...]] = {
    "VM": (
        [
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.HWType",
            "VM.Config.Options",
            "VM.Allocate",
            "VM.Clone",
            "VM.GuestAgent.Unrestricted",
            "VM.Migrate",
            "VM.Replicate",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
        ],
        [
            "VM.Config.CDROM",
            "VM.Config.Cloudinit",
            "VM.Console",
            "VM.Backup",
            "VM.GuestAgent.FileRead",
            "VM.GuestAgent.FileSystemMgmt",
            "VM.GuestAgent.FileWrite",
            "VM.PowerMgmt",
        ],
        ("VM.Audit", "VM.GuestAgent.Audit"),
    ),
    "Sys": (("Sys.Console", "Sys.Syslog"), (), ("Sys.Audit",)),
    "Datastore": (
        ("Datastore.Allocate", "Datastore.AllocateTemplate"),
        ("Datastore.AllocateSpace",),
        ("Datastore.Audit",),
    ),
    "SDN": (("SDN.Allocate", "SDN.Audit"), ("SDN.Use",), ("SDN.Audit",)),
    "User": (("User.Modify", "Group.Allocate", "Realm.AllocateUser"), (), ()),
    "Pool": (("Pool.Allocate",), ("Pool.Audit",), ("Pool.Audit",)),
    "Mapping": (("Mapping.Modify",), ("Mapping.Use",), ("Mapping.Audit",)),
}
ROOT_ONLY = (
    "Sys.PowerMgmt",
    "Sys.Modify",
    "Sys.Incoming",
    "Sys.AccessNetwork",
    "Realm.Allocate",
    "Permissions.Modify",
)


def builtin_roles() -> dict[str, frozenset[str]]:
    """PVE's special roles, as create_roles() builds them."""
    roles: dict[str, set[str]] = {"NoAccess": set(), "PVEAdmin": set(), "PVEAuditor": set()}
    every: set[str] = set(ROOT_ONLY)
    for cat, (admin, user, audit) in PRIVGROUPS.items():
        every.update(admin, user, audit)
        roles[f"PVE{cat}Admin"] = {*admin, *user, *audit}
        roles["PVEAdmin"].update(admin, user, audit)
        if user:
            roles[f"PVE{cat}User"] = {*user, *audit}
        roles["PVEAuditor"].update(audit)
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    roles["Administrator"] = every
    return {name: frozenset(privs) for name, privs in roles.items()}


@dataclass
class AclEntry:
    """One line of user.cfg's ACL: a role for a user, group or token on a path."""

    path: str
    kind: str  # user | group | token
    ugid: str
    role: str
    propagate: bool = True


@dataclass
class AccessUser:
    """A user of user.cfg: enabled, expiry, groups and API tokens ({tokenid: {privsep, expire, comment}})."""

    userid: str
    enable: bool = True
    expire: int = 0
    comment: str = ""
    groups: list[str] = field(default_factory=list)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)


def _levels(path: str, pools: list[str]) -> list[str]:
    """The paths from / down to `path` whose ACLs apply to it, a guest's pools between /vms and /vms/ID."""
    parts = [p for p in path.split("/") if p]
    levels = ["/"] + ["/" + "/".join(parts[: n + 1]) for n in range(len(parts))]
    if len(parts) == 2 and parts[0] == "vms":
        levels[-1:-1] = [f"/pool/{name}" for name in pools]
    return levels


class AccessMixin(DemoBase):
    """Mixin of DemoPve: the access control state and the reads the side-door report makes."""

    def access_state(self) -> tuple[dict[str, AccessUser], list[AclEntry], dict[str, frozenset[str]]]:
        """The users, the ACL and the roles (made on first use)."""
        if not hasattr(self, "_access"):
            root = AccessUser("root@pam", comment="Built-in superuser")
            self._access: tuple[dict[str, AccessUser], list[AclEntry], dict[str, frozenset[str]]] = (
                {"root@pam": root},
                [],
                builtin_roles(),
            )
        return self._access

    def add_access_user(self, userid: str, password: str | None = None, **options: Any) -> AccessUser:
        """A user (a password makes it able to sign in with a ticket); options as AccessUser's."""
        users, _, _ = self.access_state()
        users[userid] = user = AccessUser(userid, **options)
        if password is not None:
            self.users[userid] = password
        return user

    def add_access_token(
        self, userid: str, tokenid: str, secret: str, privsep: bool = True, expire: int = 0
    ) -> str:
        """An API token of an existing user; its full id (user@realm!tokenid)."""
        users, _, _ = self.access_state()
        users[userid].tokens[tokenid] = {"privsep": int(privsep), "expire": expire, "comment": ""}
        full = f"{userid}!{tokenid}"
        self.apitokens[full] = secret
        return full

    def tokens_of(self, user: AccessUser) -> dict[str, dict[str, Any]]:
        """The user's tokens; one only fakepve's `apitokens` knows acts with its user's rights (privsep 0)."""
        tokens = {
            full.partition("!")[2]: {"privsep": 0, "expire": 0, "comment": ""}
            for full in self.apitokens
            if full.partition("!")[0] == user.userid
        }
        return tokens | user.tokens

    def set_acl(self, path: str, ugid: str, role: str, kind: str = "user", propagate: bool = True) -> None:
        """Give a user, group or token a role on a path, and let fakepve's checks follow."""
        _, acl, roles = self.access_state()
        if role not in roles:
            raise KeyError(f"no role {role}")
        acl.append(AclEntry(path.rstrip("/") or "/", kind, ugid, role, propagate))
        self._sync_checks()

    def effective(self, who: str, path: str) -> set[str]:
        """The privileges `who` (a user or a token) holds on `path`, as PVE::RPCEnvironment::permissions."""
        users, _, roles = self.access_state()
        userid, _, token = who.partition("!")
        if who == "root@pam":
            return set(roles["Administrator"])
        # A disabled user is looked up like any other: PVE refuses its logins, not its permission list.
        user = users.get(userid)
        if user is None:
            return set()
        if token:
            info = self.tokens_of(user).get(token)
            if info is None:
                return set()
            own = self.effective(userid, path)
            return own if not info["privsep"] else own & self._compiled(who, "token", path)
        if userid == "root@pam":
            return set(roles["Administrator"])
        return self._compiled(userid, "user", path)

    def _compiled(self, ugid: str, kind: str, path: str) -> set[str]:
        """The ACL tree walked from / to the path: a level naming the principal replaces what came before."""
        users, acl, roles = self.access_state()
        groups = users[ugid.partition("!")[0]].groups if kind == "user" else []
        vmid = path.split("/")[2] if path.startswith("/vms/") else None
        pools = [name for name, ids in self.pools.items() if vmid and vmid.isdigit() and int(vmid) in ids]
        held: set[str] = set()
        for level in _levels(path, pools):
            exact = level == path
            here = [e for e in acl if e.path == level and (e.propagate or exact)]
            mine = [e for e in here if e.kind == kind and e.ugid == ugid]
            theirs = [e for e in here if kind == "user" and e.kind == "group" and e.ugid in groups]
            chosen = mine or theirs
            if chosen:
                held = set().union(*(roles[e.role] for e in chosen))
        return held

    def _sync_checks(self) -> None:
        """fakepve's acl ({principal: [(path, privs)]}) from the ACL, so requests are checked as PVE would."""
        users, acl, _ = self.access_state()
        principals = [u.userid for u in users.values()] + [
            f"{u.userid}!{t}" for u in users.values() for t in self.tokens_of(u)
        ]
        self.acl = {}
        paths = sorted({e.path for e in acl})
        for who in principals:
            grants = [(p, privs) for p in paths if (privs := self.effective(who, p))]
            if grants:
                self.acl[who] = grants

    def _routes_access(self) -> list[tuple[str, str, Any]]:
        """Replaces fakepve's /access/permissions (root or the grants alone, no ACL tree) and adds the rest."""
        return [
            ("GET", "/access/users", self._access_users),
            ("GET", "/access/acl", self._access_acl),
            ("GET", "/access/permissions", self._access_permissions),
        ]

    async def _access_users(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """The users the caller may see (Sys.Audit or User.Modify on /access/groups), itself always."""
        users, _, _ = self.access_state()
        sees_all = any(p in self.effective(user, "/access/groups") for p in ("Sys.Audit", "User.Modify"))
        out = []
        for item in users.values():
            if not sees_all and item.userid != user.partition("!")[0]:
                continue
            row: dict[str, Any] = {"userid": item.userid, "enable": int(item.enable), "expire": item.expire}
            row["realm-type"] = item.userid.rpartition("@")[2]
            if item.comment:
                row["comment"] = item.comment
            if values.get("full"):
                row["groups"] = ",".join(item.groups)
                row["tokens"] = [{"tokenid": t, **info} for t, info in sorted(self.tokens_of(item).items())]
            out.append(row)
        return out

    async def _access_acl(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """The ACL entries on paths where the caller may change permissions (Permissions.Modify)."""
        _, acl, _ = self.access_state()
        return [
            {"path": e.path, "type": e.kind, "ugid": e.ugid, "roleid": e.role, "propagate": int(e.propagate)}
            for e in acl
            if "Permissions.Modify" in self.effective(user, e.path)
        ]

    async def _access_permissions(self, values: dict[str, Any], user: str) -> dict[str, dict[str, int]]:
        """Own permissions (and owned tokens'), or anyone's with Sys.Audit on /access (API2/AccessControl.pm)."""
        who = values.get("userid") or user
        owner = who.partition("!")[0]
        if who != user and owner != user and "Sys.Audit" not in self.effective(user, "/access"):
            raise PveError(403, "Permission check failed (/access, Sys.Audit)")
        if values.get("path"):
            privs = self.effective(who, values["path"])
            return {values["path"]: dict.fromkeys(sorted(privs), 1)} if privs else {}
        _, acl, _ = self.access_state()
        paths = {"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"}
        paths |= {e.path for e in acl}
        for name, ids in self.pools.items():
            paths |= {f"/vms/{vmid}" for vmid in ids}
            paths.add(f"/pool/{name}")
        out = {}
        for path in sorted(paths):
            privs = self.effective(who, path)
            if privs:
                out[path] = dict.fromkeys(sorted(privs), 1)
        return out
