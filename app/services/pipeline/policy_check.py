""" "What would this need?": the rule, approvals, groups and any freeze for an operation on a guest, asked before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.operations.base import Operation
from app.operations.catalogue import get_operation
from app.services.approvals import ApprovalPolicy, Facts
from app.services.errors import Invalid
from app.services.pipeline.actions import ActionService


@dataclass(frozen=True)
class PolicyAnswer:
    """What a change would need now."""

    operation: str
    vmid: int | None
    needs_approval: bool
    rule: str
    approvals: int
    groups: list[str]
    own_group_approves: bool
    frozen_until: str | None
    freeze: str | None
    window: str | None = None
    window_opens: datetime | None = None

    def as_json(self) -> dict[str, object]:
        """The answer of GET /api/v1/policy/check."""
        return {
            "operation": self.operation,
            "vmid": self.vmid,
            "needs_approval": self.needs_approval,
            "rule": self.rule if self.needs_approval else None,
            "approvals": self.approvals if self.needs_approval else 0,
            "groups": self.groups if self.needs_approval else [],
            "own_group_approves": self.own_group_approves,
            "freeze": {"name": self.freeze, "until": self.frozen_until} if self.freeze else None,
            "window": {"name": self.window, "opens": self.window_opens} if self.window else None,
        }

    @property
    def sentence(self) -> str:
        """The answer as the guest page says it."""
        if self.freeze:
            return f"{self.freeze}: refused until {self.frozen_until}."
        if not self.needs_approval:
            return "runs at once."
        groups = f", at least one from each of {', '.join(self.groups)}" if self.groups else ""
        rule = "the settings" if self.rule == "settings" else f"rule '{self.rule}'"
        window = ""
        if self.window and self.window_opens:
            window = f"; runs in window '{self.window}' (from {self.window_opens:%Y-%m-%d %H:%M} UTC)"
        return f"{self.approvals} approval{'s' if self.approvals > 1 else ''}{groups} ({rule}){window}."


async def policy_check(
    actions: ActionService, policy: ApprovalPolicy, name: str, vmid: int | None
) -> PolicyAnswer:
    """What the operation on this guest (or on no guest) would need now; Invalid for an unknown operation."""
    op = get_operation(name)
    if op is None:
        raise Invalid(f"Unknown operation '{name}'.", field="operation")
    if vmid is not None and op.target == "guest":
        guest = await actions.load_guest(vmid)
        facts = Facts(op.name, str(op.risk), guest.tags, guest.pool, guest.node, guest.type)
    else:
        facts = Facts(op.name, str(op.risk))
    return answer_for(policy, op, facts, vmid)


def answer_for(policy: ApprovalPolicy, op: Operation, facts: Facts, vmid: int | None) -> PolicyAnswer:
    """The answer for this operation on a target with these facts."""
    need = policy.requirement(op, facts)
    freeze = policy.freeze_for(facts)
    window = policy.document().window_for(facts)
    bounds = window.bounds(policy.clock.now()) if window else None
    return PolicyAnswer(
        op.name,
        vmid,
        policy.needs_approval(op, None, facts),
        need.rule,
        need.approvals,
        sorted(need.groups),
        need.own_group_approves,
        freeze.until_text if freeze else None,
        freeze.name if freeze else None,
        window.name if window else None,
        bounds[0] if bounds else None,
    )
