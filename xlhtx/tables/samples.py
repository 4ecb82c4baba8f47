"""The built-in sample book: what the demo and the template workbook start from."""

from __future__ import annotations

import csv
import io
from importlib import resources

NUMERIC = {"leverage", "contracts", "entry_price", "mark_price", "margin"}


def sample_csv() -> str:
    """The sample book as CSV text (``xlhtx/data/sample_positions.csv``)."""
    return resources.files("xlhtx").joinpath("data/sample_positions.csv").read_text("utf-8")


def sample_positions() -> dict[str, list]:
    """The sample book as columns (numbers as floats, empty cells as ``None``)."""
    rows = list(csv.DictReader(io.StringIO(sample_csv())))
    return {k: [(float(r[k]) if r[k] else None) if k in NUMERIC else r[k] for r in rows]
            for k in rows[0]}
