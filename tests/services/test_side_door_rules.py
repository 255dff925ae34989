"""The side doors' pure rules: what a task type means, which privileges make a side door, who can log in, and
the commands that would close a door."""

from __future__ import annotations

import time

from app.services.sidedoors.capabilities import capabilities_of
from app.services.sidedoors.principals import principals_of
from app.services.sidedoors.proposals import proposals_for
from app.services.sidedoors.task_types import meaning_of


def test_task_types_map_to_the_catalogue_and_unknown_ones_keep_their_name() -> None:
    assert (meaning_of("qmdestroy").operation, meaning_of("qmdestroy").risk) == ("delete", "destructive")
    assert meaning_of("vzdestroy").guest_type == "lxc" and meaning_of("qmrollback").operation == "rollback"
    assert (
        meaning_of("qmdelsnapshot").operation == "delete-snapshot"
        and meaning_of("qmigrate").operation == "migrate"
    )
    assert (meaning_of("vzdump").operation, meaning_of("vzdump").guest_type) == ("backup", None)
    assert (meaning_of("qmstart").operation, meaning_of("qmstart").destructive) == ("start", False)
    assert (meaning_of("srvreload").operation, meaning_of("srvreload").risk) == ("srvreload", "admin")


def test_capabilities_name_the_topmost_paths_that_grant_them() -> None:
    held = capabilities_of(
        {
            "/": {"Sys.Audit": 1},
            "/vms": {"VM.Allocate": 1, "VM.Audit": 1},
            "/vms/313": {"VM.Allocate": 1, "VM.Snapshot": 1},
            "/storage/local": {"Datastore.Allocate": 1},
            "/nodes": {"VM.Allocate": 1},
        }
    )
    assert held == {
        "delete": ["/vms"],
        "rollback": ["/vms/313"],
        "delete snapshots": ["/vms/313"],
        "storage deletion": ["/storage/local"],
    }
    assert capabilities_of({"/": {"Sys.Audit": 1, "VM.Audit": 1}}) == {}


def test_who_can_log_in_and_which_token_is_proxgate_s() -> None:
    users = [
        {"userid": "root@pam", "enable": 1, "expire": 0, "tokens": [{"tokenid": "proxgate", "privsep": 0}]},
        {"userid": "gone@pve", "enable": 1, "expire": int(time.time()) - 60, "tokens": [{"tokenid": "t"}]},
        {"userid": "off@pve", "enable": 0, "tokens": []},
    ]
    found = {p.id: p for p in principals_of(users, "root@pam!proxgate")}
    assert found["root@pam"].can_log_in and found["root@pam!proxgate"].proxgate
    assert not found["root@pam!proxgate"].privsep
    assert (
        not found["gone@pve"].can_log_in and not found["gone@pve!t"].can_log_in
    )  # the token dies with its user
    assert not found["off@pve"].can_log_in
    found["off@pve"].holds = {"delete": ["/"]}
    assert not found["off@pve"].bypasses  # a disabled account is no door


def test_proposals_remove_tokens_and_narrow_people() -> None:
    users = [{"userid": "ops@pve", "groups": "admins", "tokens": [{"tokenid": "ci", "privsep": 1}]}]
    ops, token = principals_of(users, "root@pam!proxgate")
    ops.holds = token.holds = {"delete": ["/"]}
    acl = [
        {"path": "/", "type": "user", "ugid": "ops@pve", "roleid": "PVEAdmin"},
        {"path": "/vms", "type": "group", "ugid": "admins", "roleid": "PVEVMAdmin"},
    ]
    assert proposals_for(token, acl) == ["pveum user token remove ops@pve ci"]
    lines = proposals_for(ops, acl)
    assert lines[0] == "pveum acl delete / --users ops@pve --roles PVEAdmin"
    assert (
        lines[1].startswith("# through group admins")
        and "pveum acl modify / --users ops@pve --roles PVEAuditor" in lines
    )
    ops.holds = {}
    assert proposals_for(ops, acl) == []
