"""Where tier and contract tables come from: the bundled snapshot, a tier file written by
``xlhtx tiers fetch``, and a contracts table (CSV, XLSX or Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

from xlhtx.errors import XlhtxError
from xlhtx.reference.contracts import parse_contract_rows
from xlhtx.reference.snapshot import load_snapshot_json, snapshot
from xlhtx.reference.tiers import TierTable


def load_tiers(path: str | None = None, contracts: str | None = None) -> TierTable:
    """The tier table of a tier file (default: the bundled snapshot), with the contracts
    of a contracts table added (``contract_code, contract_size[, kind]``)."""
    table = snapshot()
    if path:
        try:
            doc = json.loads(Path(path).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise XlhtxError(f"{path}: cannot read the tier file: {e}") from None
        if not isinstance(doc, dict):
            raise XlhtxError(f"{path}: a tier file is a JSON object with an 'adjustfactor' "
                             "entry (what `xlhtx tiers fetch` writes)")
        table = load_snapshot_json(doc)
    if contracts:
        table = table.with_contracts(load_contracts(contracts))
    return table


def load_contracts(path: str) -> dict:
    """A contracts table file -> contracts by code."""
    from xlhtx.tableio import read_table
    rows = read_table(path)
    return parse_contract_rows([rows.column_names, *zip(*(
        rows.column(c).to_pylist() for c in rows.column_names))])
