"""The demo's fake PVE as a process: seeded, on TLS with its own certificate, announcing itself on stdout.

    python -m app.demo.fakeserver --host 127.0.0.1 --port 0 --guests 30 --time-scale 0.08 --state-dir DIR

prints one JSON line {"url", "host", "fingerprint", "token_id", "token_secret", "cafile"} once it listens,
then serves until SIGTERM or SIGINT. start_fake_process() runs it as a child and reads that line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fakepve.certs import make_cert

import app
from app.demo.seed import seed_cluster
from app.demo.seed_access import UI_USER, seed_access
from pvesim.fake import DemoPve

# Real seconds per PVE second: a 30 s backup takes 2.4 s, a VM start about a second, a restore a few.
DEMO_TIME_SCALE = 0.08
TOKEN_ID = "root@pam!proxgate"  # noqa: S105 - the token's id; its secret is made per run
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
LOG_NAME = "fakepve.log"
ACCESS_FILE = "ui-user.json"


def fingerprint(der: bytes) -> str:
    """The certificate's SHA-256 as PVE shows it: AB:CD:..., uppercase."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def host_port(host: str, port: int) -> str:
    """host:port, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare(args: argparse.Namespace) -> tuple[DemoPve, str, str, bytes]:
    """The seeded fake and its certificate: (pve, certfile, keyfile, DER bytes)."""
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    certfile, keyfile, der = make_cert(str(state), hosts=(args.host,))
    pve = DemoPve(host=args.host, port=args.port)
    # Nobody needs fakepve's public root@pam/secret login: the app uses the token.
    pve.password = secrets.token_urlsafe(18)
    pve.time_scale = args.time_scale
    seed_cluster(pve, args.guests, args.seed)
    seed_access(pve, str(uuid.uuid4()), secrets.token_urlsafe(12))
    pve.ssl_fingerprint = fingerprint(der)
    return pve, certfile, keyfile, der


async def serve(pve: DemoPve, certfile: str, keyfile: str, der: bytes) -> None:
    """Listen, announce, and serve until SIGTERM or SIGINT."""
    await pve.start(certfile, keyfile)
    address = host_port(pve.host, pve.port)
    # For `python -m app.demo.side_door`: who acts in "the Proxmox UI", and how to reach the fake.
    ui = {"url": f"https://{address}", "cafile": certfile, "user": UI_USER, "password": pve.users[UI_USER]}
    (Path(certfile).parent / ACCESS_FILE).write_text(json.dumps(ui))
    ready = {
        "url": f"https://{address}",
        "host": address,
        "fingerprint": fingerprint(der),
        "token_id": TOKEN_ID,
        "token_secret": pve.apitokens[TOKEN_ID],
        "cafile": certfile,
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Before the announcement: whoever reads it may signal at once.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(json.dumps(ready), flush=True)
    await stop.wait()
    await pve.stop()


def main(argv: list[str] | None = None) -> None:
    """The process entry."""
    parser = argparse.ArgumentParser(
        prog="python -m app.demo.fakeserver", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--guests", type=int, default=30)
    parser.add_argument(
        "--time-scale", type=float, default=DEMO_TIME_SCALE, help="real seconds per PVE second"
    )
    parser.add_argument("--state-dir", required=True, help="where the certificate and key are written")
    parser.add_argument("--seed", type=int, default=7, help="the inventory's random seed")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(
            f"fakeserver: WARNING: {args.host} is not a loopback address; anyone who can reach it "
            "can drive the fake cluster.",
            file=sys.stderr,
            flush=True,
        )
    asyncio.run(serve(*prepare(args)))


@dataclass
class FakeProcess:
    """A running fakeserver child: where it listens, how to trust and authenticate to it, and stop()."""

    url: str
    host: str
    fingerprint: str
    token_id: str
    token_secret: str = field(repr=False)
    cafile: str
    process: subprocess.Popen[str] = field(repr=False)

    def stop(self) -> None:
        """SIGTERM the child and wait for it (kill it if it does not go)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def start_fake_process(
    guests: int,
    host: str = "127.0.0.1",
    port: int = 0,
    time_scale: float = DEMO_TIME_SCALE,
    *,
    state_dir: Path,
    timeout: float = READY_TIMEOUT,
) -> FakeProcess:
    """Run `python -m app.demo.fakeserver` and wait for its JSON line; its stderr goes to state_dir."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    options = {"host": host, "port": port, "guests": guests, "time-scale": time_scale, "state-dir": state_dir}
    command = [sys.executable, "-m", "app.demo.fakeserver"]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    env = dict(os.environ)
    # The child imports app from this checkout even when it is not installed.
    root = str(Path(app.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    with open(state_dir / LOG_NAME, "w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env)  # noqa: S603
    try:
        ready = json.loads(_first_line(process, timeout, state_dir / LOG_NAME))
    except BaseException:
        _end(process)
        raise
    fields = ("url", "host", "fingerprint", "token_id", "token_secret", "cafile")
    return FakeProcess(process=process, **{key: str(ready[key]) for key in fields})


def _first_line(process: subprocess.Popen[str], timeout: float, log: Path) -> str:
    """The child's first stdout line, read in a thread so that a silent child cannot hang us."""
    lines: queue.Queue[str] = queue.Queue()
    stream: IO[str] | Any = process.stdout
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        _end(process)
        reader.join(STOP_TIMEOUT)
        raise TimeoutError(f"the fake PVE did not start within {timeout:.0f} s (see {log})") from None
    if not line.strip():
        status = process.wait()
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(
            f"the fake PVE exited with status {status} before it was ready: " + " | ".join(tail)
        )
    return line


def _end(process: subprocess.Popen[str]) -> None:
    """Kill the child if it still runs, reap it and close its pipe."""
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdout and not process.stdout.closed:
        process.stdout.close()


if __name__ == "__main__":
    main()
