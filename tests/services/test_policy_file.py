"""The policy file read as it is written: rules matched and ranked, freezes and windows in time, and every
mistake named with its entry and field (pure functions, no app)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.operations.catalogue import CATALOGUE
from app.services.approvals import ApprovalPolicy
from app.services.approvals.policy_file import PolicySource
from app.services.approvals.rules import Facts, PolicyFileError, parse_policy
from app.services.clock import Clock

TEXT = """
[[rule]]
name = "any destructive"
operations = ["destructive"]
approvals = 1

[[rule]]
name = "prod"
tags = ["prod"]
approvals = 2
groups = ["dba"]

[[rule]]
name = "prod, strictly"
tags = ["prod"]
pools = ["finance"]
approvals = 2
groups = ["dba", "security"]
own_group_approves = false

[[window]]
name = "saturday"
operations = ["resize"]
cron = "0 2 * * SAT"
hours = 4
"""


def test_the_strictest_matching_rule_wins() -> None:
    doc = parse_policy(TEXT)
    plain = Facts("delete", "destructive")
    tagged = Facts("delete", "destructive", frozenset({"prod"}))
    finance = Facts("delete", "destructive", frozenset({"prod"}), pool="finance")
    assert [doc.strictest(f).name for f in (plain, tagged, finance)] == [
        "any destructive",
        "prod",
        "prod, strictly",
    ]
    assert doc.strictest(Facts("start", "reversible")) is None


def test_the_settings_stay_the_floor(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(TEXT)
    policy = ApprovalPolicy(required=3).with_file(path)
    tagged = policy.requirement(CATALOGUE["delete"], Facts("delete", "destructive", frozenset({"prod"})))
    assert (tagged.rule, tagged.approvals, tagged.groups) == ("prod", 3, frozenset({"dba"}))
    alone = ApprovalPolicy(required=3).requirement(CATALOGUE["delete"], Facts("delete", "destructive"))
    assert (alone.rule, alone.approvals) == ("settings", 3)


def test_a_window_is_open_or_next(tmp_path: Path) -> None:
    window = parse_policy(TEXT).windows[0]
    saturday = datetime(2026, 12, 12, 3, 0, tzinfo=UTC)
    assert window.bounds(saturday) == (saturday.replace(hour=2), saturday.replace(hour=6))
    assert window.bounds(saturday.replace(hour=7))[0] == saturday.replace(hour=2) + timedelta(days=7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\nname = 'x'\noperations = ['explode']", "rule 1: unknown operation explode"),
        (
            "[[rule]]\nname = 'x'\napprovals = 1\ngroups = ['a', 'b']",
            "rule 1: 2 groups need at least as many",
        ),
        (
            "[[freeze]]\nname = 'f'\nfrom = 'soon'\nuntil = 2027-01-01T00:00:00Z",
            "freeze 1: 'from' is not a date",
        ),
        (
            "[[window]]\nname = 'w'\ncron = 'every saturday'\nhours = 4",
            "window 1: 'cron' must be a cron expression",
        ),
        ("[[rule]]\nname = 'x'\ncolour = 'red'", "rule 1: unknown field colour"),
        ("[[rule]\n", "not valid TOML"),
    ],
)
def test_a_mistake_is_named_with_its_entry_and_field(text: str, message: str) -> None:
    with pytest.raises(PolicyFileError, match=message):
        parse_policy(text)


def test_a_broken_version_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(TEXT)
    clock = Clock()
    source = PolicySource(path, clock.now)
    assert len(source.current().rules) == 3 and len(source.take_changes()) == 1
    path.write_text(TEXT + "\n[[rule]]\nname = 'y'\napprovals = 0\n")
    assert len(source.current().rules) == 3  # looked at again only a few seconds later
    clock.move(timedelta(seconds=5))
    assert len(source.current().rules) == 3 and source.error is not None
    (change,) = source.take_changes()
    assert change.error and "+approvals = 0" in change.diff
