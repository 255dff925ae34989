"""The shape of the code: no import cycle of any kind, and capability packages met only through what they expose."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path

import grimp
import pytest

pytestmark = pytest.mark.database_free

CAPABILITIES = ("accounts", "approvals", "audit", "cluster", "ips", "notifications", "pipeline", "runtime")


@cache
def graph() -> grimp.ImportGraph:
    """Every import between modules of the app and the simulator, those under TYPE_CHECKING included."""
    return grimp.build_graph("app", "pvesim", cache_dir=None, exclude_type_checking_imports=False)


def strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of more than one module (each one is an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def test_tarjan_finds_a_cycle_and_nothing_else() -> None:
    """The cycle finder itself: a -> b -> c -> a is one component; d hanging off it is not in it."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}}
    assert strongly_connected({"a", "b", "c", "d"}, edges) == [{"a", "b", "c"}]


def test_no_import_cycle_between_modules() -> None:
    """No two modules import each other, directly or through others, not even for type hints."""
    g = graph()
    edges = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    # A package's __init__ re-exporting its modules is not a cycle; a module importing its own package's
    # __init__ while that __init__ imports it back would be, so packages stay in the graph.
    assert strongly_connected(set(g.modules), edges) == []


def exposed(package: str) -> set[str]:
    """The modules others may import from a capability package: the package and submodules in its __all__."""
    module = importlib.import_module(f"app.services.{package}")
    names = getattr(module, "__all__", [])
    return {f"app.services.{package}"} | {f"app.services.{package}.{n}" for n in names}


def test_capability_packages_are_met_only_through_their_exposed_names() -> None:
    """Outside a capability package, code imports the package (its __init__), never its inner modules."""
    g = graph()
    wrong = []
    for package in CAPABILITIES:
        inside = f"app.services.{package}"
        allowed = exposed(package)
        for imported in g.find_children(inside) | g.find_descendants(inside):
            for importer in g.find_modules_that_directly_import(imported):
                if importer == inside or importer.startswith(inside + "."):
                    continue
                if importer.startswith(("app.", "pvesim")) and imported not in allowed:
                    wrong.append(f"{importer} imports {imported}")
    assert sorted(set(wrong)) == []


def test_every_capability_package_says_what_it_owns() -> None:
    """Each package's docstring is one line that names what it owns."""
    for package in CAPABILITIES:
        doc = importlib.import_module(f"app.services.{package}").__doc__ or ""
        assert doc.strip() and "\n" not in doc.strip(), package


def test_no_route_reads_the_app_state() -> None:
    """Pages, the API and their helpers get the runtime from typed dependencies; only app.deps reads app.state."""
    root = Path(__file__).resolve().parents[1] / "app"
    readers = sorted(
        str(path.relative_to(root))
        for folder in ("web", "api", "http", "agents", "services")
        for path in (root / folder).rglob("*.py")
        if re.search(r"\bapp\.state\b|\.app\.state\b", path.read_text())
    )
    assert readers == []
