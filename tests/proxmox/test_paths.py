"""Proxmox paths: what the helpers build from awkward names, and that no other module builds one by hand."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.proxmox.client import segment as client_segment
from app.proxmox.observer import path_template
from app.proxmox.paths import (
    CLUSTER_RESOURCES,
    GuestPath,
    NodePath,
    StoragePath,
    ha_migrate,
    rrddata,
    segment,
)

pytestmark = pytest.mark.database_free

APP = Path(__file__).resolve().parents[2] / "app"
PATHS_MODULE = APP / "proxmox" / "paths.py"
UPID = "UPID:pve1:000F4240:00001B58:6B095916:qmstart:100:root@pam!proxgate:"
VZDUMP = "local:backup/vzdump-qemu-100-2026_01_31-02_00_00.vma.zst"
PBS = "pbs:backup/vm/100/2026-01-31T02:00:00Z"

# A string that is a Proxmox API path (messages that name one in prose have spaces and are left alone).
PVE_PATH = re.compile(r"^/(?:nodes|cluster|storage|access|pools|version)(?:/|$)")
# What is appended to a path held in a variable: f"{guest.path}/config".
PVE_SUFFIX = re.compile(
    r"^/(?:status|config|snapshot|tasks|content|rrddata|agent|interfaces|resize|clone|template|vzdump"
    r"|network|storage|qemu|lxc)(?:/|$)"
)


def test_a_volume_id_is_one_segment() -> None:
    """A volume id's '/' is escaped, its ':' kept: PVE reads the rest of the path as the volume."""
    local = StoragePath("pve1", "local")
    assert local.volume(VZDUMP) == (
        "/nodes/pve1/storage/local/content/local:backup%2Fvzdump-qemu-100-2026_01_31-02_00_00.vma.zst"
    )
    assert StoragePath("pve1", "pbs").volume(PBS) == (
        "/nodes/pve1/storage/pbs/content/pbs:backup%2Fvm%2F100%2F2026-01-31T02:00:00Z"
    )
    assert local.content == "/nodes/pve1/storage/local/content"
    assert rrddata(local.base) == "/nodes/pve1/storage/local/rrddata"


def test_a_upid_keeps_its_colons_at_and_bang() -> None:
    """UPIDs are sent as PVE writes them."""
    node = NodePath("pve1")
    assert node.task_status(UPID) == f"/nodes/pve1/tasks/{UPID}/status"
    assert node.task_log(UPID) == f"/nodes/pve1/tasks/{UPID}/log"
    assert node.tasks == "/nodes/pve1/tasks"


def test_guest_paths() -> None:
    """A snapshot's name and every other variable part is one escaped segment; valid names pass unchanged."""
    vm = GuestPath("pve1", "qemu", 100)
    assert vm.base == "/nodes/pve1/qemu/100"
    assert vm.status("current") == "/nodes/pve1/qemu/100/status/current"
    assert vm.snapshots == "/nodes/pve1/qemu/100/snapshot"
    assert vm.snapshot("before_upgrade-2") == "/nodes/pve1/qemu/100/snapshot/before_upgrade-2"
    assert vm.rollback("before_upgrade-2") == "/nodes/pve1/qemu/100/snapshot/before_upgrade-2/rollback"
    assert vm.snapshot_config("nightly") == "/nodes/pve1/qemu/100/snapshot/nightly/config"
    assert vm.snapshot("a b/../c?x#y") == "/nodes/pve1/qemu/100/snapshot/a%20b%2F..%2Fc%3Fx%23y"
    assert vm.agent("network-get-interfaces") == "/nodes/pve1/qemu/100/agent/network-get-interfaces"
    assert GuestPath("pve2", "lxc", 101).interfaces == "/nodes/pve2/lxc/101/interfaces"
    assert vm.migrate == "/nodes/pve1/qemu/100/migrate"
    assert ha_migrate("vm:100") == "/cluster/ha/resources/vm:100/migrate"
    assert NodePath("pve1").guests("lxc") == "/nodes/pve1/lxc"
    assert NodePath("pve1").extractconfig == "/nodes/pve1/vzdump/extractconfig"


def test_metrics_name_every_kind_of_path() -> None:
    """The observer's templates still find the names in what the helpers build."""
    vm = GuestPath("pve1", "qemu", 100)
    assert path_template(vm.rollback("s1")) == "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback"
    assert path_template(NodePath("pve1").task_log(UPID)) == "/nodes/{node}/tasks/{upid}/log"
    volume = StoragePath("pve1", "pbs").volume(PBS)
    assert path_template(volume) == "/nodes/{node}/storage/{storage}/content/{volume}"
    assert path_template(CLUSTER_RESOURCES) == "/cluster/resources"
    assert path_template(ha_migrate("ct:101")) == "/cluster/ha/resources/{sid}/migrate"


def test_segment_is_still_importable_from_the_client() -> None:
    """Its old home keeps working for code written against it."""
    assert client_segment is segment


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of a module and of its classes and functions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _routes(tree: ast.AST) -> set[int]:
    """ids of every node inside a decorator: route declarations name Proxgate's own URLs."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                found.update(id(inner) for inner in ast.walk(decorator))
    return found


def _is_path(node: ast.AST) -> bool:
    """A string that is a Proxmox path, or an f-string that starts one or appends to one in a variable."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(PVE_PATH.match(node.value)) and not re.search(r"\s", node.value)
    if not isinstance(node, ast.JoinedStr) or not node.values:
        return False
    parts = node.values
    if _is_path(parts[0]):
        return True
    pairs = zip(parts, parts[1:], strict=False)
    return any(
        isinstance(before, ast.FormattedValue)
        and isinstance(after, ast.Constant)
        and PVE_SUFFIX.match(str(after.value))
        for before, after in pairs
    )


def path_literals(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each string of the source that builds a Proxmox path."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _routes(tree)
    inner: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inner:
            continue
        if isinstance(node, ast.JoinedStr):
            inner.update(id(part) for part in node.values)
        if _is_path(node):
            yield node.lineno, ast.unparse(node)


def test_the_scan_finds_hand_built_paths_and_passes_routes_and_prose() -> None:
    """The scanner itself, on a module with each case."""
    source = '''
"""/nodes/{node}: a docstring may name a path."""
@router.get("/nodes/{node}", name="node_detail")
async def page(node: str) -> None:
    await pve.get(f"/nodes/{node}/status")
    await pve.get("/cluster/tasks")
    await pve.get(f"{guest.path}/snapshot/{name}")
    raise PveUnavailable("/cluster/resources lists it as offline")
    return f"/api/v1/guests/{vmid}/snapshots"
'''
    assert [line for line, _text in path_literals(source)] == [5, 6, 7]


def test_no_module_but_paths_builds_a_proxmox_path() -> None:
    """Every Proxmox API path comes from app/proxmox/paths.py (pages' and the API's routes are our own URLs)."""
    found = [
        f"{file.relative_to(APP.parent)}:{line}: {text}"
        for file in sorted(APP.rglob("*.py"))
        if file != PATHS_MODULE
        for line, text in path_literals(file.read_text(encoding="utf-8"))
    ]
    assert found == []
