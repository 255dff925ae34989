"""Download a template of the appliance index (DOWNLOAD_TEMPLATE): node, storage, index and copy checks, and the
exact form sent."""

from __future__ import annotations

from typing import Any

import pytest

from app.operations.appliances import DOWNLOAD_TEMPLATE, DownloadTemplateParams, unknown_template
from app.operations.base import Refused
from app.proxmox import parse_upid
from tests.operations.answers import cluster, volume
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"
INDEX = [
    {"template": TEMPLATE, "package": "debian-12-standard", "section": "system", "type": "lxc"},
    {
        "template": "debian-13-standard_13.1-2_amd64.tar.zst",
        "package": "debian-13-standard",
        "section": "system",
    },
    {"template": "alpine-3.22-default_20250617_amd64.tar.xz", "package": "alpine-3.22-default"},
]
CONTENT = "/nodes/node1/storage/local/content"


def node1(proxmox: MemoryPve, held: list[Any] | None = None) -> None:
    """The recorded cluster, node1's appliance index, and what `local` holds of templates."""
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", "/nodes/node1/aplinfo", INDEX)
    proxmox.answer("GET", CONTENT, held or [])


def params(**changes: Any) -> DownloadTemplateParams:
    """Debian 12 onto node1's local."""
    return DownloadTemplateParams.model_validate(
        {"node": "node1", "storage": "local", "template": TEMPLATE, **changes}
    )


async def test_download_checks_the_index_and_posts_the_template(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.answer("POST", "/nodes/node1/aplinfo", upid("node1", "download", TEMPLATE))
    p = params()
    assert await DOWNLOAD_TEMPLATE.preflight(context(None), p) == []
    assert proxmox.sent == [
        Sent("GET", "/cluster/resources"),
        Sent("GET", "/nodes/node1/aplinfo"),
        Sent("GET", CONTENT, {"content": "vztmpl"}),
    ]
    answer = await DOWNLOAD_TEMPLATE.call(context(None), p)
    assert (
        answer is not None and parse_upid(answer).type == DOWNLOAD_TEMPLATE.task_type(None, p) == "download"
    )
    assert proxmox.changes == [
        Sent("POST", "/nodes/node1/aplinfo", {"storage": "local", "template": TEMPLATE})
    ]
    assert DOWNLOAD_TEMPLATE.describe(None, p) == f"Download template {TEMPLATE} to local on node1"
    assert p.subject() == ("node1", None, None, f"local:vztmpl/{TEMPLATE}")


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        (
            {"storage": "local-zfs"},
            "storage",
            "Storage 'local-zfs' cannot hold vztmpl on node1; choose one of: local.",
        ),
        ({"node": "node9"}, "node", "There is no node 'node9'"),
        (
            {"template": "debian-11-standard_11.7-1_amd64.tar.zst"},
            "template",
            "no template 'debian-11-standard_11.7-1_amd64.tar.zst'; choose one of: debian-12-standard_12.7-1_amd64"
            ".tar.zst, debian-13-standard_13.1-2_amd64.tar.zst.",
        ),
    ],
)
async def test_download_refuses_what_proxmox_would(
    proxmox: MemoryPve, context: Ctx, changes: dict[str, str], field: str, says: str
) -> None:
    node1(proxmox)
    with pytest.raises(Refused) as refused:
        await DOWNLOAD_TEMPLATE.preflight(context(None), params(**changes))
    assert refused.value.field == field and says in refused.value.message
    assert proxmox.changes == []


async def test_a_template_the_storage_holds_is_not_fetched_again(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox, [volume(f"local:vztmpl/{TEMPLATE}", "vztmpl", 126353408)])
    with pytest.raises(Refused, match="local on node1 holds debian-12-standard_12.7-1_amd64.tar.zst already"):
        await DOWNLOAD_TEMPLATE.preflight(context(None), params())


def test_an_unknown_name_lists_at_most_a_few_choices() -> None:
    names = [f"ubuntu-{n}.04-standard_{n}.04-1_amd64.tar.zst" for n in range(10, 25)]
    text = unknown_template("ubuntu-99.04", names)
    assert text.count("ubuntu-") == 9 and text.endswith("(and 7 more).")
