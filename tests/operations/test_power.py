"""Power operations: start, shutdown, stop, reboot, suspend, resume."""

from __future__ import annotations

from typing import Any

import pytest

from app.operations.base import Guest, Refused
from app.operations.catalogue import get_operation
from app.operations.power import ShutdownParams, StopParams
from app.proxmox import PveError, parse_upid
from tests.operations.answers import ct, stopped, vm
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

# (operation, guest state it needs, the PVE worker it starts, what people read)
HAPPY = [
    ("start", stopped(), "qmstart", "Start VM 101 matt on node1"),
    ("shutdown", {}, "qmshutdown", "Shut down VM 101 matt on node1"),
    ("stop", {}, "qmstop", "Power off VM 101 matt on node1"),
    ("reboot", {}, "qmreboot", "Reboot VM 101 matt on node1"),
    ("suspend", {}, "qmsuspend", "Suspend VM 101 matt on node1"),
    ("resume", {"qmpstatus": "paused"}, "qmresume", "Resume VM 101 matt on node1"),
]


def op(name: str) -> Any:
    """The catalogue's operation of that name."""
    found = get_operation(name)
    assert found is not None
    return found


@pytest.mark.parametrize(("name", "state", "worker", "description"), HAPPY)
async def test_each_power_operation_posts_its_status_path(
    proxmox: MemoryPve, context: Ctx, name: str, state: dict[str, Any], worker: str, description: str
) -> None:
    guest = vm(**state)
    operation = op(name)
    path = f"/nodes/node1/qemu/101/status/{name}"
    proxmox.answer("POST", path, upid("node1", worker, 101))
    params = operation.params()
    assert operation.applies_to(guest)
    assert await operation.preflight(context(guest), params) == []
    answer = await operation.call(context(guest), params)
    assert answer is not None and parse_upid(answer).type == worker
    assert proxmox.sent == [Sent("POST", path)]
    assert worker in operation.task_type(guest, params).split("|")
    assert operation.describe(guest, params) == description


async def test_start_refuses_a_running_guest_a_template_and_a_locked_guest(
    proxmox: MemoryPve, context: Ctx
) -> None:
    start = op("start")
    for guest, reason in [
        (vm(), "VM 101 matt is already running."),
        (vm(**stopped(template=1)), "VM 101 matt is a template; clone it to get a guest that can run."),
        (vm(**stopped(lock="backup")), "VM 101 is locked (backup); wait for that to finish."),
    ]:
        with pytest.raises(Refused) as refused:
            await start.preflight(context(guest), start.params())
        assert (refused.value.message, refused.value.field) == (reason, None)
    assert proxmox.sent == []


async def test_a_hibernated_vm_may_start_its_suspended_lock_is_no_obstacle(context: Ctx) -> None:
    assert await op("start").preflight(context(vm(**stopped(lock="suspended"))), None) == []


@pytest.mark.parametrize(
    ("name", "guest", "verb"),
    [
        ("shutdown", ct(**stopped()), "shut down"),
        ("stop", ct(**stopped()), "stop"),
        ("reboot", ct(**stopped()), "reboot"),
        ("suspend", vm(**stopped()), "suspend"),
    ],
)
async def test_stopping_operations_refuse_a_stopped_guest(
    proxmox: MemoryPve, context: Ctx, name: str, guest: Guest, verb: str
) -> None:
    operation = op(name)
    with pytest.raises(Refused) as refused:
        await operation.preflight(context(guest), operation.params())
    assert refused.value.message == f"{guest.label} is not running, so there is nothing to {verb}."
    assert not operation.applies_to(guest) and proxmox.sent == []


async def test_a_locked_running_guest_is_refused(context: Ctx) -> None:
    with pytest.raises(Refused, match=r"^VM 101 is locked \(snapshot\); wait for that to finish\.$"):
        await op("reboot").preflight(context(vm(lock="snapshot")), None)


async def test_shutdown_sends_its_timeout_and_forcestop_as_pve_spells_them(
    proxmox: MemoryPve, context: Ctx
) -> None:
    path = "/nodes/node1/lxc/100/status/shutdown"
    proxmox.answer("POST", path, upid("node1", "vzshutdown", 100))
    params = ShutdownParams(timeout=120, force_stop=True)
    shutdown = op("shutdown")
    await shutdown.call(context(ct()), params)
    assert proxmox.sent == [Sent("POST", path, {"timeout": "120", "forceStop": "1"})]
    assert proxmox.sent[0].body == "timeout=120&forceStop=1"
    assert proxmox.sent[0].content_type == "application/x-www-form-urlencoded"
    assert shutdown.describe(ct(), params) == (
        "Shut down CT 100 test-lxc on node1, waiting up to 120 s, then power it off if it is still running"
    )


async def test_stop_sends_a_timeout_to_vms_but_never_to_containers(proxmox: MemoryPve, context: Ctx) -> None:
    # PVE's lxc status/stop has no timeout: sending one would be a 400 'property is not defined in schema'.
    proxmox.answer("POST", "/nodes/node1/qemu/101/status/stop", upid("node1", "qmstop", 101))
    proxmox.answer("POST", "/nodes/node1/lxc/100/status/stop", upid("node1", "vzstop", 100))
    await op("stop").call(context(vm()), StopParams(timeout=30))
    await op("stop").call(context(ct()), StopParams(timeout=30))
    assert proxmox.sent == [
        Sent("POST", "/nodes/node1/qemu/101/status/stop", {"timeout": "30"}),
        Sent("POST", "/nodes/node1/lxc/100/status/stop"),
    ]


async def test_resume_refuses_a_guest_that_is_not_suspended(context: Ctx) -> None:
    with pytest.raises(Refused, match="^VM 101 matt is not suspended.$"):
        await op("resume").preflight(context(vm()), None)
    # A VM suspended to disk is stopped with the 'suspended' lock; PVE's resume starts it from its state.
    assert await op("resume").preflight(context(vm(**stopped(lock="suspended"))), None) == []


def test_suspend_and_resume_are_for_vms_only() -> None:
    assert not op("suspend").applies_to(ct())
    assert not op("resume").applies_to(ct(lock="suspended"))
    assert op("shutdown").applies_to(ct()) and not op("shutdown").applies_to(vm(qmpstatus="paused"))


async def test_shutdown_refuses_a_paused_vm_without_force_stop(proxmox: MemoryPve, context: Ctx) -> None:
    # PVE answers 500 'VM is paused - cannot shutdown' (FACTS.md, status/shutdown) unless forceStop is set.
    paused = vm(qmpstatus="paused")
    with pytest.raises(Refused):
        await op("shutdown").preflight(context(paused), ShutdownParams())
    assert proxmox.sent == []


async def test_shutdown_of_a_paused_vm_with_force_stop_passes_and_names_the_field_otherwise(
    proxmox: MemoryPve, context: Ctx
) -> None:
    # With forceStop, qemu-server stops a paused VM instead of shutting it down: the preflight lets it through.
    paused = vm(qmpstatus="paused")
    assert await op("shutdown").preflight(context(paused), ShutdownParams(force_stop=True)) == []
    with pytest.raises(Refused) as refused:
        await op("shutdown").preflight(context(paused), ShutdownParams())
    assert refused.value.field == "force_stop" and "paused" in refused.value.message


async def test_pve_refusing_the_call_reaches_the_caller_as_its_error(
    proxmox: MemoryPve, context: Ctx
) -> None:
    # PVE 8.3+ answers a die() with the message as reason phrase and in the body (FACTS.md section 2).
    text = "VM 101 not running"
    path = "/nodes/node1/qemu/101/status/reboot"
    proxmox.fail("POST", path, 500, text, {"data": None, "message": text + "\n"})
    with pytest.raises(PveError) as error:
        await op("reboot").call(context(vm()), None)
    assert (error.value.message, error.value.status) == (text, 500)
    assert proxmox.calls == [("POST", path)]
