"""The Dockerfile and compose.yaml keep their basics (no Docker engine here to build them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_runs_as_non_root_with_data_volume_and_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER proxgate$", text, re.M)
    # The audit checkpoints live in a volume of their own, outside the data (and database) volume.
    assert 'VOLUME ["/data", "/audit-checkpoints"]' in text
    assert "PROXGATE_AUDIT_CHECKPOINT_DIR=/audit-checkpoints" in text
    assert "EXPOSE 8080" in text
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    cmd = re.search(r"^CMD (.*)$", text, re.M)
    assert cmd and cmd.group(1).index("proxgate migrate") < cmd.group(1).index("proxgate serve")
    # The image installs the package the same way the README and CI do.
    assert "pip install '.[demo]'" in text


def test_dockerfile_copies_what_the_package_is_built_from() -> None:
    text = (ROOT / "Dockerfile").read_text()
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = [pattern.removesuffix("*") for pattern in found["include"]]
    # Every package the wheel holds, and the folders setup.py copies into it.
    for folder in (*packages, "templates", "static", "migrations"):
        assert re.search(rf"^COPY {folder} ", text, re.M), folder
    files = re.search(r"^COPY (.*) \./$", text, re.M)
    assert files, "one COPY of the build's files"
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        assert name in files.group(1).split(), name


def test_compose_has_app_with_volume_env_file_and_demo_profile() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app = compose["services"]["proxgate"]
    assert "127.0.0.1:8080:8080" in app["ports"]
    assert any(str(v).endswith(":/data") for v in app["volumes"])
    assert any(str(v).endswith(":/audit-checkpoints") for v in app["volumes"])
    assert app["env_file"]
    demo = compose["services"]["demo"]
    assert demo["profiles"] == ["demo"]
    assert demo["command"][:2] == ["proxgate", "demo"]
    assert "proxgate-data" in compose["volumes"]


def test_vendored_htmx_matches_its_recorded_sha256() -> None:
    import hashlib

    vendor = ROOT / "static" / "vendor"
    for line in (vendor / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name


def test_templates_load_nothing_from_a_cdn() -> None:
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("static/**/*.css")]:
        # SVG's namespace inside data: images (Swagger UI's icons) names no place to load from.
        text = path.read_text().replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"https?://", text), path
