"""An app reading a policy file (a rule for production guests, a freeze holding now, a Saturday maintenance
window), and its people in groups, for the policy flows in the browser and the layout of the pages they show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.config import Settings
from app.services.accounts import set_user_groups
from app.services.clock import Clock
from tests.conftest import app_settings
from tests.factories import make_user, run_async
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

RULES = """
[[rule]]
name = "production databases"
operations = ["delete"]
tags = ["prod"]
approvals = 2
groups = ["dba"]

[[window]]
name = "maintenance"
operations = ["resize"]
tags = ["maint"]
cron = "0 2 * * SAT"
hours = 4
"""


def freeze_ends() -> datetime:
    """The freeze's end as the file gives it: three days from now, on the hour."""
    return (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


def policy_text(until: datetime) -> str:
    """The rules, and a freeze of destructive changes on guests tagged 'frozen' from an hour ago until then."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return (
        RULES
        + f"""
[[freeze]]
name = "year-end freeze"
operations = ["destructive"]
tags = ["frozen"]
from = "{start:%Y-%m-%dT%H:%M:%SZ}"
until = "{until:%Y-%m-%dT%H:%M:%SZ}"
"""
    )


@contextmanager
def ruled_app(served: ServedFake, database_url: str, data_dir: Path, policy: Path) -> Iterator[AppServer]:
    """The app of the suite's fake and database, reading the policy file at `policy`."""
    server = AppServer(app_settings(served, database_url, data_dir, policy_file=policy))
    try:
        yield server
    finally:
        server.stop()


def clock_of(server: AppServer) -> Clock:
    """The clock the app's policy reads (freezes, windows, looks at the file), which tests move."""
    clock: Clock = server.app.state.runtime.approvals.policy.clock
    return clock


def grouped_user(settings: Settings, role: str, groups: str) -> str:
    """A new user with this role in these approver groups; the name."""
    name = make_user(settings, role)
    run_async(set_user_groups(settings, name, groups))
    return name


def next_saturday_half_past_midnight() -> datetime:
    """A time outside the Saturday 02:00-06:00 window, 90 minutes before it opens."""
    now = datetime.now(UTC)
    days = (5 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=0, minute=30, second=0, microsecond=0)
