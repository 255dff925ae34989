"""Someone deletes a guest in the Proxmox UI, beside Proxgate: the demo's side door, to watch Proxgate notice.

    python -m app.demo.side_door FAKE_STATE_DIR [--vmid N]

signs in to the demo's simulated Proxmox as its UI user (a ticket, as the web UI does) and deletes the given
guest, or the first stopped one, then prints the task's UPID. Proxgate records it as observed within seconds.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from pathlib import Path
from typing import Any

import httpx

from app.demo.fakeserver import ACCESS_FILE
from app.proxmox.paths import ACCESS_TICKET, CLUSTER_RESOURCES, GuestPath


def delete_in_ui(state_dir: Path, vmid: int | None = None) -> str:
    """Delete a guest as the UI user; the task's UPID."""
    ui = json.loads((state_dir / ACCESS_FILE).read_text())
    trust = ssl.create_default_context(cafile=ui["cafile"])
    with httpx.Client(base_url=ui["url"] + "/api2/json", verify=trust, timeout=30) as http:
        login = http.post(ACCESS_TICKET, data={"username": ui["user"], "password": ui["password"]})
        login.raise_for_status()
        ticket = login.json()["data"]
        http.cookies.set("PVEAuthCookie", ticket["ticket"])
        http.headers["CSRFPreventionToken"] = ticket["CSRFPreventionToken"]
        guest = _choose(http.get(CLUSTER_RESOURCES, params={"type": "vm"}).json()["data"], vmid)
        answer = http.delete(GuestPath(guest["node"], guest["type"], int(guest["vmid"])).base)
        answer.raise_for_status()
        upid: str = answer.json()["data"]
        return upid


def _choose(guests: list[dict[str, Any]], vmid: int | None) -> dict[str, Any]:
    """The guest asked for, or the first stopped one that is not a template."""
    for guest in sorted(guests, key=lambda g: int(g["vmid"])):
        if vmid is not None and int(guest["vmid"]) == vmid:
            return guest
        if vmid is None and guest.get("status") == "stopped" and not guest.get("template"):
            return guest
    raise SystemExit(f"no such guest: {vmid}" if vmid is not None else "no stopped guest to delete")


def main(argv: list[str] | None = None) -> None:
    """The command."""
    parser = argparse.ArgumentParser(prog="python -m app.demo.side_door", description=__doc__.splitlines()[0])
    parser.add_argument("state_dir", type=Path, help="the simulated Proxmox's folder (the demo prints it)")
    parser.add_argument("--vmid", type=int, default=None)
    args = parser.parse_args(argv)
    print(delete_in_ui(args.state_dir, args.vmid), file=sys.stdout)


if __name__ == "__main__":
    main()
