"""The reference sheets (Tiers, Contracts, MarginLadders) and xlwings.conf."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_col_to_name

from xlhtx.reference.tiers import TierTable
from xlhtx.xlsx.template.common import Book, HEAD, widths


TIER_SLACK = 50


def contract_rows(table: TierTable) -> list[list[Any]]:
    out: list[list[Any]] = [["contract_code", "kind", "contract_size"]]
    for code in table.codes:
        c = table.contracts[code]
        out.append([c.code, c.kind, c.size])
    return out


def tier_tables(table: TierTable) -> list[tuple[str, list[list[Any]]]]:
    """The Tiers sheet's Tables: adjustment-factor ladders, and risk-limit tiers with
    HTX's column names beside them."""
    return [("Tiers", table.to_rows(risk_limit=False)), ("RiskLimits", table.risk_rows())]


def table_spans(blocks: list[tuple[str, list[list[Any]]]]) -> list[tuple[int, int]]:
    """``(first column, width)`` of each table laid side by side, one empty column between
    them (0-based columns)."""
    out, col = [], 0
    for _, rows in blocks:
        out.append((col, len(rows[0])))
        col += len(rows[0]) + 1
    return out


def tier_block(blocks: list[tuple[str, list[list[Any]]]]) -> str:
    """The absolute range the ``TierTables`` name covers: every table of the sheet and
    ``TIER_SLACK`` rows below the longest for rows a user adds."""
    first, width = table_spans(blocks)[-1]
    last_row = max(len(rows) for _, rows in blocks) + TIER_SLACK
    return f"$A$1:${xl_col_to_name(first + width - 1)}${last_row}"


def reference_sheet(b: Book, ws, blocks: list[tuple[str, list[list[Any]]]],
                    table: TierTable) -> str:
    """Reference Tables side by side with their source to the right; returns the range
    over them (``tier_block``)."""
    spans = table_spans(blocks)
    for (name, rows), (first, width) in zip(blocks, spans):
        body = [list(r) for r in rows[1:]] or [[None] * width]
        ws.add_table(0, first, len(body), first + width - 1, {
            "name": name, "style": "Table Style Light 9",
            "columns": [{"header": str(h), "header_format": b.fmt(HEAD)} for h in rows[0]],
            "data": body})
        for j, h in enumerate(rows[0]):
            letter = xl_col_to_name(first + j)
            ws.set_column(f"{letter}:{letter}", max(12.0, len(str(h)) + 4))
    ws.freeze_panes("A2")
    first, width = spans[-1]
    note = xl_col_to_name(first + width + 1)
    for r, text in enumerate(reference_notes(table), start=1):
        ws.write_string(f"{note}{r}", text, b.fmt(bold=True) if r == 1 else None)
    ws.set_column(f"{note}:{note}", 60)
    return tier_block(blocks)


def reference_notes(table: TierTable) -> list[str]:
    """The source lines written beside a reference sheet's tables."""
    return ["Source", table.source, f"As of {table.as_of}",
            "Replace with: xlhtx tiers fetch --workbook <this file>"]


def xlwings_conf(b: Book, ws) -> None:
    """xlwings' workbook settings: only rows with a value (an empty Interpreter_Win row
    would override the interpreter the user set in the xlwings add-in)."""
    for r, row in enumerate((("UDF Modules", "xlhtx.excel.udfs"), ("Use UDF Server", "True"),
                             ("Show Console", "False"))):
        ws.write_string(r, 0, row[0])
        ws.write_string(r, 1, row[1])
    widths(ws, {"A": 20, "B": 30})
