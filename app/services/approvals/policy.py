"""The approval policy: which operations wait for a second person, how many, how long requests live."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from app.config import ConfigError, Settings
from app.operations.base import Operation, Risk
from app.operations.catalogue import CATALOGUE
from app.services.approvals.policy_file import PolicySource
from app.services.approvals.rules import Facts, Freeze, PolicyDocument
from app.services.clock import Clock

# The name a request shows when no rule of the policy file matched: the settings decided.
SETTINGS_RULE = "settings"


@dataclass(frozen=True)
class Requirement:
    """What a change needs before it runs: approvals, from which groups, under which rule."""

    rule: str
    approvals: int
    groups: frozenset[str] = frozenset()
    own_group_approves: bool = True


@dataclass(frozen=True)
class ApprovalPolicy:
    """Destructive operations always need approval; the settings may add others (stop, say)."""

    extra: frozenset[str] = frozenset()
    required: int = 1
    ttl: timedelta = timedelta(hours=24)
    solo: bool = False
    cooling: timedelta = timedelta(minutes=10)
    tokens_decide: bool = False
    # The policy file (PROXGATE_POLICY_FILE), when there is one; without it the settings alone decide.
    source: PolicySource | None = field(default=None, compare=False)
    clock: Clock = field(default_factory=Clock, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApprovalPolicy:
        """The policy the settings describe; ConfigError naming an unknown operation."""
        names = {n.strip() for n in settings.approval_operations.replace(";", ",").split(",") if n.strip()}
        unknown = sorted(n for n in names if n not in CATALOGUE)
        if unknown:
            raise ConfigError(
                f"PROXGATE_APPROVAL_OPERATIONS: unknown operation {', '.join(unknown)}; "
                f"choose from {', '.join(CATALOGUE)}"
            )
        return cls(
            extra=frozenset(names),
            required=settings.approvals_required,
            ttl=timedelta(hours=settings.request_ttl_hours),
            solo=settings.approval_mode == "solo",
            cooling=timedelta(minutes=settings.solo_cooling_minutes),
            tokens_decide=settings.approve_with_tokens,
        ).with_file(settings.policy_file)

    def with_file(self, path: Path | None) -> ApprovalPolicy:
        """This policy reading its rules from the file at path (read now, then when it changes)."""
        if path is None:
            return self
        source = PolicySource(path, self.clock.now)
        source.current()
        if source.error is not None:  # no last good version to keep yet: refuse to start
            raise ConfigError(f"PROXGATE_POLICY_FILE: {source.error}")
        return replace(self, source=source)

    def document(self) -> PolicyDocument:
        """The policy file's rules and freezes in force (none without a file)."""
        return self.source.current() if self.source is not None else PolicyDocument()

    def needs_approval(self, op: Operation, risk: Risk | None = None, facts: Facts | None = None) -> bool:
        """True when the operation (of this risk, when it depends on the change) becomes a request instead of
        running at once (a node operation also when the guest operation it runs as does; any change a rule of
        the policy file matches)."""
        if (risk or op.risk) == Risk.destructive or op.name in self.extra:
            return True
        if facts is not None and self.document().strictest(facts) is not None:
            return True
        return (
            op.runs_as is not None and op.runs_as in CATALOGUE and self.needs_approval(CATALOGUE[op.runs_as])
        )

    def approvals_for(self, op: Operation) -> int:
        """How many other people must say yes (solo mode: the requester's own confirmation)."""
        return 1 if self.solo else self.required

    def requirement(self, op: Operation, facts: Facts) -> Requirement:
        """What this change needs: the strictest of the settings and the policy file's matching rules."""
        settings = Requirement(SETTINGS_RULE, self.approvals_for(op))
        rule = self.document().strictest(facts)
        if rule is None:
            return settings
        # The settings stay the floor: a rule asks for more, never for fewer approvals than the settings do.
        approvals = max(rule.approvals, settings.approvals)
        return Requirement(rule.name, approvals, rule.groups, rule.own_group_approves)

    def window_bounds(self, name: str) -> tuple[datetime, datetime] | None:
        """The named maintenance window open now or next (start, end); None when the file no longer has it."""
        window = self.document().window_named(name)
        return window.bounds(self.clock.now()) if window else None

    def freeze_for(self, facts: Facts) -> Freeze | None:
        """The freeze holding this change now, or None."""
        return self.document().freeze_for(facts, self.clock.now())
