"""The running app anchors its audit chain: checkpoints in a folder beside the data dir, in the log, in /metrics."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.migrate import upgrade_database
from app.services.audit.checkpoint import checkpoint_files
from app.services.audit.signed import parse_line
from tests.conftest import app_settings
from tests.factories import make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


def newest_seq(settings: Settings) -> int:
    """The sequence number of the last checkpoint line written."""
    files = checkpoint_files(settings.resolved_checkpoint_dir())
    last = files[-1].read_text().splitlines()[-1] if files else ""
    checkpoint = parse_line(last, "")
    return checkpoint.seq if checkpoint else -1


def test_the_app_writes_checkpoints_outside_the_data_dir_and_says_so(
    served_fake: ServedFake, empty_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services.audit.checkpoint")
    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path / "data", audit_checkpoint_seconds=0.3)
    folder = settings.resolved_checkpoint_dir()
    assert folder == tmp_path / "data-audit-checkpoints"
    server = AppServer(settings)
    try:
        admin = make_user(settings, "admin")  # an account change: one audited event, #1
        deadline = time.monotonic() + 10
        while newest_seq(settings) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert newest_seq(settings) >= 1
        # The command line wrote that checkpoint; the app shows the one it writes itself at its next period.
        with signed_in(server.url, admin) as http:
            while head_seq_metric(http) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert head_seq_metric(http) >= 1
    finally:
        server.stop()
    assert not folder.is_relative_to(settings.data_dir) and any(folder.iterdir())
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit checkpoint {")]
    assert logged and '"mac":' in logged[-1]


def head_seq_metric(http: httpx.Client) -> float:
    """proxgate_audit_head_seq as the app's /metrics shows it."""
    lines = http.get("/metrics").text.splitlines()
    return float(next(line for line in lines if line.startswith("proxgate_audit_head_seq ")).split()[1])


def test_the_verify_page_names_a_cut_tail(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine, text

    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path / "data")
    admin = make_user(settings, "admin")
    for _ in range(3):
        make_user(settings, "viewer")  # each an audited account change, and a checkpoint after it
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 2"))
        conn.execute(
            text("UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_events WHERE seq = 2)")
        )
    engine.dispose()
    server = AppServer(settings)
    try:
        with signed_in(server.url, admin) as http:
            page = http.get("/audit/verify").text
    finally:
        server.stop()
    assert "<strong>Broken (truncated) at event #3:</strong> the newest events are gone" in page
    assert "but the checkpoint of" in page and "recorded #4; its head was rewound to match" in page
