"""A script acting as an agent on the 2,000-guest demo, through the MCP SDK's own client over stdio and over
streamable HTTP, does what people ask of an agent, and no answer it reads is above 20,000 characters:
(a) the stopped containers of "node 2" with their addresses, (b) a snapshot and then a rollback request,
(c) a container from a listed template with a free address, (d) a free address in a subnet, (e) a deletion
that ends pending with what would be lost. And `proxgate ctl ips` there equals the API walked page by page and
the shell helper's `pve.sh ips`."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from mcp import ClientSession

from app.agents import formats
from tests.agents.agent_guests import helper_ips
from tests.agents.big_cluster import Big
from tests.agents.conftest import Opener
from tests.agents.mcp_client import text_of
from tests.agents.test_ctl import ctl
from tests.backup_guests import FakeApi

pytestmark = pytest.mark.database_free
MOST = 20_000
IP = re.compile(r"(?:^|,)ip=([0-9.]+)/")


class Agent:
    """Calls tools as a model would, checking that every answer fits its context and is not an error."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.largest = 0

    async def __call__(self, name: str, **arguments: Any) -> Any:
        """The tool's structured answer."""
        result = await self.session.call_tool(name, arguments)
        size = len(result.model_dump_json(by_alias=True, exclude_none=True))
        self.largest = max(self.largest, size)
        assert size <= MOST, (name, arguments, size)
        assert not result.is_error, (name, text_of(result))
        return result.structured_content

    async def every(self, name: str, **arguments: Any) -> list[dict[str, Any]]:
        """Every item of a listing, page by page as the tools tell a model to."""
        items, cursor = [], None
        while True:
            page = await self(name, **arguments, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def config_ipv4(config: dict[str, Any], keys: tuple[str, ...]) -> set[str]:
    """The static IPv4 addresses of these config keys."""
    return {m.group(1) for key in keys if (m := IP.search(str(config.get(key, ""))))}


def transport(opener: Opener) -> int:
    """0 over stdio, 1 over HTTP: each transport acts on guests of its own."""
    return 0 if opener.__name__ == "stdio_session" else 1


async def test_a_the_stopped_containers_of_node_2_with_their_addresses(big: Big, opener: Opener) -> None:
    async with opener(big.server.url, big.token) as session:
        agent = Agent(session)
        nodes = [n["node"] for n in (await agent("get_cluster"))["nodes"]]
        node = next(name for name in nodes if name.endswith("2"))  # "node 2", as SKILL.md says to map it
        stopped = await agent.every("list_guests", node=node, type="lxc", status="stopped")
        addresses = await agent.every("list_ips", node=node, status="stopped")
    found = {g["vmid"]: set() for g in stopped}
    for item in addresses:
        if item["vmid"] in found and item["version"] == 4:
            found[item["vmid"]].add(item["address"])
    keys = tuple(f"net{n}" for n in range(4))
    truth = {
        ct.vmid: config_ipv4(ct.config, keys)
        for ct in big.pve.cts
        if ct.node == node and ct.status == "stopped"
    }
    assert len(truth) >= 10 and found == truth


async def test_b_a_snapshot_and_then_a_rollback_request(big: Big, opener: Opener) -> None:
    name = f"agent-{transport(opener)}"
    async with opener(big.server.url, big.token) as session:
        agent = Agent(session)
        running = await agent("list_guests", type="qemu", status="running", template="no", limit=5)
        vmid = running["items"][transport(opener)]["vmid"]
        taken = await agent("snapshot_guest", vmid=vmid, snapname=name, wait=True, wait_seconds=60)
        assert taken["status"] == "succeeded", taken
        assert name in [s["name"] for s in await agent.every("list_snapshots", vmid=vmid)]
        assert "rollback" in (await agent("get_guest", vmid=vmid))["operations"]
        asked = await agent("rollback_guest", vmid=vmid, snapname=name, reason="agent scenario (b)")
    assert asked["status"] == "pending" and asked["would_lose"], asked
    assert name in big.pve.vm(vmid).snapshots and big.pve.vm(vmid).status == "running"


async def test_c_a_container_from_a_listed_template_with_a_free_address(big: Big, opener: Opener) -> None:
    hostname = f"agent-made-{transport(opener)}"
    async with opener(big.server.url, big.token) as session:
        agent = Agent(session)
        node = (await agent("get_cluster"))["nodes"][0]["node"]
        storages = await agent.every("list_storage", node=node)
        holds = {s["storage"]: s["content"] for s in storages}
        source = next(name for name, content in holds.items() if "vztmpl" in content)
        disks = next(name for name, content in holds.items() if "rootdir" in content)
        template = (await agent("list_storage_content", node=node, storage=source, content="vztmpl"))[
            "items"
        ][0]
        used = (await agent("list_ips", limit=1))["items"][0]["address"]
        subnet = str(ipaddress.ip_network(f"{used}/24", strict=False))
        free = (await agent("list_free_ips", cidr=subnet, limit=1))["free"][0]
        made = await agent(
            "create_ct",
            node=node,
            hostname=hostname,
            ostemplate=template["volid"],
            rootfs_storage=disks,
            ipv4="static",
            ip=f"{free}/24",
            wait=True,
            wait_seconds=120,
        )
        assert made["status"] == "succeeded", made
    ct = next(c for c in big.pve.cts if c.config.get("hostname") == hostname)
    assert ct.node == node and f"ip={free}/24" in ct.config["net0"]
    assert ct.config.get("ostemplate", template["volid"]) == template["volid"]


async def test_d_a_free_address_in_a_subnet(big: Big, opener: Opener) -> None:
    async with opener(big.server.url, big.token) as session:
        agent = Agent(session)
        used = (await agent("list_ips", limit=1))["items"][0]["address"]
        subnet = ipaddress.ip_network(f"{used}/24", strict=False)
        free = await agent("list_free_ips", cidr=str(subnet), limit=5)
        taken = {i["address"] for i in await agent.every("list_ips", prefix=str(subnet))}
    assert free["free"] and not set(free["free"]) & taken
    assert all(ipaddress.ip_address(a) in subnet for a in free["free"])
    every_config = {
        address
        for guest in [*big.pve.vms, *big.pve.cts]
        for address in config_ipv4(
            guest.config, (*(f"net{n}" for n in range(4)), *(f"ipconfig{n}" for n in range(4)))
        )
    }
    assert not set(free["free"]) & every_config


async def test_e_a_deletion_ends_pending_with_what_would_be_lost(big: Big, opener: Opener) -> None:
    async with opener(big.server.url, big.token) as session:
        agent = Agent(session)
        stopped = await agent("list_guests", type="qemu", status="stopped", template="no", limit=40)
        # The first few stopped VMs were started or asked to be deleted when the cluster was made.
        vmid = stopped["items"][20 + transport(opener)]["vmid"]
        asked = await agent("delete_guest", vmid=vmid, reason="agent scenario (e)")
        assert asked["status"] == "pending" and asked["request_id"]
        lost = asked["would_lose"]
        assert lost and all("is destroyed" in line or "snapshot" in line for line in lost), lost
        mine = await agent("get_request", request_id=asked["request_id"])
        assert mine["status"] == "pending" and mine["preview"]["losses"] == lost
    assert big.pve.vm(vmid) is not None


def test_ctl_ips_equals_the_api_page_by_page_and_the_shell_helper(big: Big) -> None:
    printed = ctl(big.server, big.token, "ips")
    assert printed.code == 0, printed.err
    walked = formats.ip_lines(formats.configured_ipv4(big.whole("/api/v1/ips", notes_limit=0)))
    fake = FakeApi(big.served)
    try:
        helper = helper_ips(fake)
    finally:
        fake.close()
    assert len(printed.lines) > 1000 and printed.lines == walked == helper
