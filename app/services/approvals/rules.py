"""The policy file's rules and freezes: read from TOML, checked field by field, matched against a change."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from app.operations.catalogue import CATALOGUE

# Besides operation names, a rule may name a risk class: every operation of that risk matches.
RISK_CLASSES = ("destructive", "reversible")
MAX_APPROVALS = 5


def split_groups(text: str) -> frozenset[str]:
    """Group names as stored, comma-separated, as a set."""
    return frozenset(g for g in text.split(",") if g)


class PolicyFileError(ValueError):
    """The policy file cannot be used; the message names the entry and field."""


@dataclass(frozen=True)
class Facts:
    """What a rule can match on: the change's operation and risk, and its guest's tags, pool, node and type."""

    operation: str
    risk: str
    tags: frozenset[str] = frozenset()
    pool: str | None = None
    node: str | None = None
    guest_type: str | None = None


@dataclass(frozen=True)
class Scope:
    """Which changes an entry is about; an empty set matches anything."""

    operations: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    pools: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()
    guest_types: frozenset[str] = frozenset()

    def matches(self, facts: Facts) -> bool:
        """True when the change is inside this scope (a tag list matches a guest with any of its tags)."""
        if self.operations and not ({facts.operation, facts.risk} & self.operations):
            return False
        if self.tags and not (self.tags & facts.tags):
            return False
        if self.pools and facts.pool not in self.pools:
            return False
        if self.nodes and facts.node not in self.nodes:
            return False
        return not (self.guest_types and facts.guest_type not in self.guest_types)


@dataclass(frozen=True)
class Rule:
    """How many approvals a change in scope needs, and from which groups."""

    name: str
    scope: Scope
    approvals: int
    groups: frozenset[str] = frozenset()
    own_group_approves: bool = True

    @property
    def strictness(self) -> tuple[int, int, int]:
        """Orders rules: more approvals, then more groups, then the requester's group excluded."""
        return (self.approvals, len(self.groups), 0 if self.own_group_approves else 1)


@dataclass(frozen=True)
class Freeze:
    """A time when no destructive change in scope is asked for or run."""

    name: str
    scope: Scope
    start: datetime
    until: datetime

    @property
    def until_text(self) -> str:
        """When it ends, as people read it."""
        return self.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def holds(self, facts: Facts, now: datetime) -> bool:
        """True when the freeze covers this change now."""
        return self.start <= now < self.until and self.scope.matches(facts)


@dataclass(frozen=True)
class Window:
    """Maintenance windows: approved work in scope runs only inside one, from its start for `hours`."""

    name: str
    scope: Scope
    cron: str
    hours: float

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The window open now, or else the next one: (start, end)."""
        length = timedelta(hours=self.hours)
        start: datetime = croniter(self.cron, now).get_prev(datetime)
        if start + length > now:
            return start, start + length
        start = croniter(self.cron, now).get_next(datetime)
        return start, start + length


@dataclass(frozen=True)
class PolicyDocument:
    """Everything one policy file says."""

    rules: tuple[Rule, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    windows: tuple[Window, ...] = ()

    def window_for(self, facts: Facts) -> Window | None:
        """The first window whose scope holds the change, or None."""
        return next((window for window in self.windows if window.scope.matches(facts)), None)

    def window_named(self, name: str) -> Window | None:
        """The window of this name, when the file still has it."""
        return next((window for window in self.windows if window.name == name), None)

    def strictest(self, facts: Facts) -> Rule | None:
        """The strictest rule matching the change (the first of equals), or None when none does."""
        matching = [rule for rule in self.rules if rule.scope.matches(facts)]
        return max(matching, key=lambda rule: rule.strictness) if matching else None

    def freeze_for(self, facts: Facts, now: datetime) -> Freeze | None:
        """The freeze covering a destructive change now (the one lasting longest), or None."""
        if facts.risk != "destructive":
            return None
        holding = [freeze for freeze in self.freezes if freeze.holds(facts, now)]
        return max(holding, key=lambda freeze: freeze.until) if holding else None


def _names(entry: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyFileError(f"{where}: '{key}' must be a list of names")
    return frozenset(v.strip().lower() for v in value)


def _scope(entry: Mapping[str, Any], where: str) -> Scope:
    operations = _names(entry, "operations", where)
    unknown = sorted(o for o in operations if o not in CATALOGUE and o not in RISK_CLASSES)
    if unknown:
        raise PolicyFileError(
            f"{where}: unknown operation {', '.join(unknown)} (an operation name, 'destructive' or 'reversible')"
        )
    types = _names(entry, "guest_types", where)
    if types - {"qemu", "lxc"}:
        raise PolicyFileError(f"{where}: 'guest_types' are qemu or lxc")
    return Scope(
        operations,
        _names(entry, "tags", where),
        _names(entry, "pools", where),
        _names(entry, "nodes", where),
        types,
    )


def _name(entry: Mapping[str, Any], where: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise PolicyFileError(f"{where}: give it a 'name' of 1–100 characters")
    return name.strip()


def _known(entry: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    extra = sorted(set(entry) - set(allowed))
    if extra:
        raise PolicyFileError(f"{where}: unknown field {', '.join(extra)}")


SCOPE_FIELDS = ("operations", "tags", "pools", "nodes", "guest_types")


def _rule(entry: Mapping[str, Any], where: str) -> Rule:
    _known(entry, ("name", "approvals", "groups", "own_group_approves", *SCOPE_FIELDS), where)
    groups = _names(entry, "groups", where)
    approvals = entry.get("approvals", max(1, len(groups)))
    if isinstance(approvals, bool) or not isinstance(approvals, int) or not 1 <= approvals <= MAX_APPROVALS:
        raise PolicyFileError(f"{where}: 'approvals' must be a whole number from 1 to {MAX_APPROVALS}")
    if len(groups) > approvals:
        raise PolicyFileError(f"{where}: {len(groups)} groups need at least as many 'approvals'")
    own = entry.get("own_group_approves", True)
    if not isinstance(own, bool):
        raise PolicyFileError(f"{where}: 'own_group_approves' is true or false")
    return Rule(_name(entry, where), _scope(entry, where), approvals, groups, own)


def _moment(entry: Mapping[str, Any], key: str, where: str) -> datetime:
    value = entry.get(key)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PolicyFileError(
                f"{where}: '{key}' is not a date and time like 2026-12-20T00:00:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise PolicyFileError(f"{where}: '{key}' must be a date and time like 2026-12-20T00:00:00Z")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _freeze(entry: Mapping[str, Any], where: str) -> Freeze:
    _known(entry, ("name", "from", "until", *SCOPE_FIELDS), where)
    start, until = _moment(entry, "from", where), _moment(entry, "until", where)
    if until <= start:
        raise PolicyFileError(f"{where}: 'until' must come after 'from'")
    return Freeze(_name(entry, where), _scope(entry, where), start, until)


def _window(entry: Mapping[str, Any], where: str) -> Window:
    _known(entry, ("name", "cron", "hours", *SCOPE_FIELDS), where)
    cron = entry.get("cron")
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise PolicyFileError(f"{where}: 'cron' must be a cron expression like \"0 2 * * SAT\"")
    hours = entry.get("hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 7:
        raise PolicyFileError(f"{where}: 'hours' must be a number of hours from above 0 to 168")
    return Window(_name(entry, where), _scope(entry, where), cron, float(hours))


def _entries(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PolicyFileError(f"'{key}' must be written as [[{key}]] tables")
    return value


def parse_policy(text: str) -> PolicyDocument:
    """The document a policy file's text describes; PolicyFileError saying what is wrong and where."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"not valid TOML: {exc}") from None
    _known(doc, ("rule", "freeze", "window"), "the file")
    rules = tuple(_rule(e, f"rule {i + 1}") for i, e in enumerate(_entries(doc, "rule")))
    freezes = tuple(_freeze(e, f"freeze {i + 1}") for i, e in enumerate(_entries(doc, "freeze")))
    windows = tuple(_window(e, f"window {i + 1}") for i, e in enumerate(_entries(doc, "window")))
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PolicyFileError(f"two rules are named {twice[0]!r}; names must tell them apart")
    return PolicyDocument(rules, freezes, windows)
