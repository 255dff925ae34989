"""What the demo mixins share: the typing base, task logs written as the task runs, guest locks and kinds."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fakepve import FakeCt

if TYPE_CHECKING:
    # fakepve ships no type information, so its FakePve is Any to mypy: mixins built on it may use
    # any of its attributes, and at run time they are plain classes that FakePve completes.
    from fakepve import FakePve as MixinBase
else:
    MixinBase = object

Log = Callable[[str], None]
Work = Callable[[Log], Awaitable[str | None]]


def guest_kind(guest: Any) -> str:
    """'lxc' for a container, 'qemu' for a VM."""
    return "lxc" if isinstance(guest, FakeCt) else "qemu"


def set_lock(guest: Any, lock: str | None) -> None:
    """Set or clear the config lock: a FakeVm keeps it as attribute and config key, a FakeCt in its config."""
    guest.lock = lock
    if lock:
        guest.config["lock"] = lock
    else:
        guest.config.pop("lock", None)


def locked_message(guest: Any) -> str:
    """AbstractConfig::check_lock's words: 'VM is locked (backup)' or 'CT is locked (snapshot)'."""
    return f"{'CT' if guest_kind(guest) == 'lxc' else 'VM'} is locked ({guest.lock})"


def stamp(when: float | None = None) -> str:
    """A local time as vzdump logs it: 2024-05-01 02:00:03."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


class DemoBase(MixinBase):
    """Helpers for the demo's task handlers."""

    async def run_task(self, node: str, ttype: str, tid: Any, user: str, work: Work, **kwargs: Any) -> str:
        """self.task(), but work(log) can add lines to the task log while it runs, as PVE's workers print."""
        box: dict[str, str] = {}

        def log(line: str) -> None:
            self.tasks[box["upid"]]["log"].append(line)

        async def body() -> str | None:
            # With time_scale 0 the body runs inside task(), right after its record was appended;
            # otherwise task() has returned and box holds the UPID already.
            box.setdefault("upid", self.tasklog[-1]["upid"])
            return await work(log)

        upid: str = await self.task(node, ttype, tid, user, body, **kwargs)
        box.setdefault("upid", upid)
        return upid
