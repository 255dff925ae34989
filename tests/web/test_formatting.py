"""How long ago, as the guest page says of a request still waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.web.formatting import ago, diff_of, path_breaks

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_ago_says_it_as_people_do() -> None:
    said = [
        ago(NOW - timedelta(seconds=s), NOW)
        for s in (5, 59, 60, 3 * 60 + 30, 3600, 5 * 3600, 86400, 4 * 86400)
    ]
    assert said == [
        "just now",
        "just now",
        "1 min ago",
        "3 min ago",
        "1 h ago",
        "5 h ago",
        "1 day ago",
        "4 days ago",
    ]
    assert ago(NOW.replace(tzinfo=None) - timedelta(minutes=2), NOW) == "2 min ago", "a naive time is UTC"
    assert ago(None) == "–"


def test_an_audit_events_diff_is_read_from_its_parameters() -> None:
    assert diff_of('{"diff": "--- before\\n+++ after\\n-a = 1\\n+a = 2\\n"}') == (
        "--- before\n+++ after\n-a = 1\n+a = 2\n"
    )
    assert diff_of('{"vmid": 100}') == "" and diff_of("[1]") == "" and diff_of("not json") == ""
    assert diff_of(None) == "" and diff_of('{"diff": 3}') == ""


def test_a_path_breaks_after_its_slashes_only_and_stays_escaped() -> None:
    assert path_breaks("/etc/proxgate/policy.toml") == "/<wbr>etc/<wbr>proxgate/<wbr>policy.toml"
    assert path_breaks("a<b>/c") == "a&lt;b&gt;/<wbr>c"
    assert path_breaks(None) == ""
