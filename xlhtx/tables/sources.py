"""Where tier and contract tables come from: the bundled snapshot, a tier file written by
``xlhtx tiers fetch`` (JSON), a tier table (CSV, XLSX or Parquet with the Tiers sheet's
columns, or Multi-Assets rows), or a workbook with Tiers / Contracts / MarginLadders
tables (the template's own). Column names forgive case, spaces and dashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlhtx.errors import XlhtxError
from xlhtx.files import JsonError, parse_json, read_from
from xlhtx.reference.contracts import Contract, parse_contract_rows
from xlhtx.reference.ladder_margin import MarginLadders
from xlhtx.reference.snapshot import load_snapshot_json, snapshot, snapshot_name
from xlhtx.reference.tiers import TierTable, side_by_side

TABLE_FORMATS = (".csv", ".parquet")
WORKBOOK_FORMATS = (".xlsx", ".xlsm")


def load_tiers(path: Any = None, contracts: Any = None) -> TierTable:
    """The tier table of ``path`` (default: the bundled snapshot; ``today`` or ``legacy``
    name a bundled one), with the contracts of a contracts table added
    (``contract_code, contract_size[, kind]``)."""
    table = snapshot()
    if snapshot_name(str(path or "")) and not Path(str(path)).exists():
        table = snapshot(str(path))
    elif path:
        ext = Path(path).suffix.lower()
        read_from(path)
        if ext == ".json":
            table = _tier_file(Path(path))
        elif ext in TABLE_FORMATS:
            table = TierTable.from_rows(table_rows(path), snapshot().contracts,
                                        source=str(path))
        elif ext in WORKBOOK_FORMATS:
            table = workbook_tiers(Path(path))
        else:
            raise XlhtxError(f"{path}: unknown tier source {ext or '(no extension)'}; use a "
                             "tier file (.json from `xlhtx tiers fetch`), a tier table "
                             "(.csv, .parquet) or a workbook (.xlsx, .xlsm)")
    if contracts:
        table = table.with_contracts(load_contracts(contracts))
    return table


def _tier_file(path: Path) -> TierTable:
    try:
        doc = parse_json(path.read_bytes(), "the tier file")
    except (OSError, JsonError) as e:
        raise XlhtxError(f"{path}: cannot read the tier file: "
                         f"{getattr(e, 'strerror', None) or e}") from None
    if isinstance(doc, dict) and ("adjustfactor" in doc or "risk_limit" in doc):
        return load_snapshot_json(doc)
    if isinstance(doc, (dict, list)):
        # a bare HTX response: /v5/market/risk/limit or swap_adjustfactor
        data = doc.get("data") if isinstance(doc, dict) else doc
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        if "maintenance_margin_rate" in first or "max_lever" in first:
            return TierTable.from_api(None, contracts=snapshot().contracts, risk_limit=doc,
                                      source=str(path))
        if "list" in first:
            return TierTable.from_api(doc, contracts=snapshot().contracts, source=str(path))
    raise XlhtxError(f"{path}: a tier file is a JSON object with 'adjustfactor' and/or "
                     "'risk_limit' entries (what `xlhtx tiers fetch` writes), or HTX's own "
                     "/v5/market/risk/limit or swap_adjustfactor response")


def table_rows(path: Any) -> list[list]:
    """A CSV/Parquet/XLSX table as a header row plus rows."""
    from xlhtx.tables.formats import read_table
    t = read_table(path)
    return [t.column_names, *map(list, zip(*(t.column(c).to_pylist() for c in t.column_names)))]


def load_contracts(path: Any) -> dict[str, Contract]:
    """A contracts table file -> contracts by code."""
    return parse_contract_rows(table_rows(path))


def workbook_tiers(path: Path) -> TierTable:
    """The Tiers and RiskLimits tables of a workbook (Excel Tables, or a sheet named Tiers;
    else the first sheet), with its Contracts and MarginLadders tables when it has them."""
    from xlhtx.xlsx.workbook_io import open_workbook
    wb = open_workbook(path, data_only=True)
    try:
        tiers = [rows for rows in (_named_rows(wb, "Tiers", tables_only=True),
                                   _named_rows(wb, "RiskLimits", tables_only=True))
                 if rows is not None]
        if not tiers:
            sheet = _named_rows(wb, "Tiers")
            sheet = sheet if sheet is not None else \
                [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
            tiers = side_by_side(sheet)
        contracts = _named_rows(wb, "Contracts")
        ladders = _named_rows(wb, "MarginLadders")
    finally:
        wb.close()
    known = dict(snapshot().contracts)
    if contracts is not None:
        known.update(parse_contract_rows(contracts))
    table = TierTable.from_tables(tiers, known, source=f"{path.name}: Tiers")
    if ladders is not None:
        table.ladder_margin = MarginLadders.from_rows(ladders)
    return table


def _named_rows(wb: Any, name: str, tables_only: bool = False) -> list[list] | None:
    """The rows of the Excel Table ``name`` (or of the sheet ``name``), or None."""
    for ws in wb.worksheets:
        for tname, ref in getattr(ws, "tables", {}).items():
            if tname.lower() == name.lower():
                ref = ref if isinstance(ref, str) else ref.ref
                return [[c.value for c in row] for row in ws[ref]]
    if tables_only:
        return None
    for ws in wb.worksheets:
        if ws.title.lower() == name.lower():
            return [list(r) for r in ws.iter_rows(values_only=True)]
    return None
