"""An operation on a node (empty-node) in `proxgate ctl` and the MCP tools: the node is an argument of its
own, sent in the path (/api/v1/nodes/{node}/actions/...), never as a parameter."""

from __future__ import annotations

from app.agents.op_tools import action_path, own_schema, tool_schema
from app.config import Settings
from tests.agents.test_catalogue_clients import parse
from tests.agents.test_ctl import ctl
from tests.factories import make_token, make_user
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
