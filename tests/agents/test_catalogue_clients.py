"""`proxgate ctl` and the MCP tools learn the operations from GET /api/v1/operations: a new operation in the
catalogue is a new command and a new tool, with nothing written for it in app/agents."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from app.agents.ctl_parser import body_of, command_parser
from app.agents.op_tools import tool_description, tool_schema
from app.cli import build_parser
from app.config import Settings
from tests.agents.test_ctl import ctl
from tests.factories import make_token, make_user
from tests.servers import AppServer

RESET = {
    "name": "reset",
    "label": "Reset",
    "about": "Resets a VM at once.",
    "target": "guest",
    "risk": "reversible",
    "needs_approval": False,
    "typed_confirmation": False,
    "guest_types": ["qemu"],
    "confirm": None,
    "parameters": {
        "properties": {
            "mode": {"enum": ["soft", "hard"], "type": "string", "default": "soft"},
            "timeout": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "keep_state": {"type": "boolean", "default": True},
        },
        "type": "object",
    },
}
WIPE = {
    **RESET,
    "name": "wipe",
    "label": "Wipe disk",
    "risk": "destructive",
    "needs_approval": True,
    "parameters": {
        "properties": {"disk": {"type": "string"}, "passes": {"type": "integer", "default": 1}},
        "required": ["disk"],
        "type": "object",
    },
}
SNAPSHOT = {
    **RESET,
    "name": "snapshot",
    "label": "Take snapshot",
    "parameters": {"properties": {"snapname": {"type": "string"}}, "type": "object"},
}


def parse(*argv: str, operations: list[dict[str, Any]] | None = None) -> argparse.Namespace:
    """`proxgate ctl ARGV` read as run_ctl reads it, with these operations in the catalogue."""
    outer = build_parser().parse_args(["ctl", *argv])
    parser = command_parser(operations if operations is not None else [RESET, WIPE, SNAPSHOT])
    return parser.parse_args([outer.command, *outer.arguments], namespace=argparse.Namespace(**vars(outer)))


def test_a_new_operation_is_a_command_with_its_parameters_as_arguments() -> None:
    reset = parse("reset", "100", "--mode", "hard", "--no-keep-state", "--param-timeout", "30", "--wait")
    assert (reset.vmid, reset.wait, reset.timeout) == (100, True, 300.0)
    assert body_of(reset) == {"mode": "hard", "keep_state": False, "timeout": 30}
    assert body_of(parse("reset", "100")) == {}, "what is left out takes Proxgate's default"
    wipe = parse("--json", "wipe", "100", "scsi1", "--passes", "3", "--reason", "old data")
    assert (wipe.json, wipe.reason, body_of(wipe)) == (True, "old data", {"disk": "scsi1", "passes": 3})
    with pytest.raises(SystemExit):
        parse("reset", "100", "--mode", "gentle")
    with pytest.raises(SystemExit):
        parse("wipe", "100")
    with pytest.raises(SystemExit):
        parse("reset", "100", operations=[WIPE])


def test_the_helpers_snap_is_the_snapshot_operation_with_its_name_in_place() -> None:
    assert body_of(parse("snap", "100", "before-upgrade")) == {"snapname": "before-upgrade"}
    assert body_of(parse("snap", "100"))["snapname"].startswith("snap-")
    with pytest.raises(SystemExit):
        parse("snap", "100", operations=[RESET])


def test_tool_descriptions_say_what_needs_approval_from_the_catalogue() -> None:
    text = tool_description(RESET)
    assert "Resets a VM at once." in text and "Risk: reversible." in text and "Needs approval" not in text
    assert "Needs approval" in tool_description(WIPE) and "Risk: destructive." in tool_description(WIPE)
    assert tool_schema(WIPE)["required"] == ["vmid", "disk", "reason"]
    timeout = tool_schema(RESET)["properties"]["timeout"]
    assert timeout == {"type": "integer"}, "an optional value is the value alone: a model leaves it out"


def test_ctl_lists_the_operations_the_server_offers(app_server: AppServer, settings: Settings) -> None:
    token = make_token(settings, make_user(settings, "viewer"))
    listed = ctl(app_server, token, "operations")
    assert listed.code == 0
    rows = [line.split("\t") for line in listed.lines]
    assert ["delete", "destructive", "approval", "Delete guest"] in rows
    assert ["start", "reversible", "-", "Start"] in rows
    unknown = ctl(app_server, token, "no-such-thing", "100")
    assert unknown.code == 2 and "invalid choice" in unknown.err
