"""An operation on a node (empty-node) in `proxgate ctl` and the MCP tools: the node is an argument of its
own, sent in the path (/api/v1/nodes/{node}/actions/...), never as a parameter. Bringing an emptied node's
guests back (`ctl bring-back`, the bring_back tool) names the node and the empty-node batch.
(tests/api/test_empty_node.py brings guests back with ctl on a cluster of its own.)"""

from __future__ import annotations

from app.agents.mcp_tools import offered_tools
from app.agents.op_tools import action_path, own_schema, tool_schema
from app.agents.toolbox import BY_NAME
from app.config import Settings
from tests.agents.mcp_client import stdio_session, text_of
from tests.agents.test_catalogue_clients import parse
from tests.agents.test_ctl import ctl
from tests.factories import make_token, make_user, run_async
from tests.servers import AppServer

DRAIN = {
    "name": "empty-node",
    "label": "Empty node",
    "about": "Moves every guest off the node.",
    "target": "node",
    "risk": "reversible",
    "needs_approval": False,
    "typed_confirmation": False,
    "guest_types": [],
    "confirm": None,
    "parameters": {
        "properties": {
            "with_local_disks": {"type": "boolean", "default": False},
            "concurrency": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "type": "object",
    },
}


def test_ctl_takes_the_node_first_and_sends_the_rest_as_parameters() -> None:
    args = parse("empty-node", "pve2", "--with-local-disks", "--concurrency", "2", operations=[DRAIN])

    assert args.node == "pve2"
    assert args.sent == [("with_local_disks", "param_with_local_disks"), ("concurrency", "param_concurrency")]
    assert action_path(DRAIN, vars(args)) == "/api/v1/nodes/pve2/actions/empty-node"


def test_the_mcp_tool_asks_for_the_node_and_sends_it_in_the_path() -> None:
    schema = tool_schema(DRAIN)

    assert schema["required"] == ["node"] and schema["properties"]["node"]["type"] == "string"
    assert own_schema(DRAIN)["required"] == ["node"]
    assert action_path(DRAIN, {"node": "pve 1/x"}) == "/api/v1/nodes/pve%201%2Fx/actions/empty-node"


def test_ctl_empty_node_of_a_node_that_does_not_exist_names_the_nodes(
    app_server: AppServer, settings: Settings
) -> None:
    token = make_token(settings, make_user(settings, "operator"))

    ran = ctl(app_server, token, "empty-node", "pve9", "--reason", "kernel update")

    assert ran.code != 0
    assert "There is no node 'pve9'; choose one of: pve1, pve2, pve3." in ran.err


def test_ctl_bring_back_takes_the_node_and_the_empty_node_batch() -> None:
    args = parse("bring-back", "pve2", "Ab_1", "--with-local-disks", "--concurrency", "2", operations=[DRAIN])

    assert (args.node, args.from_batch, args.with_local_disks, args.concurrency) == ("pve2", "Ab_1", True, 2)


def test_the_bring_back_tool_asks_for_the_node_and_the_batch_and_is_offered_to_who_may_change() -> None:
    tool = BY_NAME["bring_back"]

    assert tool.schema["required"] == ["node", "batch_id"] and not tool.read_only
    assert "bring_back" in {t.name for t in offered_tools([DRAIN], "operator", read_only=False)}
    assert "bring_back" not in {t.name for t in offered_tools([DRAIN], "viewer", read_only=False)}


def test_bring_back_of_a_batch_that_does_not_exist_is_refused_naming_it(
    app_server: AppServer, settings: Settings
) -> None:
    token = make_token(settings, make_user(settings, "operator"))

    ran = ctl(app_server, token, "bring-back", "pve1", "nosuchbatch", "--reason", "done")

    async def by_tool() -> str:
        async with stdio_session(app_server.url, token) as session:
            arguments = {"node": "pve1", "batch_id": "nosuchbatch", "reason": "done"}
            return text_of(await session.call_tool("bring_back", arguments))

    assert ran.code == 4 and "There is no batch nosuchbatch." in ran.err
    assert "There is no batch nosuchbatch." in run_async(by_tool())
