"""The operations table of the README, written from the catalogue: `make docs` rewrites it in place, and
tests/operations/test_reference.py fails while it differs from what the catalogue says."""

from __future__ import annotations

import sys
from pathlib import Path

from app.operations.catalogue import CATALOGUE

BEGIN = "<!-- operations: written from app/operations/catalogue.py by `make docs`; do not edit by hand -->"
END = "<!-- end of operations -->"
HEADER = ("operation", "label", "risk", "acts on", "what it does, and when it is refused")


def operations_table() -> str:
    """Every operation as a Markdown table, in catalogue order."""
    rows = [HEADER, ("---",) * len(HEADER)]
    rows += [(f"`{op.name}`", op.label, op.risk.value, op.target, op.about) for op in CATALOGUE.values()]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)


def with_table(text: str) -> str:
    """The document with the text between its markers replaced by the current table."""
    head, found, rest = text.partition(BEGIN)
    if not found or END not in rest:
        raise ValueError(f"the document has no {BEGIN!r} ... {END!r} block")
    return f"{head}{BEGIN}\n{operations_table()}\n{END}{rest.split(END, 1)[1]}"


def main(paths: list[str]) -> None:
    """Rewrite the table in each file named."""
    for name in paths:
        path = Path(name)
        path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
