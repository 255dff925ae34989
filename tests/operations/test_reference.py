"""The README's table of operations is the catalogue's: names, labels, risk classes and what each does."""

from __future__ import annotations

import re
from pathlib import Path

from app.operations.catalogue import CATALOGUE
from app.operations.reference import BEGIN, END, operations_table, with_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "the README's table of operations is out of date: run `make docs`"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in block.strip().splitlines()[2:]]
    listed = [(name.strip().strip("`"), label.strip(), risk.strip()) for name, label, risk, *_ in rows]
    assert listed == [(op.name, op.label, op.risk.value) for op in CATALOGUE.values()]


def test_every_operation_says_what_it_does() -> None:
    assert [op.name for op in CATALOGUE.values() if not op.about.strip()] == []
    assert operations_table().count("\n") == len(CATALOGUE) + 1
