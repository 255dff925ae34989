"""The approval policy: which operations wait for a second person, how many, how long requests live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.config import ConfigError, Settings
from app.operations.base import Operation, Risk
from app.operations.catalogue import CATALOGUE


@dataclass(frozen=True)
class ApprovalPolicy:
    """Destructive operations always need approval; the settings may add others (stop, say)."""

    extra: frozenset[str] = frozenset()
    required: int = 1
    ttl: timedelta = timedelta(hours=24)
    solo: bool = False
    cooling: timedelta = timedelta(minutes=10)
    tokens_decide: bool = False

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
        )

    def needs_approval(self, op: Operation, risk: Risk | None = None) -> bool:
        """True when the operation (of this risk, when it depends on the change) becomes a request instead of
        running at once (a node operation also when the guest operation it runs as does)."""
        if (risk or op.risk) == Risk.destructive or op.name in self.extra:
            return True
        return (
            op.runs_as is not None and op.runs_as in CATALOGUE and self.needs_approval(CATALOGUE[op.runs_as])
        )

    def approvals_for(self, op: Operation) -> int:
        """How many other people must say yes (solo mode: the requester's own confirmation)."""
        return 1 if self.solo else self.required
