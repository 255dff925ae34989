"""Links into Proxmox's own web UI: a guest's console, the node shell, and a guest or node in the resource tree.

Proxgate never proxies a console: it is a login to the guest (or a root shell on the node), outside the
approvals and the audit log, so people open it in Proxmox, where Proxmox's own login and permissions apply.
The links use the node's address (from /cluster/status) and the port Proxgate talks to; the node's own
certificate names that address.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from app.services.cluster import PveConnection

# pve-manager www/manager6/StateProvider.js: the UI's state in the URL fragment, 'v1' and then these keys
# in this order, each ':=' + URI-encoded text, ':' + a number from its dictionary, or ':' alone for ''.
STATE_KEYS = (
    "view",
    "rid",
    "ltab",
    "nodetab",
    "storagetab",
    "sdntab",
    "pooltab",
    "kvmtab",
    "lxctab",
    "dctab",
)
STATE_DEFAULTS = {"view": "server", "rid": "root", "ltab": "tasks"}
STATE_WORDS = {"server": 0, "tasks": 4, "summary": 5}
# The tab a resource opens on, by the state key that holds it.
SUMMARY_TAB = {"qemu": "kvmtab", "lxc": "lxctab", "node": "nodetab"}


def ui_state(rid: str) -> str:
    """The fragment that opens a resource ('qemu/100', 'lxc/101', 'node/pve1') on its Summary tab."""
    kind = rid.split("/", 1)[0]
    state = {**STATE_DEFAULTS, "rid": rid, SUMMARY_TAB[kind]: "summary"}
    parts = ["v1"]
    for key in STATE_KEYS:
        value = quote(state.get(key, ""), safe="")
        if not value:
            parts.append("")
        elif value in STATE_WORDS:
            parts.append(str(STATE_WORDS[value]))
        else:
            parts.append("=" + value)
    return ":".join(parts)


@dataclass(frozen=True)
class ProxmoxUi:
    """Proxmox's web UI on one node: https://address:port/."""

    base: str

    def resource(self, rid: str) -> str:
        """The resource in the UI's tree, on its Summary tab."""
        return f"{self.base}#{ui_state(rid)}"

    def console(self, kind: str, vmid: int, name: str, node: str) -> str:
        """The guest's console as the UI opens it: noVNC for a VM, xterm.js for a container."""
        if kind == "qemu":
            params = {
                "console": "kvm",
                "novnc": 1,
                "vmid": vmid,
                "vmname": name,
                "node": node,
                "resize": "off",
            }
        else:
            params = {"console": "lxc", "xtermjs": 1, "vmid": vmid, "vmname": name, "node": node}
        return f"{self.base}?{urlencode(params, quote_via=quote)}"

    def shell(self, node: str) -> str:
        """The node's shell (xterm.js)."""
        return f"{self.base}?{urlencode({'console': 'shell', 'xtermjs': 1, 'node': node}, quote_via=quote)}"


def proxmox_ui(connection: PveConnection, address: str | None) -> ProxmoxUi:
    """The UI on the node's address, or on the configured host when the address is unknown; the API's port."""
    host = address or connection.hostname
    if ":" in host:
        host = f"[{host}]"
    return ProxmoxUi(f"https://{host}:{connection.port}/")
