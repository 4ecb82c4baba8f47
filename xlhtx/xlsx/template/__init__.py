"""The template workbook (docs/workbook.md): a macro-enabled workbook wired for xlwings, built
deterministically from the tier tables and the sample book.

Written with XlsxWriter, which writes what Excel itself writes (its test suite compares
its files with Excel's part by part): Tables with calculated columns, validations with
their messages, dynamic-array formulas for spills (no implicit ``@`` in Excel 365),
charts, and a VBA project with a code name for every sheet. The VBA project is
xlwings' own standalone module, taken from the installed xlwings package at build time
(``quickstart_standalone.xlsm``); the ``xlwings.conf`` sheet names ``xlhtx.excel.udfs`` as the
UDF module. Sheets: Guide, Positions, Ladder, Scenario, Accounts, Liquidation map,
Tiers, Contracts, MarginLadders, xlwings.conf: one module each in this package, their
shared formats and helpers in ``common``.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import xlsxwriter

from xlhtx.errors import XlhtxError
from xlhtx.files import atomic_write, check_output
from xlhtx.reference.snapshot import snapshot
from xlhtx.reference.tiers import TierTable
from xlhtx.tables.samples import sample_positions
from xlhtx.version import __version__
from xlhtx.xlsx.compat import CachedFormulaWorksheet, check as check_libraries
from xlhtx.xlsx.template.accounts import ACCOUNT_BALANCE, ACCOUNT_LEGS, accounts_sheet
from xlhtx.xlsx.template.common import (TIER_SET, TIERS, Book, fit_to_page, fit_to_width,
                                        vba_project)
from xlhtx.xlsx.template.guide import guide
from xlhtx.xlsx.template.ladder import ladder_sheet
from xlhtx.xlsx.template.liqmap import liqmap_sheet
from xlhtx.xlsx.template.positions import INPUTS, POSITION_COLUMNS, SAMPLE_KEYS, position_sheet
from xlhtx.xlsx.template.reference import (contract_rows, reference_notes, reference_sheet,
                                           table_spans, tier_block, tier_tables, xlwings_conf)
from xlhtx.xlsx.template.scenario import scenario_sheet

# one module per sheet; what other modules and the tests read from the template is here
__all__ = ["build", "SHEETS", "ACCOUNT_BALANCE", "ACCOUNT_LEGS", "INPUTS", "POSITION_COLUMNS",
           "SAMPLE_KEYS", "TIER_SET", "TIERS", "contract_rows", "reference_notes",
           "table_spans", "tier_block", "tier_tables"]
SHEETS = ("Guide", "Positions", "Ladder", "Scenario", "Accounts", "Liquidation map", "Tiers",
          "Contracts", "MarginLadders", "xlwings.conf")


def build(out: str | Path, table: TierTable | None = None,
          positions: dict[str, list] | None = None, n_rows: int | None = None,
          for_values: bool = False) -> Path:
    """Build the template at ``out`` (``.xlsm``), its formulas without cached values
    (``xlhtx.excel.headless.build_template`` computes them). ``n_rows`` repeats the sample book
    to that many Positions rows (for benchmarks). ``for_values``: the ``.xlsx`` a values
    copy is made from — no VBA project, no xlwings.conf sheet, a Guide for a file whose
    cells hold values."""
    table = table or snapshot()
    positions = positions or sample_positions()
    stamp = dt.datetime.strptime(table.as_of[:10], "%Y-%m-%d") if table.as_of else \
        dt.datetime(2026, 1, 1)
    out = Path(out)
    check_output(out)
    if out.suffix.lower() != (".xlsx" if for_values else ".xlsm"):
        raise XlhtxError(f"{out}: the template carries the xlwings macros; name it .xlsm"
                         if not for_values else f"{out}: a values copy is an .xlsx")
    atomic_write(out, lambda dst: _write(dst, table, positions, n_rows, stamp, for_values))
    return out


def _write(dst: Path, table: TierTable, positions: dict[str, list], n_rows: int | None,
           stamp: dt.datetime, for_values: bool = False) -> None:
    check_libraries()
    wb = xlsxwriter.Workbook(str(dst), {"strings_to_numbers": False,
                                        "strings_to_formulas": False,
                                        "strings_to_urls": False})
    b = Book(wb)
    # fixed metadata and XlsxWriter's fixed zip times: the same build gives the same bytes
    wb.set_properties({"author": f"xlhtx {__version__}", "created": stamp})
    if not for_values:
        wb.add_vba_project(io.BytesIO(vba_project()), is_stream=True)
        wb.set_vba_name("ThisWorkbook")
    names = SHEETS[:-1] if for_values else SHEETS
    sheets = {name: wb.add_worksheet(name, worksheet_class=CachedFormulaWorksheet)
              for name in names}
    guide(b, sheets["Guide"], table, for_values)
    position_sheet(b, sheets["Positions"], positions, n_rows)
    ladder_sheet(b, sheets["Ladder"])
    scenario_sheet(b, sheets["Scenario"])
    accounts_sheet(b, sheets["Accounts"])
    liqmap_sheet(b, sheets["Liquidation map"])
    tier_block = reference_sheet(b, sheets["Tiers"], tier_tables(table), table)
    wb.define_name(TIERS, f"=Tiers!{tier_block}")
    reference_sheet(b, sheets["Contracts"], [("Contracts", contract_rows(table))], table)
    ladders = table.ladder_margin or snapshot().ladder_margin
    reference_sheet(b, sheets["MarginLadders"], [("MarginLadders", ladders.to_rows())], table)
    if not for_values:
        xlwings_conf(b, sheets["xlwings.conf"])
    # every sheet has a VBA code name (Excel expects one per sheet in a macro workbook)
    for i, (name, ws) in enumerate(sheets.items(), start=1):
        if not for_values:
            ws.set_vba_name(f"Sheet{i}")
        if name in ("Positions", "Tiers", "Contracts", "MarginLadders"):
            fit_to_width(ws)
        elif name != "xlwings.conf":
            fit_to_page(ws)
    sheets["Positions"].activate()
    wb.close()
