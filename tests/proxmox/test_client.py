"""PveClient against fakepve (and a raw server for older PVE shapes), over real HTTPS."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest
from fakepve import FakePve

from app.proxmox import (
    PveAuthError,
    PveClient,
    PveConnection,
    PveError,
    PveForbidden,
    PveNotFound,
    PveRejected,
    PveUnavailable,
    parse_upid,
)
from tests.fakepve_thread import ServedFake
from tests.proxmox.conftest import (
    TOKEN_ID,
    TOKEN_SECRET,
    Canned,
    RawPve,
    RecordingObserver,
    pinned,
    seeded_pve,
)

# With this seed and drop_rate 0.5, fakepve drops the first request and answers the second.
DROP_FIRST_SEED = 9


def seen(pve: FakePve, method: str, suffix: str) -> int:
    """How many such requests reached the fake (dropped ones never do)."""
    return sum(1 for m, path, _ in pve.requests if m == method and path.endswith(suffix))


async def test_listing_parses(client: PveClient) -> None:
    res = await client.cluster_resources()
    assert sorted((g.vmid, g.type, g.node, g.status) for g in res.guests) == [
        (100, "qemu", "pve1", "running"),
        (101, "qemu", "pve2", "stopped"),
        (200, "lxc", "pve1", "running"),
    ]
    web = res.guest(100)
    assert web is not None and web.tags == ["prod", "web"] and web.maxcpu == 2 and web.name == "web01"
    assert sorted(n.node for n in res.nodes) == ["pve1", "pve2"] and all(n.online for n in res.nodes)
    assert {s.storage for s in res.storages} == {"local", "local-lvm"}
    status = await client.cluster_status()
    assert status.quorate and sorted(n.name for n in status.nodes) == ["pve1", "pve2"]
    assert [n.node for n in await client.nodes()] == ["pve1", "pve2"]
    assert (await client.version()).version.startswith("9.")


async def test_repr_and_headers_hide_the_secret(client: PveClient) -> None:
    assert TOKEN_SECRET not in repr(client) + repr(client.connection)


async def test_task_status_and_whole_log(client: PveClient, pve: FakePve) -> None:
    upid = await client.post("/nodes/pve1/qemu/100/status/stop")
    assert parse_upid(upid).type == "qmstop"
    status = await client.task_status("pve1", upid)
    assert (status.upid, status.running, status.succeeded, status.tokenid) == (upid, False, True, "proxgate")
    pve.tasks[upid]["log"][:0] = [f"line {n}" for n in range(1, 1501)]
    log = await client.task_log("pve1", upid)
    assert len(log) == 1501 and log[0].t == "line 1" and log[-1].t == "TASK OK" and log[-1].n == 1501
    assert [line.t for line in await client.task_log("pve1", upid, start=2, limit=2)] == ["line 3", "line 4"]


async def test_unknown_task_is_not_found(client: PveClient) -> None:
    with pytest.raises(PveNotFound):
        await client.task_status("pve1", "UPID:pve1:000FFFFF:00001B58:6B095916:qmstop:100:root@pam:")


async def test_plus_is_form_encoded_and_booleans_are_1_0(client: PveClient, pve: FakePve) -> None:
    upid = await client.put("/nodes/pve1/qemu/101/resize", disk="scsi0", size="+10G", skiplock=True)
    assert parse_upid(upid).type == "resize"  # fakepve checked size against PVE's pattern and skiplock's type
    method, path, body = pve.requests[-1]
    assert (method, path) == ("PUT", "/api2/json/nodes/pve1/qemu/101/resize")
    assert parse_qs(body.decode()) == {"disk": ["scsi0"], "size": ["+10G"], "skiplock": ["1"]}


async def test_wrong_token_secret(served: ServedFake) -> None:
    conn = PveConnection(served.address, TOKEN_ID, "not-the-secret", fingerprint=served.fingerprint)
    async with PveClient(conn) as client:
        with pytest.raises(PveAuthError) as caught:
            await client.version()
    assert caught.value.status == 401 and caught.value.token_id == TOKEN_ID
    assert str(caught.value) == (
        f"Proxmox VE refused the API token {TOKEN_ID}: the token id or secret is wrong, or the token was "
        "deleted or has expired (PVE: authentication failure)"
    )


async def test_token_without_rights(served: ServedFake, pve: FakePve) -> None:
    pve.grant("alice@pve", "/", "VM.PowerMgmt")  # ACLs are on; bob has none
    pve.apitokens["bob@pve!ci"] = TOKEN_SECRET
    conn = PveConnection(served.address, "bob@pve!ci", TOKEN_SECRET, fingerprint=served.fingerprint)
    async with PveClient(conn) as client:
        assert (await client.cluster_resources()).guests == []  # PVE filters what the token may not see
        with pytest.raises(PveForbidden) as caught:
            await client.post("/nodes/pve1/qemu/100/status/start")
    err = caught.value
    assert (err.privilege, err.acl_path, err.status) == ("VM.PowerMgmt", "/vms/100", 403)
    assert str(err).startswith("The API token bob@pve!ci lacks the privilege VM.PowerMgmt on /vms/100;")
    assert pve.vm(100).status == "running"


async def test_unreachable_host_fails_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    observer = RecordingObserver()
    started = time.perf_counter()
    async with PveClient(PveConnection(f"127.0.0.1:{port}", TOKEN_ID, TOKEN_SECRET), observer) as client:
        with pytest.raises(PveUnavailable) as caught:
            await client.version()
    assert time.perf_counter() - started < 2
    assert str(caught.value) == (
        f"Cannot reach Proxmox VE at 127.0.0.1:{port}: "
        "connection refused (is pveproxy running, and is the port right?)"
    )
    assert [status for _, _, status in observer.requests] == ["connect_error"] * 3


async def test_unresolvable_host() -> None:
    async with PveClient(PveConnection("pve.invalid", TOKEN_ID, TOKEN_SECRET, retries=0)) as client:
        with pytest.raises(
            PveUnavailable, match=r"^Cannot reach Proxmox VE at pve.invalid:8006: the host name"
        ):
            await client.version()


async def test_offline_node(client: PveClient, pve: FakePve) -> None:
    pve.set_node_offline("pve2")
    res = await client.cluster_resources()
    assert {n.node: n.online for n in res.nodes} == {"pve1": True, "pve2": False}
    db = res.guest(101)
    assert db is not None and db.status == "unknown"
    with pytest.raises(PveUnavailable) as caught:
        await client.get("/nodes/pve2/qemu/101/status/current")
    assert caught.value.node == "pve2" and caught.value.status == 595
    assert str(caught.value) == (
        "Node pve2 cannot be reached from the Proxmox VE API (No route to host); it may be offline"
    )
    assert seen(pve, "GET", "/nodes/pve2/qemu/101/status/current") == 3  # a GET: retried twice
    with pytest.raises(PveUnavailable):
        await client.post("/nodes/pve2/qemu/101/status/start")
    assert seen(pve, "POST", "/status/start") == 1  # never retried


async def test_get_is_retried_on_a_dropped_connection(serve: Callable[[FakePve], ServedFake]) -> None:
    pve = seeded_pve()
    pve.flaky_network(drop_rate=0.5, seed=DROP_FIRST_SEED)
    served = serve(pve)
    observer = RecordingObserver()
    async with PveClient(pinned(served), observer) as client:
        assert (await client.version()).version
    assert [status for _, _, status in observer.requests] == ["dropped", "200"]
    assert seen(pve, "GET", "/version") == 1


async def test_post_is_not_retried_on_a_dropped_connection(serve: Callable[[FakePve], ServedFake]) -> None:
    pve = seeded_pve()
    pve.flaky_network(drop_rate=0.5, seed=DROP_FIRST_SEED)
    served = serve(pve)
    observer = RecordingObserver()
    async with PveClient(pinned(served), observer) as client:
        with pytest.raises(PveUnavailable, match="may or may not have been made"):
            await client.post("/nodes/pve1/qemu/101/status/start")
    assert observer.requests == [("POST", "/nodes/{node}/qemu/{vmid}/status/start", "dropped")]
    assert seen(pve, "POST", "/status/start") == 0 and pve.vm(101).status == "stopped"


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/nodes/pve1/qemu/101"), ("PUT", "/nodes/pve1/qemu/101/config")],
)
async def test_put_and_delete_are_not_resent_on_a_dropped_connection(
    serve: Callable[[FakePve], ServedFake], method: str, path: str
) -> None:
    pve = seeded_pve()
    pve.flaky_network(drop_rate=0.5, seed=DROP_FIRST_SEED)
    served = serve(pve)
    observer = RecordingObserver()
    async with PveClient(pinned(served), observer) as client:
        with pytest.raises(PveUnavailable, match="may or may not have been made") as caught:
            await client.request(method, path, {"description": "x"} if method == "PUT" else None)
    assert caught.value.maybe_applied
    assert [status for _, _, status in observer.requests] == ["dropped"]
    assert pve.requests == [], "sent once, dropped before PVE read it, and never again"


async def test_gateway_errors_retry_gets_only(
    client: PveClient, pve: FakePve, observer: RecordingObserver
) -> None:
    pve.fail("GET", "/version", 502, "Bad Gateway", times=2)
    assert (await client.version()).version
    assert [s for m, _, s in observer.requests if m == "GET"] == ["502", "502", "200"]
    pve.fail("POST", "/status/start", 503, "Service Unavailable", times=1)
    with pytest.raises(PveUnavailable):
        await client.post("/nodes/pve1/qemu/101/status/start")
    assert seen(pve, "POST", "/status/start") == 1


async def test_400_field_errors_kept(client: PveClient) -> None:
    with pytest.raises(PveRejected) as caught:
        await client.get("/cluster/nextid", vmid=100)
    assert caught.value.errors == {"vmid": "VM 100 already exists"}
    assert str(caught.value) == "Parameter verification failed: vmid: VM 100 already exists"


async def test_500_message_kept(client: PveClient) -> None:
    with pytest.raises(PveError) as caught:
        await client.post("/nodes/pve2/qemu/101/status/reboot")
    assert type(caught.value) is PveError
    assert (caught.value.message, caught.value.status) == ("VM 101 not running", 500)


async def test_not_found_guest_invalidates_the_index(client: PveClient, pve: FakePve) -> None:
    await client.cluster_resources()
    with pytest.raises(PveNotFound, match="does not exist"):
        await client.get("/nodes/pve1/qemu/999/status/current")
    await client.cluster_resources()
    assert seen(pve, "GET", "/cluster/resources") == 2


async def test_old_pve_error_without_message_key(raw_pve: RawPve) -> None:
    raw_pve.answers = [
        Canned.json(500, "VM 100 not running", {"data": None}),
        Canned.json(403, "Permission check failed (/vms/100, VM.PowerMgmt)", {"data": None}),
        Canned(401, "No ticket"),
        Canned(595, "Connection refused"),
    ]
    async with PveClient(raw_pve.connection(retries=0)) as client:
        with pytest.raises(PveError, match=r"^VM 100 not running \(HTTP 500"):
            await client.post("/nodes/pve/qemu/100/status/reboot")
        with pytest.raises(PveForbidden) as forbidden:
            await client.post("/nodes/pve/qemu/100/status/start")
        with pytest.raises(PveAuthError, match=r"\(PVE: No ticket\)$"):
            await client.get("/version")
        with pytest.raises(PveUnavailable, match="^Node pve3 cannot be reached .*Connection refused"):
            await client.get("/nodes/pve3/status")
    assert forbidden.value.privilege == "VM.PowerMgmt"
    assert len(raw_pve.wait_for(4)) == 4
    assert f"Authorization: PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}".encode() in raw_pve.requests[0]


async def test_a_long_reason_phrase_is_kept_whole(raw_pve: RawPve) -> None:
    # PVE puts its whole message in the status line: longer than aiohttp reads by default (8190 bytes).
    message = "command 'qm importdisk' failed: " + "x" * 12000
    raw_pve.answers = [Canned.json(500, message, {"data": None})]
    async with PveClient(raw_pve.connection(retries=0)) as client:
        with pytest.raises(PveError) as caught:
            await client.post("/nodes/pve/qemu/100/status/start")
    assert (caught.value.message, caught.value.status) == (message, 500)


async def test_answer_that_is_not_json(raw_pve: RawPve) -> None:
    raw_pve.answers = [Canned(200, "OK", b"<html>login</html>", "text/html")]
    async with PveClient(raw_pve.connection()) as client:
        with pytest.raises(PveError, match="not JSON"):
            await client.get("/version")


async def test_a_hung_answer_times_out(served: ServedFake, pve: FakePve) -> None:
    pve.flaky_network(hang_rate=1.0, hang_secs=1)
    observer = RecordingObserver()
    async with PveClient(pinned(served, timeout=0.2, retries=1), observer) as client:
        started = time.monotonic()
        with pytest.raises(PveUnavailable, match=r"^Cannot reach Proxmox VE at .*: no answer within 0.2 s$"):
            await client.version()
        # One deadline for the call, retries included: no second 0.2 s after the first.
        assert time.monotonic() - started < 0.35
        with pytest.raises(PveUnavailable, match="no answer within 0.2 s; the change may or may not"):
            await client.post("/nodes/pve1/qemu/101/status/start")
    assert [status for _, _, status in observer.requests] == ["timeout"] * 2
