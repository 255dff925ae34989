"""The simulator's users, tokens and ACLs answer as pve-access-control does, and bind what a token may do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pvesim.access import builtin_roles
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, ServedFake
from tests.side_door_people import CI_TOKEN, Direct, side_door_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """The demo's people on a small cluster."""
    yield from side_door_cluster(tmp_path_factory.mktemp("access"))


@pytest.fixture
def proxgate(cluster: ServedFake) -> Iterator[Direct]:
    """Proxgate's own token (root@pam's, with its user's rights)."""
    direct = Direct(cluster, TOKEN_ID, TOKEN_SECRET)
    yield direct
    direct.close()


def test_the_built_in_roles_are_pve_s() -> None:
    roles = builtin_roles()
    assert roles["PVEAuditor"] == {
        "Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit",
    }  # fmt: skip
    assert "VM.Allocate" in roles["PVEVMAdmin"] and "VM.Allocate" not in roles["PVEVMUser"]
    assert "Permissions.Modify" in roles["Administrator"] and "Permissions.Modify" not in roles["PVEAdmin"]


def test_users_are_listed_with_their_tokens(proxgate: Direct) -> None:
    users = {u["userid"]: u for u in proxgate.call("GET", "/access/users", full=1)}
    assert set(users) >= {"root@pam", "ops@pve", "ci@pve", "monitor@pve", "former@pve"}
    assert {t["tokenid"]: t["privsep"] for t in users["ci@pve"]["tokens"]} == {"deploy": 1}
    assert {t["tokenid"]: t["privsep"] for t in users["root@pam"]["tokens"]} == {"proxgate": 0}
    assert users["former@pve"]["enable"] == 0


def test_permissions_follow_the_acl_tree(proxgate: Direct) -> None:
    ci = proxgate.call("GET", "/access/permissions", userid=CI_TOKEN)
    assert "VM.Allocate" in ci["/vms"] and "/" not in ci
    monitor = proxgate.call("GET", "/access/permissions", userid="monitor@pve")
    assert "Sys.Audit" in monitor["/"] and all("VM.Allocate" not in p for p in monitor.values())
    root = proxgate.call("GET", "/access/permissions", userid="root@pam", path="/vms/100")
    assert "VM.Allocate" in root["/vms/100"]
    former = proxgate.call("GET", "/access/permissions", userid="former@pve")  # disabled, its ACLs kept
    assert "VM.Allocate" in former["/"]
    assert proxgate.http.get("/access/permissions", params={"userid": "nobody@pve"}).json()["data"] == {}


def test_someone_else_s_permissions_need_sys_audit_on_access(cluster: ServedFake) -> None:
    ci = Direct(cluster)
    try:
        own = ci.http.get("/access/permissions")
        assert own.status_code == 200 and "/vms" in own.json()["data"]
        other = ci.http.get("/access/permissions", params={"userid": "monitor@pve"})
        assert other.status_code == 403 and "(/access, Sys.Audit)" in other.json()["message"]
    finally:
        ci.close()


def test_a_token_acts_with_what_its_acls_grant(cluster: ServedFake) -> None:
    pve = cluster.pve
    pve.add_vm(9601, "sidedoor-a", node="pve1", status="stopped", config={"memory": 512})
    ci = Direct(cluster)
    try:
        upid = ci.call("POST", "/nodes/pve1/qemu/9601/status/start")
        assert f":qmstart:9601:{CI_TOKEN}:" in upid and ci.wait(upid) == "OK"
        refused = ci.http.get("/nodes/pve1/syslog")
        assert refused.status_code == 403 and "Sys.Syslog" in refused.json()["message"]
    finally:
        ci.close()
        pve.vms = [vm for vm in pve.vms if vm.vmid != 9601]


def test_a_user_signs_in_to_the_ui_and_deletes_a_guest(cluster: ServedFake, tmp_path: Path) -> None:
    """The demo's side door: the UI user's ticket deletes a guest; the task names the user."""
    from app.demo.fakeserver import ACCESS_FILE
    from app.demo.side_door import delete_in_ui

    pve = cluster.pve
    pve.add_vm(9602, "sidedoor-b", node="pve1", status="stopped", config={"memory": 512})
    ui = {"url": cluster.url, "cafile": cluster.cafile, "user": "ops@pve", "password": pve.users["ops@pve"]}
    (tmp_path / ACCESS_FILE).write_text(httpx.Response(200, json=ui).text)
    upid = delete_in_ui(tmp_path, 9602)
    assert ":qmdestroy:9602:ops@pve:" in upid
    assert pve.vm(9602) is None


def test_a_pool_s_acl_reaches_its_guests(cluster: ServedFake, proxgate: Direct) -> None:
    pve = cluster.pve
    pve.add_access_user("helpdesk@pve")
    pve.set_acl("/pool/infra", "helpdesk@pve", "PVEVMAdmin")
    held = proxgate.call("GET", "/access/permissions", userid="helpdesk@pve")
    in_pool = sorted(f"/vms/{vmid}" for vmid in pve.pools["infra"])
    assert all("VM.Allocate" in held[path] for path in in_pool) and "VM.Allocate" in held["/pool/infra"]
    assert "/vms" not in held and "/vms/100" not in held
