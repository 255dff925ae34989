"""Power operations: start, shutdown, stop, reboot (VMs and containers), suspend and resume (VMs only:
suspending a container is experimental in Proxmox and needs CRIU)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from app.operations.base import Context, Guest, NoParams, Operation, Params, Refused, Risk, worker
from app.operations.forms import Form, Widget


class ShutdownParams(Params):
    """A clean shutdown: how long to wait, and whether to power off when the guest ignores it."""

    timeout: Annotated[int | None, Widget(placeholder="Proxmox's default")] = Field(
        None,
        ge=1,
        le=3600,
        title="Wait up to (seconds)",
        description="Seconds to wait for the guest to power off",
    )
    force_stop: bool = Field(
        False,
        title="Power off if it is still running then",
        description="Power off if the guest is still running after the timeout",
    )


class StopParams(Params):
    """A hard power-off."""

    timeout: int | None = Field(None, ge=1, le=3600, description="Seconds to wait for the stop")


def _running(guest: Guest) -> bool:
    return guest.status == "running" and not guest.paused and not guest.template


def _stopped(guest: Guest) -> bool:
    return guest.status == "stopped" and not guest.template


async def _post_status(ctx: Context, action: str, **params: Any) -> str | None:
    guest = _guest(ctx)
    values = {k: v for k, v in params.items() if v is not None}
    upid = await ctx.pve.post(guest.paths.status(action), **values)
    return str(upid) if upid else None


def _guest(ctx: Context) -> Guest:
    if ctx.guest is None:
        raise Refused("This operation needs a guest.")
    return ctx.guest


def _not_locked(guest: Guest) -> None:
    if guest.lock and guest.lock != "suspended":
        raise Refused(f"{guest.kind} {guest.vmid} is locked ({guest.lock}); wait for that to finish.")


async def _preflight_start(ctx: Context, params: Any) -> list[str]:
    guest = _guest(ctx)
    if guest.template:
        raise Refused(f"{guest.label} is a template; clone it to get a guest that can run.")
    if guest.status == "running":
        raise Refused(f"{guest.label} is already running.")
    _not_locked(guest)
    return []


def _needs_running(verb: str) -> Any:
    async def check(ctx: Context, params: Any) -> list[str]:
        guest = _guest(ctx)
        if guest.status != "running":
            raise Refused(f"{guest.label} is not running, so there is nothing to {verb}.")
        _not_locked(guest)
        return []

    return check


async def _preflight_shutdown(ctx: Context, params: ShutdownParams) -> list[str]:
    await _needs_running("shut down")(ctx, params)
    guest = _guest(ctx)
    # qemu-server refuses a paused VM ("VM is paused - cannot shutdown"): the request would reach a guest that
    # cannot answer it, and power it off whenever it is resumed. With forceStop it stops the VM instead.
    if guest.paused and not params.force_stop:
        raise Refused(
            f"{guest.label} is paused: resume it first, or choose to power it off if it does not shut down.",
            field="force_stop",
        )
    return []


async def _preflight_resume(ctx: Context, params: Any) -> list[str]:
    guest = _guest(ctx)
    if not guest.paused:
        raise Refused(f"{guest.label} is not suspended.")
    return []


async def _start(ctx: Context, params: NoParams) -> str | None:
    return await _post_status(ctx, "start")


async def _shutdown(ctx: Context, params: ShutdownParams) -> str | None:
    return await _post_status(
        ctx, "shutdown", timeout=params.timeout, forceStop=1 if params.force_stop else None
    )


async def _stop(ctx: Context, params: StopParams) -> str | None:
    # Containers' stop takes no timeout (PVE's schema); sending one would be refused as an unknown parameter.
    timeout = params.timeout if _guest(ctx).type == "qemu" else None
    return await _post_status(ctx, "stop", timeout=timeout)


async def _reboot(ctx: Context, params: NoParams) -> str | None:
    return await _post_status(ctx, "reboot")


async def _suspend(ctx: Context, params: NoParams) -> str | None:
    return await _post_status(ctx, "suspend")


async def _resume(ctx: Context, params: NoParams) -> str | None:
    return await _post_status(ctx, "resume")


def _say(verb: str) -> Any:
    return lambda guest, params: f"{verb} {guest.label} on {guest.node}" if guest else verb


def _describe_shutdown(guest: Guest | None, params: ShutdownParams) -> str:
    base = _say("Shut down")(guest, params)
    wait = f", waiting up to {params.timeout} s" if params.timeout else ""
    return base + wait + (", then power it off if it is still running" if params.force_stop else "")


POWER = (
    Operation(
        "start",
        "Start",
        "guest",
        Risk.reversible,
        NoParams,
        _say("Start"),
        _start,
        preflight=_preflight_start,
        available=_stopped,
        task_type=worker("qmstart|hastart", "vzstart|hastart"),
        about="Starts a stopped guest. Refused for templates, running or locked guests.",
        form=Form(button="primary", fields=False),
    ),
    Operation(
        "shutdown",
        "Shut down",
        "guest",
        Risk.reversible,
        ShutdownParams,
        _describe_shutdown,
        _shutdown,
        preflight=_preflight_shutdown,
        available=_running,
        task_type=worker("qmshutdown|hastop", "vzshutdown|hastop"),
        confirm="Proxmox asks the guest's operating system to shut down; whatever runs in it stops.",
        about="Asks the guest's operating system to shut down; `timeout` seconds to wait, `force_stop` to power off after it. Refused unless it is running.",
        form=Form(button="", summary="Shut down with options"),
    ),
    Operation(
        "reboot",
        "Reboot",
        "guest",
        Risk.reversible,
        NoParams,
        _say("Reboot"),
        _reboot,
        preflight=_needs_running("reboot"),
        available=_running,
        task_type=worker("qmreboot", "vzreboot"),
        confirm="Whatever runs in it stops and starts again; it is unreachable until it is back.",
        about="Reboots a running guest. Refused unless it is running.",
        form=Form(button="", fields=False),
    ),
    Operation(
        "suspend",
        "Suspend",
        "guest",
        Risk.reversible,
        NoParams,
        _say("Suspend"),
        _suspend,
        preflight=_needs_running("suspend"),
        available=_running,
        task_type=worker("qmsuspend", "vzsuspend"),
        guest_types=frozenset({"qemu"}),
        confirm="It is paused in memory: it stops answering until someone resumes it.",
        about="Pauses a running VM in memory. Refused unless it is running.",
        form=Form(button="", fields=False),
    ),
    Operation(
        "resume",
        "Resume",
        "guest",
        Risk.reversible,
        NoParams,
        _say("Resume"),
        _resume,
        preflight=_preflight_resume,
        available=lambda g: g.paused,
        task_type=worker("qmresume", "vzresume"),
        guest_types=frozenset({"qemu"}),
        about="Resumes a suspended VM. Refused unless it is suspended.",
        form=Form(button="", fields=False),
    ),
    Operation(
        "stop",
        "Stop (power off)",
        "guest",
        Risk.reversible,
        StopParams,
        _say("Power off"),
        _stop,
        preflight=_needs_running("stop"),
        available=lambda g: g.status == "running",
        confirm="This cuts the power at once, like pulling the plug: unsaved data in the guest is lost.",
        task_type=worker("qmstop|hastop", "vzstop|hastop"),
        about="Powers a guest off at once, like pulling the plug; `timeout` seconds to wait (VMs). Refused unless it is running.",
        form=Form(button="danger", fields=False),
    ),
)
