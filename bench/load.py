"""Benchmark: 200 people browsing at once for 60 s, against two app processes on one PostgreSQL database.

Serves the 10,000-guest demo cluster (20 nodes) from fakepve over TLS in a process of its own, starts two app processes
(`python -m app.cli serve`) on a fresh PostgreSQL database with one secret key, signs in 200 viewers (half on
each process), and lets each of them browse: the dashboard, the guest list (pages, searches), a guest's page,
the audit log and the approvals, with a pause of `--think` seconds between clicks, as people do. The first
`--warmup` seconds are not measured; the next `--duration` seconds are. It reports errors (warm-up included),
latency percentiles, the /cluster/resources requests the fake saw against what the cache TTL allows, and each
process's memory over the first and the last 20 s of the measured window (the mean, and the lowest sample: the
memory trimmer returns what each cluster view freed every 2 s, so the lowest is what the process holds).
`--mix write` makes half the crowd write (bench/write_mix.py): operators acting and asking, approvers deciding,
agents polling requests; its target is p99 at most 1 s with no errors.

    .venv/bin/python bench/load.py [--users 200] [--warmup 60] [--duration 60] [--think 2-5] [--guests 10000]
        [--mix read|write] [--database postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.config import load_settings  # noqa: E402
from app.demo.seed import seed_cluster  # noqa: E402
from app.services.accounts.cli import add_token, add_user  # noqa: E402
from bench import write_mix  # noqa: E402
from bench.guests_page import BENCH_ACCOUNT, BENCH_KEY, SEARCHES, App  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402
from tests.factories import csrf_from  # noqa: E402
from tests.fakepve_thread import ServedFake  # noqa: E402

PASSWORD = "a long load-test password"  # noqa: S105 (the bench's own throwaway accounts)
TARGET_P99_MS = {"read": 500, "write": 1000}
WINDOW = 20.0  # seconds compared at the start and the end for memory growth
SAMPLE_EVERY = 1.0  # seconds between memory samples
TRACE_EVERY = 5.0  # seconds between the memory values printed


@dataclass
class Load:
    """What the crowd saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refused: int = 0

    def add(self, page: str, seconds: float) -> None:
        """Record one answer's latency under its page's name."""
        self.latencies.setdefault(page, []).append(seconds)

    def all(self) -> list[float]:
        """Every latency."""
        return [s for values in self.latencies.values() for s in values]


def pct(values: list[float], share: float) -> float:
    """The share-quantile in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000


class Database:
    """A fresh PostgreSQL database for the run, dropped afterwards."""

    def __init__(self, server: str) -> None:
        self.name = f"proxgate_load_{uuid.uuid4().hex[:8]}"
        self.admin = make_url(server).set(database="postgres")
        self._run(f'CREATE DATABASE "{self.name}"')
        self.url = self.admin.set(database=self.name).render_as_string(hide_password=False)

    def _run(self, statement: str) -> None:
        engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(statement))
        engine.dispose()

    def drop(self) -> None:
        """Remove the database."""
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def start_apps(served: Any, workdir: Path, args: argparse.Namespace, database: str) -> list[App]:
    """The app processes on the shared PostgreSQL database, with one secret key (sessions work on any)."""
    env = {"DATABASE_URL": database, "PROXGATE_SECRET_KEY": uuid.uuid4().hex * 2}
    return [App(served, workdir / f"app{n}", args.ttl, env, add_user=n == 0) for n in range(args.processes)]


async def sign_in(http: httpx.AsyncClient, name: str) -> None:
    """The sign-in form, as a browser sends it."""
    page = await http.get("/login")
    form = {"username": name, "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": "/"}
    answer = await http.post("/login", data=form)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in of {name} failed: {answer.status_code}")


def visits(vmids: list[int]) -> list[tuple[str, str, dict[str, str]]]:
    """The pages one person opens, in order: (name, path, query)."""
    vmid = random.choice(vmids)  # noqa: S311 (a benchmark's choice, not a secret)
    search = random.choice(SEARCHES)  # noqa: S311
    return [
        ("dashboard", "/", {}),
        ("guests", "/guests", {}),
        ("guests search", "/guests", {"q": search}),
        ("guest page", f"/guests/{vmid}", {}),
        ("audit", "/audit", {}),
        ("approvals", "/approvals", {}),
    ]


async def writer(
    actor: write_mix.Actor,
    vmids: list[int],
    window: tuple[float, float],
    think: tuple[float, float],
    load: Load,
) -> None:
    """One operator, approver or agent of the write mix acting until the time is up (recorded in the window)."""
    record_from, stop_at = window
    await asyncio.sleep(random.uniform(0, think[1]))  # noqa: S311 (people do not start in step)
    while time.monotonic() < stop_at:
        sent, started = time.monotonic(), time.perf_counter()
        try:
            page, answer = await write_mix.step(actor, vmids)
            if write_mix.expected_refusal(page, answer):
                load.refused += 1
            elif answer.status_code >= 400:
                load.errors.append(f"{page}: {answer.status_code} {answer.text[:120]}")
        except httpx.HTTPError as exc:
            page = f"{actor.role} (no answer)"
            load.errors.append(f"{actor.role}: {type(exc).__name__}")
        if sent >= record_from:
            load.add(page, time.perf_counter() - started)
        await asyncio.sleep(random.uniform(*think))  # noqa: S311


async def person(
    http: httpx.AsyncClient,
    vmids: list[int],
    window: tuple[float, float],
    think: tuple[float, float],
    load: Load,
) -> None:
    """One signed-in person clicking through the pages until the time is up; answers are recorded only in the
    measured window (from, until)."""
    record_from, stop_at = window
    await asyncio.sleep(random.uniform(0, think[1]))  # noqa: S311 (people do not start in step)
    while time.monotonic() < stop_at:
        for page, path, query in visits(vmids):
            if time.monotonic() >= stop_at:
                return
            sent, started = time.monotonic(), time.perf_counter()
            try:
                answer = await http.get(path, params=query)
                if answer.status_code != 200:
                    load.errors.append(f"{path}: {answer.status_code}")
            except httpx.HTTPError as exc:
                load.errors.append(f"{path}: {type(exc).__name__}")
            if sent >= record_from:
                load.add(page, time.perf_counter() - started)
            await asyncio.sleep(random.uniform(*think))  # noqa: S311


async def memory_samples(
    apps: list[App], window: tuple[float, float], every: float = SAMPLE_EVERY
) -> list[tuple[float, list[float]]]:
    """(seconds since the window opened, RSS MiB of each app) every few seconds of the measured window."""
    samples: list[tuple[float, list[float]]] = []
    started, stop_at = window
    await asyncio.sleep(max(0.0, started - time.monotonic()))
    while time.monotonic() < stop_at:
        samples.append((time.monotonic() - started, [app.rss_mb() for app in apps]))
        await asyncio.sleep(every)
    return samples


def name_of(n: int, args: argparse.Namespace) -> str:
    """Person n's account: a viewer in the read mix, the write mix's role otherwise."""
    return f"{write_mix.role_of(n) if args.mix == 'write' else 'viewer'}{n}"


async def crowd(
    apps: list[App], users: int, vmids: list[int], args: argparse.Namespace, tokens: dict[int, str]
) -> tuple[Load, list]:
    """Sign everyone in first (a few at a time: passwords are hashed on purpose slowly), half on each app;
    then everyone browses (or writes) at once while memory is sampled."""
    load = Load()
    clients = [httpx.AsyncClient(base_url=apps[n % len(apps)].url, timeout=30) for n in range(users)]
    try:
        for start in range(0, users, 4):
            await asyncio.gather(
                *(
                    sign_in(clients[n], name_of(n, args))
                    for n in range(start, min(users, start + 4))
                    if n not in tokens
                )
            )
        # One visit of every page per process first: the crowd comes to a running app, not a cold one.
        for http in clients[: len(apps)]:
            for _page, path, query in visits(vmids):
                await http.get(path, params=query)
        # The crowd browses for a warm-up first: each process's heap grows to its working size over the first
        # minute of this load (Python's allocator keeps some arenas that short-lived views shared with lasting
        # objects), and stays there; only the window after it is measured.
        opens = time.monotonic() + args.warmup
        window = (opens, opens + args.duration)
        people = []
        for n, http in enumerate(clients):
            role = write_mix.role_of(n) if args.mix == "write" else "viewer"
            if role == "viewer":
                people.append(person(http, vmids, window, args.think_range, load))
                continue
            actor = write_mix.Actor(http, role, token=tokens.get(n, ""))
            await write_mix.prepare(actor)
            people.append(writer(actor, vmids, window, args.write_think_range, load))
        *_, samples = await asyncio.gather(*people, memory_samples(apps, window))
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    return load, samples


def make_users(app: App, users: int, args: argparse.Namespace) -> dict[int, str]:
    """The people (and the agents' tokens, by person), made in this process by the services behind `proxgate
    user add` and `token add` (a process each would take minutes: every one imports the app and hashes a
    password on these two cores)."""
    settings = load_settings(
        database_url=app.env["DATABASE_URL"],
        secret_key=app.env["PROXGATE_SECRET_KEY"],
        data_dir=Path(app.env["PROXGATE_DATA_DIR"]),
        credentials_file=Path(app.env["PROXGATE_CREDENTIALS_FILE"]),
        proxmox_host=app.env["PROXMOX_HOST"],
        proxmox_token_id=app.env["PROXMOX_TOKEN_ID"],
        proxmox_token_secret=app.env["PROXMOX_TOKEN_SECRET"],
        proxmox_tls_fingerprint=app.env["PROXMOX_TLS_FINGERPRINT"],
    )

    tokens: dict[int, str] = {}

    async def add_all() -> None:
        for n in range(users):
            name = name_of(n, args)
            role = {"agent": "operator"}.get(name.rstrip("0123456789"), name.rstrip("0123456789"))
            await add_user(settings, name, role, PASSWORD)
            if name.startswith("agent"):
                tokens[n] = await add_token(settings, f"load-{name}", name, None)

    asyncio.run(add_all())
    return tokens


def resources_requests(pve: DemoPve) -> int:
    """GET /cluster/resources the fake has answered."""
    return sum(1 for m, p, _ in pve.requests if m == "GET" and p.endswith("/cluster/resources"))


def serve_fake(guests: int, folder: Path, pipe: Connection) -> None:
    """The child's life: seed, serve, tell where, then answer 'count' until 'stop'."""
    pve = DemoPve()
    seed_cluster(pve, guests=guests)
    pve.apitokens[BENCH_ACCOUNT] = BENCH_KEY
    pve.max_requests = 10_000_000  # the requests are counted: keep them all
    served = ServedFake(pve, folder)
    pipe.send((served.address, served.fingerprint, sorted(g.vmid for g in [*pve.vms, *pve.cts])))
    while pipe.recv() == "count":
        pipe.send(resources_requests(pve))
    served.stop()


class FakeProcess:
    """The simulated cluster in a process of its own: Proxmox runs elsewhere, not in the crowd's interpreter."""

    def __init__(self, guests: int, folder: Path) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=serve_fake, args=(guests, folder, child), daemon=True
        )
        self._process.start()
        self.address, self.fingerprint, self.vmids = self._pipe.recv()

    def resources_requests(self) -> int:
        """GET /cluster/resources the fake has answered so far."""
        self._pipe.send("count")
        return int(self._pipe.recv())

    def stop(self) -> None:
        """End the fake's process."""
        self._pipe.send("stop")
        self._process.join(30)


def report(load: Load, samples: list, upstream: int, args: argparse.Namespace, processes: int) -> None:
    """The markdown table and the verdicts."""
    every = load.all()
    allowed = processes * ((args.warmup + args.duration) / args.ttl + 2)
    first = [s for t, s in samples if t <= WINDOW]
    last = [s for t, s in samples if t >= args.duration - WINDOW]
    print(
        f"\n`.venv/bin/python bench/load.py --users {args.users} --warmup {args.warmup:g} --duration {args.duration:g} "
        f"--think {args.think} --mix {args.mix}"
        + (f" --write-think {args.write_think}" if args.mix == "write" else "")
        + "`\n"
    )
    print("| measure | result | target |\n|---|---|---|")
    print(f"| answers / errors | {len(every)} / {len(load.errors)} | 0 errors |")
    if args.mix == "write":
        print(f"| refusals a team meets (decided already, guest busy) | {load.refused} | |")
    print(
        f"| all pages p50 / p95 / p99 | {pct(every, 0.5):.0f} / {pct(every, 0.95):.0f} / {pct(every, 0.99):.0f} ms "
        f"| p99 ≤ {TARGET_P99_MS[args.mix]} ms |"
    )
    for page, values in load.latencies.items():
        print(
            f"| {page} p50 / p99 (N={len(values)}) | {pct(values, 0.5):.0f} / {pct(values, 0.99):.0f} ms | |"
        )
    print(
        f"| upstream GET /cluster/resources, warm-up and window | {upstream} "
        f"| ≤ {allowed:.0f} (TTL {args.ttl:g} s, {processes} processes)"
        + (": more with writes, each change drops the view" if args.mix == "write" else "")
        + " |"
    )
    for n in range(processes):
        start, end = statistics.mean(s[n] for s in first), statistics.mean(s[n] for s in last)
        low_start, low_end = min(s[n] for s in first), min(s[n] for s in last)
        print(
            f"| app {n + 1} RSS first / last {WINDOW:.0f} s: mean; lowest | {start:.0f} / {end:.0f} MiB "
            f"({(end - start) / start * 100:+.1f} %); {low_start:.0f} / {low_end:.0f} MiB "
            f"({(low_end - low_start) / low_start * 100:+.1f} %) | no growth |"
        )
    for n in range(processes):
        trace = " ".join(f"{s[n]:.0f}" for _, s in samples[:: max(1, round(TRACE_EVERY / SAMPLE_EVERY))])
        print(f"\napp {n + 1} RSS every {TRACE_EVERY:g} s (MiB): {trace}")
    if load.errors:
        print("\nfirst errors:", load.errors[:10])


def machine_speed() -> float:
    """Seconds this interpreter takes for ten million additions: how fast the host lets these two cores run
    at the time (a shared host gives them at very different speeds from one hour to the next)."""
    started, total = time.perf_counter(), 0
    for n in range(10_000_000):
        total += n
    return time.perf_counter() - started


def main() -> None:
    """Seed, start, browse, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds the crowd browses before")
    parser.add_argument("--think", default="2-5", help="seconds between clicks, as LOW-HIGH")
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--ttl", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--mix", choices=("read", "write"), default="read")
    parser.add_argument("--write-think", default="10-30", help="seconds between a writer's steps, LOW-HIGH")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    low, _, high = args.think.partition("-")
    args.think_range = (float(low), float(high or low))
    low, _, high = args.write_think.partition("-")
    args.write_think_range = (float(low), float(high or low))
    database = Database(args.database)
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeProcess(args.guests, Path(tmp))
        apps: list[App] = []
        try:
            apps = start_apps(fake, Path(tmp), args, database.url)
            tokens = make_users(apps[0], args.users, args)
            before, speed = fake.resources_requests(), machine_speed()
            load, samples = asyncio.run(crowd(apps, args.users, fake.vmids, args, tokens))
            report(load, samples, fake.resources_requests() - before, args, len(apps))
            print(
                f"\nmachine speed, 10 million additions: {speed:.2f} s before, {machine_speed():.2f} s after"
            )
        finally:
            for app in apps:
                app.stop()
            fake.stop()
            database.drop()


if __name__ == "__main__":
    main()
