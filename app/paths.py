"""Where the non-Python parts live: templates/, static/ and migrations/ beside the package."""

from __future__ import annotations

from pathlib import Path


def resource_dir(name: str) -> Path:
    """The folder `name` next to the source tree, else in the working directory (installed copies)."""
    for base in (Path(__file__).resolve().parents[1], Path.cwd()):
        candidate = base / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder; run Proxgate from its source directory")
