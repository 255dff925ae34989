"""Pure functions: the error mapping and messages, connection settings, path templates, form encoding."""

from __future__ import annotations

import json

import pytest

from app.proxmox.connection import PveConnection, split_host
from app.proxmox.errors import (
    PveAuthError,
    PveError,
    PveForbidden,
    PveNotFound,
    PveRejected,
    PveTaskFailed,
    PveTlsError,
    PveUnavailable,
)
from app.proxmox.observer import path_template
from app.proxmox.responses import error_from_response
from app.proxmox.tls import normalise_fingerprint
from app.proxmox.wire import FORM, WireRequest, wire_request
from tests.proxmox.conftest import SAMPLES, TOKEN_ID, TOKEN_SECRET


def answer(
    status: int, reason: str, body: object = None, path: str = "/nodes/pve/qemu/100/status/start"
) -> PveError:
    """The error for an answer with a JSON body (or an empty one for None)."""
    content = b"" if body is None else json.dumps(body).encode()
    return error_from_response("POST", path, status, reason, content, host="pve:8006", token_id=TOKEN_ID)


def test_the_tree() -> None:
    assert issubclass(PveTlsError, PveUnavailable)
    for cls in (PveUnavailable, PveAuthError, PveForbidden, PveNotFound, PveRejected, PveTaskFailed):
        assert issubclass(cls, PveError)


def test_403_names_privilege_and_path() -> None:
    msg = "Permission check failed (/vms/100, VM.PowerMgmt)"
    err = answer(403, msg, {"data": None, "message": msg + "\n"})
    assert isinstance(err, PveForbidden)
    assert (err.acl_path, err.privilege, err.message, err.status) == ("/vms/100", "VM.PowerMgmt", msg, 403)
    assert str(err).startswith(f"The API token {TOKEN_ID} lacks the privilege VM.PowerMgmt on /vms/100;")
    assert "\n" not in str(err)


def test_403_with_alternatives_and_without_a_privilege() -> None:
    err = answer(403, "Permission check failed (/vms/100, VM.Snapshot|VM.Snapshot.Rollback)")
    assert isinstance(err, PveForbidden) and err.privileges == ["VM.Snapshot", "VM.Snapshot.Rollback"]
    assert "one of VM.Snapshot, VM.Snapshot.Rollback on /vms/100" in str(err)
    other = answer(403, "Permission check failed (user != root@pam)")
    assert isinstance(other, PveForbidden) and other.privilege is None
    assert str(other).endswith("Permission check failed (user != root@pam)")


@pytest.mark.parametrize("reason", ["No ticket", "authentication failure", "Authentication failed!"])
def test_401_empty_body_says_the_token_was_refused(reason: str) -> None:
    err = answer(401, reason)
    assert isinstance(err, PveAuthError) and err.message == reason
    assert str(err).startswith(
        f"Proxmox VE refused the API token {TOKEN_ID}: the token id or secret is wrong"
    )
    assert TOKEN_SECRET not in str(err) + repr(err)


def test_400_keeps_field_errors_from_an_old_server() -> None:
    content = (SAMPLES / "gp_error_400_nextid_vmid_exists.json").read_bytes()
    err = error_from_response("GET", "/cluster/nextid", 400, "Parameter verification failed.", content)
    assert isinstance(err, PveRejected)
    assert (err.message, err.errors) == ("Parameter verification failed.", {"vmid": "VM 200 already exists"})
    assert str(err) == "Parameter verification failed: vmid: VM 200 already exists"


def test_500_message_from_reason_or_body() -> None:
    old = answer(500, "VM 100 not running", {"data": None})
    new = answer(500, "VM 100 not running", {"data": None, "message": "VM 100 not running\n"})
    for err in (old, new):
        assert type(err) is PveError and err.message == "VM 100 not running" and err.status == 500
        assert str(err) == "VM 100 not running (HTTP 500 from POST /nodes/pve/qemu/100/status/start)"


def test_multi_line_message_kept_whole_but_shown_on_one_line() -> None:
    err = answer(500, "command failed", {"data": None, "message": "command failed\nexit code 1\n"})
    assert err.message == "command failed\nexit code 1"
    assert str(err).startswith("command failed exit code 1 (HTTP 500")


def test_not_found_shapes() -> None:
    cfg = "Configuration file 'nodes/pve/qemu-server/100.conf' does not exist"
    assert isinstance(answer(500, cfg), PveNotFound)
    assert isinstance(answer(501, "Method 'GET /nodes/pve/foo' not implemented"), PveNotFound)
    no_task = answer(
        400, "Parameter verification failed.", {"data": None, "errors": {"upid": "no such task"}}
    )
    assert isinstance(no_task, PveNotFound) and no_task.errors == {"upid": "no such task"}
    boot = {"data": None, "errors": {"boot": "invalid bootorder: device 'x' does not exist'"}}
    assert isinstance(answer(400, "Parameter verification failed.", boot), PveRejected)


@pytest.mark.parametrize("status", [595, 596])
def test_595_names_the_node(status: int) -> None:
    err = answer(status, "No route to host", path="/nodes/pve2/qemu/101/status/current")
    assert isinstance(err, PveUnavailable) and err.node == "pve2"
    assert (
        str(err)
        == "Node pve2 cannot be reached from the Proxmox VE API (No route to host); it may be offline"
    )


def test_a_proxy_page_is_unavailable() -> None:
    err = error_from_response("GET", "/version", 502, "Bad Gateway", b"<html>nginx</html>", host="pve:8006")
    assert isinstance(err, PveUnavailable) and str(err) == "Cannot reach Proxmox VE at pve:8006: Bad Gateway"


def test_task_failed_names_the_task() -> None:
    err = PveTaskFailed(
        "UPID:pve1:000003E8:00001B58:6B095916:qmstart:100:root@pam:", "VM 100 already running"
    )
    assert str(err) == "Task qmstart 100 on pve1 failed: VM 100 already running"
    assert err.message == err.exitstatus == "VM 100 already running"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("pve.example", ("pve.example", 8006)),
        ("pve.example:8443", ("pve.example", 8443)),
        ("https://pve:8006", ("pve", 8006)),
        ("https://pve:8006/api2/json/", ("pve", 8006)),
        ("[fd00::1]:8007", ("fd00::1", 8007)),
        ("fd00::1", ("fd00::1", 8006)),
    ],
)
def test_host_forms(host: str, expected: tuple[str, int]) -> None:
    assert split_host(host) == expected


@pytest.mark.parametrize("host", ["http://pve:8006", "pve:port", "https://pve/other", ""])
def test_bad_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="PROXMOX_HOST|HTTPS"):
        split_host(host)


def test_connection_keeps_the_secret_out_of_repr_and_checks_values() -> None:
    conn = PveConnection("[fd00::1]", TOKEN_ID, TOKEN_SECRET, fingerprint="ab" * 32)
    assert TOKEN_SECRET not in repr(conn)
    assert conn.base_url == "https://[fd00::1]:8006/api2/json"
    assert conn.fingerprint == ":".join(["AB"] * 32)
    assert conn.authorization() == f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"
    with pytest.raises(ValueError, match="user@realm!tokenname"):
        PveConnection("pve", "root@pam", TOKEN_SECRET)
    with pytest.raises(ValueError, match="64 hex digits"):
        PveConnection("pve", TOKEN_ID, TOKEN_SECRET, fingerprint="AB:CD")


def test_fingerprint_forms() -> None:
    colon = ":".join(["0F"] * 32)
    assert normalise_fingerprint(colon.lower()) == normalise_fingerprint("0f" * 32) == colon


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/cluster/resources", "/cluster/resources"),
        ("/nodes/pve1/qemu/100/status/start", "/nodes/{node}/qemu/{vmid}/status/start"),
        (
            "/nodes/pve1/lxc/200/snapshot/before-upgrade/rollback",
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback",
        ),
        (
            "/nodes/pve1/tasks/UPID:pve1:000003E8:00001B58:6B095916:qmstop:100:root@pam:/log",
            "/nodes/{node}/tasks/{upid}/log",
        ),
        (
            "/nodes/pve1/storage/local/content/local:iso/debian.iso",
            "/nodes/{node}/storage/{storage}/content/{volume}",
        ),
        ("/nodes/pve1/storage/local/content?content=backup", "/nodes/{node}/storage/{storage}/content"),
        ("/nodes/qemu/qemu/100/config", "/nodes/{node}/qemu/{vmid}/config"),
    ],
)
def test_path_templates(path: str, template: str) -> None:
    assert path_template(path) == template


def test_form_encoding() -> None:
    params = {"size": "+10G", "skiplock": True, "force": False, "digest": None}
    assert wire_request("PUT", "/nodes/pve1/qemu/100/resize", params) == WireRequest(
        "PUT", "/api2/json/nodes/pve1/qemu/100/resize", b"size=%2B10G&skiplock=1&force=0", FORM
    )
    assert wire_request(
        "GET", "/cluster/resources", {"vmid": 100, "type": ["a", "b"], "x": "a b"}
    ) == WireRequest("GET", "/api2/json/cluster/resources?vmid=100&type=a&type=b&x=a+b")
    assert wire_request("DELETE", "/nodes/n/storage/s/content/s:backup%2Fvm", {"delay": 5}) == WireRequest(
        "DELETE", "/api2/json/nodes/n/storage/s/content/s:backup%2Fvm?delay=5"
    )
    assert wire_request("POST", "/nodes/n/qemu/1/status/start", {}) == WireRequest(
        "POST", "/api2/json/nodes/n/qemu/1/status/start"
    )
