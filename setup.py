"""Build hook: the wheel carries templates/, static/ and migrations/ inside the `app` package.

Everything else about the package is in pyproject.toml. The folders stay at the top of the repository, where
alembic.ini and people look for them; MANIFEST.in puts them in the sdist, so a wheel built from the sdist has
them too. An editable install needs no copy: app/paths.py finds them in the source tree.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# app/paths.py looks for these beside its own file first.
RESOURCES = ("templates", "static", "migrations")


class BuildPyWithResources(build_py):
    """build_py that also copies the resource folders into app/ of the build."""

    def run(self) -> None:
        """Build the packages, then the resources."""
        super().run()
        if self.editable_mode:
            return  # an editable install reads them from the source tree
        for source in resource_files():
            target = Path(self.build_lib, "app", source)
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target))


def resource_files() -> list[Path]:
    """Every file of the resource folders, relative to the project (bytecode left out)."""
    return [
        path
        for name in RESOURCES
        for path in sorted(Path(name).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


setup(cmdclass={"build_py": BuildPyWithResources})
