"""The process's one runtime object: its settings, the cluster, the database and the services that use them.

create_app() builds it from the settings; the lifespan opens it (database, the cluster's client and views, the
pipeline, the background loops) and closes it. Routes get its parts from typed dependencies (app/deps.py), the
only place that reads it off the app.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from anyio import to_thread
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.templating import Jinja2Templates

from app.config import Settings
from app.db.engine import create_engine, session_factory
from app.db.files import open_to_others
from app.db.migrate import upgrade_database
from app.metrics import Metrics
from app.proxmox.errors import PveError
from app.services.accounts import LdapConfig, LdapDirectory, OidcClient, Policy, Sealer, SsoConfig
from app.services.approvals import ApprovalPolicy, ApprovalService
from app.services.audit import binding as audit_binding
from app.services.audit import keep_checkpoints, stop_checkpoints
from app.services.batches import BatchService
from app.services.cluster import Cluster, PveConnection, pve_connection
from app.services.ips import AddressProbe, IpStore, parse_checks
from app.services.notifications import Notifier
from app.services.pipeline import ActionService, Gate, TaskWatcher
from app.services.runtime import BatchResumer, Housekeeper, MemoryTrimmer, WindowRunner
from app.services.sidedoors import ConfigWatch, Recorder, SideDoors, TaskObserver

log = logging.getLogger(__name__)


def auth_policy(settings: Settings) -> Policy:
    """Session lifetime and sign-in throttling from the settings."""
    return Policy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        max_age=timedelta(hours=settings.session_max_hours),
        max_failures=settings.login_max_failures,
        ip_max_failures=settings.login_ip_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
    )


@dataclass
class Runtime:
    """What one process serves with; the fields after `connection` exist once open() has run."""

    settings: Settings
    secret_key: str
    auth_policy: Policy
    approval_policy: ApprovalPolicy
    templates: Jinja2Templates
    metrics: Metrics
    connection: PveConnection
    # Single sign-on's provider (None: local accounts only) and the key its refresh tokens are kept under.
    oidc: OidcClient | None
    sso_sealer: Sealer
    # The LDAP directory the sign-in form also asks (None: local accounts only).
    ldap: LdapDirectory | None
    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    cluster: Cluster = field(init=False)
    watcher: TaskWatcher = field(init=False)
    actions: ActionService = field(init=False)
    notifier: Notifier = field(init=False)
    approvals: ApprovalService = field(init=False)
    gate: Gate = field(init=False)
    batches: BatchService = field(init=False)
    housekeeper: Housekeeper = field(init=False)
    window_runner: WindowRunner = field(init=False)
    batch_resumer: BatchResumer = field(init=False)
    memory_trimmer: MemoryTrimmer = field(init=False)
    observer: TaskObserver = field(init=False)
    side_doors: SideDoors = field(init=False)
    config_watch: ConfigWatch = field(init=False)
    checkpoints: asyncio.Task[None] = field(init=False)

    @classmethod
    def configure(cls, settings: Settings, templates: Jinja2Templates) -> Runtime:
        """Everything that follows from the settings alone (refuses a broken Proxmox configuration)."""
        return cls(
            settings=settings,
            secret_key=settings.resolved_secret_key(),
            auth_policy=auth_policy(settings),
            approval_policy=ApprovalPolicy.from_settings(settings),
            templates=templates,
            metrics=Metrics(),
            connection=pve_connection(settings),
            oidc=OidcClient(config) if (config := SsoConfig.from_settings(settings)) else None,
            sso_sealer=Sealer(settings.resolved_secret_key()),
            ldap=LdapDirectory(directory) if (directory := LdapConfig.from_settings(settings)) else None,
        )

    async def open(self) -> None:
        """Migrate, open the database and the cluster, wire the services and start the background loops."""
        settings = self.settings
        url = settings.resolved_database_url
        await to_thread.run_sync(upgrade_database, url)
        for line in await to_thread.run_sync(open_to_others, settings.data_dir, url):
            log.warning("%s", line)
        self.engine = create_engine(url, settings.db_pool_size, settings.db_pool_overflow)
        self.sessions = session_factory(self.engine)
        self.checkpoints = self._start_audit_chain()
        ip_store = IpStore(self.sessions)
        probe = AddressProbe(parse_checks(settings.ip_probe))
        self.cluster = Cluster.open(self.connection, self.metrics, ip_store, settings.ips_wait, probe)
        # Configs read anyway (pages, the IP index, plans) tell of changes made beside Proxgate.
        self.config_watch = ConfigWatch(self.sessions, self.secret_key)
        self.cluster.ips.config_notes.note = self.config_watch.seen_many
        self.cluster.ips.load_later()
        self.watcher = TaskWatcher(self.cluster.client, self.sessions)
        # How long a call to Proxmox may be waiting before others may assume its process died (its row is then
        # reconciled): connect, send and read each have the timeout, plus a margin.
        lease = timedelta(seconds=3 * settings.proxmox_timeout + 5)
        self.actions = ActionService(
            self.cluster.client,
            self.sessions,
            self.watcher.owner,
            lease,
            addresses=self.cluster.ips,
            staging=settings.data_dir / "uploads",
            note_config=self.config_watch.seen,
        )
        self.notifier = Notifier(self.sessions, settings)
        self.approvals = ApprovalService(self.sessions, self.approval_policy, self.notifier)
        self.gate = Gate(self.actions, self.approvals, self.approval_policy, self.sessions)
        batch_lease = timedelta(seconds=settings.batch_lease_seconds)
        self.batches = BatchService(
            self.actions,
            self.sessions,
            settings.bulk_concurrency,
            self.approvals,
            self.approval_policy,
            lease=batch_lease,
        )
        # An approved bulk request runs as its batch (the pipeline knows nothing of batches).
        self.gate.run_batch = self.batches.run_approved
        self.housekeeper = Housekeeper(self.approvals, self.actions.staging)
        self.window_runner = WindowRunner(self.gate)
        self.batch_resumer = BatchResumer(self.batches)
        self.memory_trimmer = MemoryTrimmer()
        recorder = Recorder(self.sessions, self.notifier, settings.public_url or "")
        self.observer = TaskObserver(
            self.cluster.client, self.sessions, recorder, settings.observe_interval_seconds
        )
        self.side_doors = SideDoors(self.cluster.client)
        loops = (
            self.watcher,
            self.notifier,
            self.housekeeper,
            self.window_runner,
            self.batch_resumer,
            self.memory_trimmer,
        )
        for loop in loops:
            loop.start()
        if settings.observe_interval_seconds:
            self.observer.start()
        # Everything made at start-up lives as long as the app: keep it out of every later full collection,
        # which otherwise walks ~100,000 long-lived objects each time the cluster view is refreshed.
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        """Stop the loops, then the cluster's views and client, the checkpoints and the database."""
        stopping = (
            self.observer,
            self.memory_trimmer,
            self.batch_resumer,
            self.window_runner,
            self.housekeeper,
            self.notifier,
            self.watcher,
        )
        for loop in stopping:
            await loop.stop()
        await self.batches.close()
        await self.cluster.aclose()
        await stop_checkpoints(self.checkpoints, self.sessions)
        await self.engine.dispose()

    async def readiness(self) -> dict[str, str]:
        """'ok', or what failed, for the database and for Proxmox (/readyz)."""
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 (any failure means not ready; the text says which)
            checks["database"] = f"error: {exc.__class__.__name__}: {exc}"
        try:
            await self.cluster.client.version()
            checks["proxmox"] = "ok"
        except PveError as exc:
            checks["proxmox"] = f"error: {exc}"
        return checks

    def _start_audit_chain(self) -> asyncio.Task[None]:
        """Key the engine's audit chain from the settings and start writing checkpoints of it."""
        settings = self.settings
        audit_binding.configure(self.engine, settings, on_checkpoint=self.metrics.audit_checkpointed)
        if settings.secret_key is None and not settings.demo:
            log.warning(
                "PROXGATE_SECRET_KEY is not set: the audit key comes from %s, beside the database; whoever can "
                "read that folder can reseal the audit chain. Set PROXGATE_SECRET_KEY from a secret store.",
                settings.data_dir / "secret_key",
            )
        interval = settings.audit_checkpoint_seconds
        return asyncio.create_task(keep_checkpoints(self.sessions, interval), name="audit-checkpoints")
