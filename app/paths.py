"""Where the non-Python parts live: templates/, static/ and migrations/.

The repository keeps them at its top; setup.py copies them into the wheel's app/ package, so an installed copy
finds them beside this file and runs from any directory, and a source checkout (or editable install) finds
them at the top of the tree.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SOURCE_TREE = PACKAGE.parent


def resource_dir(name: str) -> Path:
    """The folder `name` inside the installed package, else at the top of the source tree."""
    installed = PACKAGE / name
    if installed.is_dir():
        return installed
    # Only a real source tree: an installed package's parent is site-packages, where another distribution may
    # have left a folder of the same name.
    if (SOURCE_TREE / "pyproject.toml").is_file() and (SOURCE_TREE / name).is_dir():
        return SOURCE_TREE / name
    raise FileNotFoundError(
        f"cannot find the {name}/ folder in {PACKAGE} or {SOURCE_TREE}; reinstall Proxgate "
        "(pip install . in its source directory, or its wheel)"
    )
