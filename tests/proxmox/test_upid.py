"""UPID parsing, against FACTS.md and the recorded samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.proxmox.upid import parse_upid, try_parse_upid
from tests.proxmox.conftest import SAMPLES


def test_parses_the_documented_example() -> None:
    upid = parse_upid("UPID:pve:0020C066:042DF204:69C26EB0:vzdump::root@pam:")
    assert (upid.node, upid.pid, upid.pstart, upid.starttime) == ("pve", 0x20C066, 0x42DF204, 0x69C26EB0)
    assert (upid.type, upid.id, upid.user, upid.vmid) == ("vzdump", "", "root@pam", None)
    assert str(upid) == "UPID:pve:0020C066:042DF204:69C26EB0:vzdump::root@pam:"


def test_token_user_nine_digit_pstart_and_vmid() -> None:
    upid = parse_upid("UPID:node-2:000FF1FD:110F9374C:630D702C:qmstart:110:root@pam!proxgate:")
    assert upid.pstart == 0x110F9374C
    assert (upid.userid, upid.tokenid, upid.vmid) == ("root@pam", "proxgate", 110)
    assert upid.started_at == datetime.fromtimestamp(0x630D702C, UTC)


@pytest.mark.parametrize(
    "text",
    [
        "OK",  # what vzdump returns when no guest is on the node
        "UPID:pve:1:2:3:qmstart:100:root@pam:",  # hex fields too short
        "UPID:-bad:0020C066:042DF204:69C26EB0:vzdump::root@pam:",
        "UPID:pve:0020C066:042DF204:69C26EB0:vzdump::root@pam",  # no trailing colon
    ],
)
def test_rejects_what_is_not_a_upid(text: str) -> None:
    with pytest.raises(ValueError, match="not a PVE task id"):
        parse_upid(text)
    assert try_parse_upid(text) is None


def test_every_upid_in_the_samples_parses_and_agrees_with_its_fields() -> None:
    rows = []
    for name in ("cp_node_tasks_list_pve6.4.json", "ha_node_tasks_vzdump_empty_id.json"):
        rows += json.loads((SAMPLES / name).read_text())
    for name in ("px_task_status_running.json", "px_task_status_stopped_error.json"):
        rows.append(json.loads((SAMPLES / name).read_text())["data"])
    assert len(rows) == 6
    for row in rows:
        upid = parse_upid(row["upid"])  # proxmoxer's samples carry a marker after the last ':'
        assert (upid.node, upid.pid, upid.pstart) == (row["node"], row["pid"], row["pstart"])
        assert (upid.starttime, upid.type, upid.id, upid.user) == (
            row["starttime"],
            row["type"],
            row["id"],
            row["user"],
        )
