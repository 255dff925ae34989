"""Benchmark: the guest list (/guests) over a 10,000-guest cluster, against the speed targets.

Serves the demo cluster (seed_cluster, 20 nodes) from fakepve over TLS in this process, runs the app in its own
process (`python -m app.cli serve`, SQLite in a temporary directory, PROXGATE_RESOURCES_TTL=3), signs in, and
measures: the raw upstream /cluster/resources request, /guests warm, once the view expired and as a new
process's first page, a search and a filter, 50 clients at once for 20 s (errors, and /cluster/resources
requests the fake saw), and the app process's RSS.

    .venv/bin/python bench/guests_page.py [--guests 10000] [--ttl 3] [--clients 50] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# The repository's own app, whatever the environment's editable install points at.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.demo.seed import seed_cluster  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402
from tests.factories import login  # noqa: E402
from tests.fakepve_thread import ServedFake  # noqa: E402
from tests.servers import free_port  # noqa: E402

BENCH_ACCOUNT = "root@pam!bench"  # the API token id
BENCH_KEY = str(uuid.uuid4())  # its secret, new each run
USER, PASSWORD = "bench", "a long bench password"
SEARCHES = ("web", "prod", "db-primary", "12", "k3s node", "monitoring")
FILTERS = (
    {"node": "pve7", "status": "running"},
    {"type": "lxc", "pool": "media"},
    {"tag": "monitoring", "sort": "cpu", "order": "desc"},
    {"status": "stopped", "sort": "name"},
)


@dataclass
class Timings:
    """Client-side latencies and the app's Server-Timing durations, in seconds."""

    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    inventory: list[float] = field(default_factory=list)

    def p(self, share: float, server: bool = False, inventory: bool = False) -> float:
        """The share-quantile (0.5 = median) in milliseconds: client-side, or the app's own time."""
        values = sorted(self.inventory if inventory else self.server if server else self.client)
        return values[min(len(values) - 1, round(share * (len(values) - 1)))] * 1000


class App:
    """The app in its own process, talking to the served fake."""

    # What runs it (after the interpreter; `--port N` follows).
    SERVE: tuple[str, ...] = ("-m", "app.cli", "serve")

    def __init__(
        self,
        served: ServedFake,
        workdir: Path,
        ttl: float,
        env: dict[str, str] | None = None,
        add_user: bool = True,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PROXMOX_HOST": served.address,
            "PROXMOX_TOKEN_ID": BENCH_ACCOUNT,
            "PROXMOX_TOKEN_SECRET": BENCH_KEY,
            "PROXMOX_TLS_FINGERPRINT": served.fingerprint,
            "PROXGATE_CREDENTIALS_FILE": str(workdir / "no-credentials"),
            "PROXGATE_DATA_DIR": str(workdir / "data"),
            "DATABASE_URL": f"sqlite:///{workdir / 'proxgate.db'}",
            "PROXGATE_RESOURCES_TTL": str(ttl),
            **(env or {}),
        }
        if add_user:  # apps sharing one database need the user once
            self.cli(["user", "add", USER, "--role", "viewer"], stdin=PASSWORD + "\n")
        command = [sys.executable, *self.SERVE, "--port", str(self.port)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)  # noqa: S603
        deadline = time.monotonic() + 60
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the app did not start")
            time.sleep(0.2)

    def cli(self, args: list[str], stdin: str = "") -> None:
        """Run a `proxgate` command against the same database."""
        command = [sys.executable, "-m", "app.cli", *args]
        subprocess.run(  # noqa: S603 (our own interpreter and fixed arguments)
            command, cwd=ROOT, env=self.env, input=stdin, text=True, check=True, capture_output=True
        )

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def rss_mb(self, key: str = "VmRSS") -> float:
        """The app process's resident memory (VmRSS, or VmHWM for the peak) in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """End the app process."""
        self.process.terminate()
        self.process.wait(30)


def get(
    http: httpx.Client, timings: Timings, params: dict[str, str] | None = None, htmx: bool = False
) -> None:
    """One GET /guests, timed; anything but 200 stops the benchmark."""
    headers = {"HX-Request": "true"} if htmx else {}
    started = time.perf_counter()
    answer = http.get("/guests", params=params, headers=headers)
    timings.client.append(time.perf_counter() - started)
    if answer.status_code != 200:
        raise SystemExit(f"/guests answered {answer.status_code}: {answer.text[:300]}")
    # Server-Timing: inventory;dur=…, render;dur=…, app;dur=… (the whole handler).
    server = answer.headers.get("server-timing", "")
    parts = dict(part.strip().split(";dur=") for part in server.split(",") if ";dur=" in part)
    if "app" in parts:
        timings.server.append(float(parts["app"]) / 1000)
        timings.inventory.append(float(parts["inventory"]) / 1000)


def raw_upstream(served: ServedFake, n: int) -> Timings:
    """GET /cluster/resources straight from the fake, as the app's client would, n times."""
    timings = Timings()
    headers = {"Authorization": f"PVEAPIToken={BENCH_ACCOUNT}={BENCH_KEY}"}
    with httpx.Client(verify=served.ssl_context(), headers=headers, timeout=60) as http:
        http.get(f"{served.url}/api2/json/version")
        for _ in range(n):
            started = time.perf_counter()
            http.get(f"{served.url}/api2/json/cluster/resources").raise_for_status()
            timings.client.append(time.perf_counter() - started)
    return timings


async def crowd(app: App, cookies: httpx.Cookies, clients: int, duration: float) -> tuple[int, int]:
    """`clients` concurrent viewers reloading /guests for `duration` seconds: (requests, errors)."""
    done, errors = 0, 0
    stop_at = time.monotonic() + duration

    async def viewer(http: httpx.AsyncClient) -> None:
        nonlocal done, errors
        while time.monotonic() < stop_at:
            try:
                answer = await http.get("/guests")
                errors += answer.status_code != 200
            except httpx.HTTPError:
                errors += 1
            done += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=app.url, cookies=cookies, limits=limits, timeout=60) as http:
        await asyncio.gather(*(viewer(http) for _ in range(clients)))
    return done, errors


def upstream_resources(pve: DemoPve) -> int:
    """How many GET /cluster/resources the fake has answered."""
    return sum(
        1 for method, path, _body in pve.requests if method == "GET" and path.endswith("/cluster/resources")
    )


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


@dataclass
class Results:
    """Everything measured, in the order of the table."""

    raw: Timings
    warm: Timings
    cold: Timings
    first: Timings
    search: Timings
    filters: Timings
    requests: int = 0
    errors: int = 0
    upstream: int = 0
    rss: float = 0.0
    peak: float = 0.0


def measure(served: ServedFake, app: App, args: argparse.Namespace) -> Results:
    """Run every scenario against the app."""
    results = Results(raw_upstream(served, 20), Timings(), Timings(), Timings(), Timings(), Timings())
    with httpx.Client(base_url=app.url, timeout=60) as http:
        if login(http, USER, PASSWORD).status_code != 303:
            raise SystemExit("sign-in failed")
        get(http, Timings())  # fills the cache and builds the index: what follows is warm
        for _ in range(100):
            get(http, results.warm)
        for _ in range(10):
            time.sleep(args.ttl + 0.3)  # the cached /cluster/resources has expired: the next view refetches
            get(http, results.cold)
        for n in range(50):
            get(http, results.search, {"q": SEARCHES[n % len(SEARCHES)]}, htmx=True)
            get(http, results.filters, FILTERS[n % len(FILTERS)], htmx=True)
        results.rss = app.rss_mb()
        time.sleep(args.ttl + 0.3)
        before = upstream_resources(served.pve)
        results.requests, results.errors = asyncio.run(crowd(app, http.cookies, args.clients, args.duration))
        results.upstream = upstream_resources(served.pve) - before
        results.rss = max(results.rss, app.rss_mb())
        results.peak = app.rss_mb("VmHWM")
    return results


def first_views(
    served: ServedFake, workdir: Path, args: argparse.Namespace, timings: Timings, n: int = 3
) -> None:
    """/guests as the first page a newly started app process serves, n times (a process each)."""
    for _ in range(n):
        app = App(served, workdir, args.ttl, add_user=False)
        try:
            with httpx.Client(base_url=app.url, timeout=60) as http:
                if login(http, USER, PASSWORD).status_code != 303:
                    raise SystemExit("sign-in failed")
                get(http, timings)
        finally:
            app.stop()


def report(r: Results, args: argparse.Namespace) -> None:
    """The markdown table, with the targets and the command that made it."""
    raw = r.raw.p(0.5)
    allowed = args.duration / args.ttl + 1
    rows = [
        ("raw upstream GET /cluster/resources, p50 (N=20)", f"{raw:.0f} ms", "(reference)", ""),
        (
            "/guests first page, warm cache, p50 / p95 (N=100)",
            f"{r.warm.p(0.5):.1f} / {r.warm.p(0.95):.1f} ms (server {r.warm.p(0.5, True):.1f} ms)",
            "p50 ≤ 30 ms",
            verdict(r.warm.p(0.5) <= 30),
        ),
        (
            "/guests first page once the view expired (the last one shown with its age), p50 (N=10)",
            f"{r.cold.p(0.5):.0f} ms (server {r.cold.p(0.5, True):.0f} ms, "
            f"of which fetch, parse and index {r.cold.p(0.5, inventory=True):.0f} ms)",
            f"≤ 1.2 × raw = {1.2 * raw:.0f} ms",
            verdict(r.cold.p(0.5) <= 1.2 * raw),
        ),
        (
            f"/guests first page after a start (nothing to show yet), p50 (N={len(r.first.client)})",
            f"{r.first.p(0.5):.0f} ms = {r.first.p(0.5) / raw:.1f} × raw",
            "(reference: only a new process waits)",
            "",
        ),
        (
            "search over all guests (HTMX table), p50 (N=50)",
            f"{r.search.p(0.5):.1f} ms (server {r.search.p(0.5, True):.1f} ms)",
            "p50 ≤ 50 ms",
            verdict(r.search.p(0.5) <= 50),
        ),
        (
            "filter over all guests (HTMX table), p50 (N=50)",
            f"{r.filters.p(0.5):.1f} ms (server {r.filters.p(0.5, True):.1f} ms)",
            "p50 ≤ 50 ms",
            verdict(r.filters.p(0.5) <= 50),
        ),
        (
            f"{args.clients} clients on /guests for {args.duration:.0f} s: errors",
            f"{r.errors} of {r.requests} ({r.requests / args.duration:.0f} req/s)",
            "0",
            verdict(r.errors == 0),
        ),
        (
            "… upstream /cluster/resources requests",
            str(r.upstream),
            f"≤ {args.duration:.0f}/{args.ttl:g} + 1 = {allowed:.1f}",
            verdict(r.upstream <= allowed),
        ),
        (
            "app RSS with all guests cached (peak)",
            f"{r.rss:.0f} MiB ({r.peak:.0f})",
            "≤ 250 MB",
            verdict(r.rss <= 250),
        ),
    ]
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(
        f"`{command}`  ({args.guests} guests on 20 nodes, fakepve over TLS on loopback, TTL {args.ttl:g} s)\n"
    )
    print("| measure | result | target | |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--ttl", type=float, default=3.0, help="PROXGATE_RESOURCES_TTL of the app")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    pve = DemoPve()
    seed_cluster(pve, guests=args.guests)
    pve.apitokens[BENCH_ACCOUNT] = BENCH_KEY
    pve.time_scale = 0
    pve.max_requests = 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        served = ServedFake(pve, Path(tmp))
        app = App(served, Path(tmp), args.ttl)
        try:
            results = measure(served, app, args)
        finally:
            app.stop()
        try:
            first_views(served, Path(tmp), args, results.first)
        finally:
            served.stop()
    report(results, args)
    print(
        "\nTimes are measured by the client (HTTP on loopback); 'server' is the app's Server-Timing header."
    )


if __name__ == "__main__":
    main()
