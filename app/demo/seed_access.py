"""The demo cluster's people in Proxmox: root, Proxgate's token, and the side doors a real team leaves open."""

from __future__ import annotations

from pvesim.fake import DemoPve

PROXGATE_USER, PROXGATE_TOKEN = "root@pam", "proxgate"
# Someone who still works in the Proxmox UI (the demo's "deleted in the Proxmox UI" acts as this user).
UI_USER = "ops@pve"


def seed_access(pve: DemoPve, proxgate_secret: str, ui_password: str) -> None:
    """Users, tokens and ACLs: two that can delete guests beside Proxgate, an auditor and a disabled admin."""
    pve.add_access_token(PROXGATE_USER, PROXGATE_TOKEN, proxgate_secret, privsep=False)
    pve.add_access_user(UI_USER, ui_password, comment="Operations (still uses the Proxmox UI)")
    pve.set_acl("/", UI_USER, "PVEAdmin")
    pve.add_access_user("ci@pve", comment="Deploy pipeline")
    pve.add_access_token("ci@pve", "deploy", "5c1d9e0a-52a7-4f56-9d8e-0d1e8f7b2a31")
    pve.set_acl("/vms", "ci@pve!deploy", "PVEVMAdmin", kind="token")
    pve.set_acl("/vms", "ci@pve", "PVEVMAdmin")
    pve.add_access_user("monitor@pve", comment="Monitoring (read only)")
    pve.set_acl("/", "monitor@pve", "PVEAuditor")
    pve.add_access_user("former@pve", enable=False, comment="Left the team")
    pve.set_acl("/", "former@pve", "Administrator")
