"""The template workbook (docs/workbook.md): a macro-enabled workbook wired for xlwings, built
deterministically from the tier tables and the sample book.

Written with XlsxWriter, which writes what Excel itself writes (its test suite compares
its files with Excel's part by part): Tables with calculated columns, validations with
their messages, dynamic-array formulas for spills (no implicit ``@`` in Excel 365),
charts, and a VBA project with a code name for every sheet. The VBA project is
xlwings' own standalone module, taken from the installed xlwings package at build time
(``quickstart_standalone.xlsm``); the ``xlwings.conf`` sheet names ``xlhtx.udfs`` as the
UDF module. Sheets: Guide, Positions, Ladder, Scenario, Accounts, Liquidation map,
Tiers, Contracts, MarginLadders, xlwings.conf.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from xlhtx.version import __version__
from xlhtx.xlsx.compat import CachedFormulaWorksheet, check as check_libraries, drawn_axes
from xlhtx.samples import sample_positions
from xlhtx.errors import XlhtxError
from xlhtx.files import atomic_write, check_output
from xlhtx.reference.tiers import TierTable
from xlhtx.reference.snapshot import snapshot

# every HTX_* call reads the Tiers sheet's two Tables (adjustment-factor ladders and, beside
# them, risk-limit tiers) through one defined name over both, with room to add rows
TIERS = "TierTables"
# every HTX_* cell reads the tier table through one cell holding its handle
# (HTX_TIERSET(TierTables)): the table crosses from Excel to Python once per
# recalculation, not once per call
TIER_SET = "TierSet"
TIER_SLACK = 50
NAVY = "#1F3864"
HEAD = {"bold": True, "font_color": "#FFFFFF", "bg_color": NAVY, "align": "center",
        "valign": "vcenter", "text_wrap": True}
INPUT = {"bg_color": "#FFF2CC"}
AMBER = {"bg_color": "#FFC000"}
RED = {"bg_color": "#FF5B5B"}
TITLE = {"bold": True, "font_size": 14, "font_color": NAVY}
NOTE = {"italic": True}
GREY = {"font_color": "#808080"}
GREY_FILL = {"bg_color": "#D9D9D9"}
PRICE = "#,##0.00####"
MONEY = "#,##0.00####"   # coin-margined amounts are small
PCT = "0.00%"

# Positions: (header, number format, formula or None for an input column)
POSITION_COLUMNS: list[tuple[str, str, str | None]] = [
    ("Contract", "@", None),
    ("Side", "@", None),
    ("Margin mode", "@", None),
    ("Leverage", "0", None),
    ("Contracts", "#,##0", None),
    ("Entry price", PRICE, None),
    ("Mark price", PRICE, None),
    ("Margin", MONEY, None),
    ("Notional", MONEY, "HTX_NOTIONAL([@Contract],[@Contracts],[@[Mark price]],{T})"),
    ("Initial margin", MONEY,
     "HTX_MARGIN([@Contract],[@Contracts],[@[Entry price]],[@Leverage],{T})"),
    ("Tier", "0", "HTX_TIER([@Contract],[@Leverage],[@Contracts],[@[Margin mode]],{T})"),
    ("Adj. factor", "0.0000",
     "HTX_ADJFACTOR([@Contract],[@Leverage],[@Contracts],[@[Margin mode]],{T})"),
    ("MMR", "0.000%", "HTX_MMR([@Contract],[@Leverage],[@Contracts],[@[Margin mode]],{T})"),
    ("Maint. margin", MONEY, "HTX_MAINTMARGIN([@Contract],[@Contracts],[@[Mark price]],"
                             "[@Leverage],[@[Margin mode]],{T})"),
    ("PnL", MONEY, "HTX_PNL([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                   "[@[Mark price]],{T})"),
    ("ROE", PCT, "HTX_ROE([@Contract],[@Side],[@Contracts],[@[Entry price]],[@[Mark price]],"
                 "[@Leverage],{T})"),
    ("Equity", MONEY, "HTX_EQUITY([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                      "[@[Mark price]],[@Leverage],[@Margin],{T},[@[Margin mode]])"),
    ("Margin ratio", PCT, "HTX_MARGINRATIO([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                          "[@[Mark price]],[@Leverage],[@Margin],{T},[@[Margin mode]])"),
    ("Liq. price", PRICE, "HTX_LIQPRICE([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                          "[@Leverage],[@Margin],{T},[@[Margin mode]])"),
    ("Bankruptcy price", PRICE, "HTX_BANKRUPTCYPRICE([@Contract],[@Side],[@Contracts],"
                                "[@[Entry price]],[@Leverage],[@Margin],{T})"),
    ("Distance to liq. %", PCT, "HTX_LIQDISTANCE([@Contract],[@Side],[@Contracts],"
                                "[@[Entry price]],[@[Mark price]],[@Leverage],[@Margin],{T},"
                                "[@[Margin mode]])"),
    ("Margin asset", "@", "HTX_MARGINASSET([@Contract],{T})"),   # (centred, below)
    ("Status", "@", "HTX_STATUS([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                    "[@[Mark price]],[@Leverage],[@Margin],{T},[@[Margin mode]])"),
]
PRICE_COLUMNS = ("Entry price", "Mark price", "Liq. price", "Bankruptcy price")
# amounts in the row's margin asset (Margin asset column): USDT to the cent, a coin to 8
MONEY_COLUMNS = ("Margin", "Notional", "Initial margin", "Maint. margin", "PnL", "Equity")
# a price shows the digits its size needs (BTC 29,915.56; DOGE 0.122213): by magnitude
PRICE_FORMATS = ((1000, "#,##0.00"), (1, "#,##0.0000"), (0, "0.000000##"))
INPUTS = [c[0] for c in POSITION_COLUMNS if c[2] is None]
SAMPLE_KEYS = {"Contract": "contract", "Side": "side", "Margin mode": "margin_mode",
               "Leverage": "leverage", "Contracts": "contracts", "Entry price": "entry_price",
               "Mark price": "mark_price", "Margin": "margin"}
LADDER_STEPS = 8   # rows kept for the spilled ladder (HTX publishes up to five ladders)
SCENARIO_POINTS = 25   # rows of the price grid, centred on the liquidation price
SCENARIO_SPAN = 3      # the grid reaches 3x the distance to liquidation either side


def xlwings_vba_source() -> Path:
    """xlwings' standalone workbook: its VBA project carries the xlwings module."""
    import xlwings
    path = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the installed xlwings has no standalone workbook "
                                "to take the VBA project from")
    return path


def vba_project() -> bytes:
    with zipfile.ZipFile(xlwings_vba_source()) as z:
        return z.read("xl/vbaProject.bin")


class Book:
    """An XlsxWriter workbook and its formats, one per distinct set of properties."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self._formats: dict[tuple, Any] = {}

    def chart(self, options: dict[str, Any]):
        chart = self.wb.add_chart(options)
        drawn_axes(chart)
        return chart

    def fmt(self, *groups: dict, **props: Any):
        merged: dict[str, Any] = {}
        for g in groups:
            merged.update(g)
        merged.update(props)
        key = tuple(sorted(merged.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(merged)
        return self._formats[key]


SHEETS = ("Guide", "Positions", "Ladder", "Scenario", "Accounts", "Liquidation map", "Tiers",
          "Contracts", "MarginLadders", "xlwings.conf")


def build(out: str | Path, table: TierTable | None = None,
          positions: dict[str, list] | None = None, n_rows: int | None = None,
          for_values: bool = False) -> Path:
    """Build the template at ``out`` (``.xlsm``), its formulas without cached values
    (``xlhtx.headless.build_template`` computes them). ``n_rows`` repeats the sample book
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


# ------------------------------------------------------------------------- sheets


def fit_to_page(ws) -> None:
    """Print (and render) a sheet on one landscape page, charts included."""
    ws.set_landscape()
    ws.fit_to_pages(1, 1)


def fit_to_width(ws) -> None:
    """A table sheet printed one landscape page wide, as many pages tall as it takes,
    its header row repeated on each."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def header_row(b: Book, ws, row: int, headers: Sequence[str], col: int = 0) -> None:
    """Headers in row ``row`` (0-based, as XlsxWriter counts)."""
    for j, h in enumerate(headers):
        ws.write_string(row, col + j, h, b.fmt(HEAD))


def widths(ws, values: dict[str, float]) -> None:
    for col, w in values.items():
        ws.set_column(f"{col}:{col}", w)


# what a user sees at each step, from opening the file to live functions
INSTALL_GUIDE = [
    ("Install (Windows, Excel): from opening to live functions", "h"),
    ("1. pip install . in a clone of xlhtx (it brings the pinned xlwings), then xlwings "
     "addin install.", None),
    ("2. A downloaded file has its macros blocked: right-click it, Properties, tick "
     "Unblock. In Excel trust access to the VBA project object model (Trust Center, "
     "Macro Settings).", None),
    ("3. Open this workbook. Every cell shows the numbers stored when the file was built; "
     "the HTX_* cells are not live yet (an edited row would show #NAME?).", None),
    ("4. In the xlwings tab press Import Functions (set the Interpreter first if Python is "
     "not on the PATH; the UDF module, xlhtx.udfs, is set in the xlwings.conf sheet). "
     "That is all: the cells recalculate as you type from then on (the stored values are "
     "what the functions compute, so nothing needs recomputing first; Ctrl+Alt+F9 "
     "recomputes every cell if you want to see it happen).", None),
    ("Refresh the tier tables from HTX: xlhtx tiers fetch --workbook <this file> "
     "(or edit the Tiers sheet: its Tiers and RiskLimits tables, read by every HTX_* "
     "cell through the name TierTables, which leaves 50 empty rows for rows you add; "
     "past them, widen it in Formulas > Name Manager).", None),
    ("Without Excel: xlhtx recalc <this file> -o values.xlsx writes a copy with computed "
     "values that any viewer shows.", None),
]
VALUES_GUIDE = [
    ("This copy holds values", "h"),
    ("The numbers the HTX_* formulas of xlhtx.xlsm computed, as plain values for any "
     "viewer (Excel, a file preview, LibreOffice): nothing here recalculates. Change "
     "positions in xlhtx.xlsm, or run xlhtx calc on a positions file; xlhtx recalc "
     "xlhtx.xlsm -o values.xlsx --values-only makes a new copy.", None),
]


def guide(b: Book, ws, table: TierTable, for_values: bool = False) -> None:
    lines = [
        ("xlhtx — HTX futures margin, tiers and liquidation in Excel", "title"),
        ("", None),
        ("What it does", "h"),
        ("Positions: one row per position. Yellow columns are inputs; the rest are "
         "HTX_* formulas that recalculate as you type (margin, tier, MMR, margin ratio, "
         "liquidation and bankruptcy prices, distance to liquidation).", None),
        ("Ladder: HTX's tiered (partial) liquidation of one position: trigger prices and "
         "contracts left at each step, spilled by HTX_LIQLADDER.", None),
        ("Scenario: one position over a price grid centred on its liquidation price (3x its "
         "distance either side): contracts left after tiered liquidation, their margin "
         "ratio, equity (an isolated loss stops at the margin) and PnL.", None),
        ("Accounts: a margin account (a hedge pair included): per contract its liquidation "
         "price, the account's margin ratio and HTX's risk rate (HTX_ACCOUNT).", None),
        ("Liquidation map: for the Positions book, the contracts and notional HTX's tiered "
         "liquidation force-closes per price bucket, longs and shorts apart (HTX_LIQMAP).",
         None),
        ("Tiers, Contracts, MarginLadders: HTX's reference tables. Every formula reads the "
         "Tiers table, so an edit there recalculates everything.", None),
        ("", None),
        ("Units", "h"),
        ("USDT-margined contracts (BTC-USDT): prices, margin and PnL in USDT; contract size "
         "in coin. Coin-margined contracts (BTC-USD): margin and PnL in the coin; face value "
         "in USD. Ratios are fractions (100% = liquidation).", None),
        ("", None),
        *(VALUES_GUIDE if for_values else INSTALL_GUIDE),
        ("", None),
        ("Tier snapshot", "h"),
        (f"As of {table.as_of}. Source: {table.source}", None),
        (f"Systems of the loaded tables: {table.system_summary()}.", None),
        ("The tables every HTX_* cell reads, as one handle (the name TierSet, the cell "
         "below: HTX_TIERSET over the Tiers sheet's tables; an edit there gives a new "
         "handle and recalculates everything):", None),
        ("=HTX_TIERSET", "tierset"),
        ("Risk-limit tiers (HTX's USDT-M trading system since 2026): the MMR is the tier's, "
         "the tier holds the position side's contracts, the leverage may not pass the "
         "tier's max_leverage. HTX publishes no partial liquidation for them: the Ladder, "
         "Scenario and Liquidation map take the whole position as liquidated at its first "
         "trigger (an assumption). Adjustment-factor ladders (coin-margined): MMR = factor "
         "/ leverage on the net position, liquidated ladder by ladder.", None),
        ("The bundled snapshot is illustrative, not HTX's live tables: xlhtx tiers fetch "
         "--workbook <this file> puts HTX's current tables in the Tiers sheet.", None),
        ("", None),
        ("Warning: a known-wrong formula", "h"),
        ("A widely copied article gives Liq(long) = E*(1 - 1/L + MM/IM). With E = 30,000, "
         "L = 10 and MM/IM = 0.5 it gives 42,000 — above the entry of a long — and the "
         "article prints 27,000. Do not use it. xlhtx solves MM(P) = equity(P) at the "
         "position's tier (HTX: Liquidation Rules for Futures Trading).", None),
        ("", None),
        (f"xlhtx {__version__}", None),
    ]
    for i, (text, kind) in enumerate(lines):
        style = {"title": dict(bold=True, font_size=16, font_color=NAVY),
                 "h": dict(bold=True, font_size=12, font_color=NAVY)}.get(kind, {})
        f = b.fmt(style, text_wrap=True, valign="top")
        if kind == "tierset":
            ws.write_formula(i, 0, f"=HTX_TIERSET({TIERS})", b.fmt(GREY), "")
            b.wb.define_name(TIER_SET, f"=Guide!$A${i + 1}")
        elif text:
            ws.write_string(i, 0, text, f)
        # rows sized to their text: Excel does not grow a wrapped row written by a program
        lines_needed = max(1, -(-len(text) // GUIDE_CHARS_PER_LINE))
        ws.set_row(i, {"title": 24, "h": 19}.get(kind, 15.5 * lines_needed))
    widths(ws, {"A": 120})


GUIDE_CHARS_PER_LINE = 105   # characters of 11-point Calibri in a 120-wide column


def position_sheet(b: Book, ws, positions: dict[str, list], n_rows: int | None) -> None:
    headers = [c[0] for c in POSITION_COLUMNS]
    sample = list(zip(*(positions[SAMPLE_KEYS[h]] for h in INPUTS)))
    n = n_rows or len(sample)
    columns = []
    for name, fmt, formula in POSITION_COLUMNS:
        column: dict[str, Any] = {"header": name, "header_format": b.fmt(HEAD)}
        if formula is None:
            column["format"] = b.fmt(INPUT, num_format=fmt)
        else:
            # rows a user adds to the Table get the formula too (calculatedColumnFormula);
            # a message ("no liquidation: ...") shrinks into its cell, not over the next
            column["formula"] = "=" + this_row(formula.format(T=TIER_SET), "Positions")
            # (the status, last, runs on into the empty cells beside it instead)
            column["format"] = b.fmt(num_format=fmt, shrink=name != "Status",
                                     **({"align": "center"} if name == "Margin asset" else {}))
        columns.append(column)
    data = [list(sample[k % len(sample)]) for k in range(n)]
    ws.add_table(0, 0, n, len(headers) - 1, {
        "name": "Positions", "style": "Table Style Medium 2", "columns": columns,
        "data": data})
    ws.set_row(0, 30)
    col = {h: xl_col_to_name(j) for j, h in enumerate(headers)}
    lo, hi = 2, n + 1
    validate(ws, f"{col['Contract']}{lo}:{col['Contract']}{hi}",
             {"validate": "list", "source": '=INDIRECT("Contracts[contract_code]")'},
             "Pick a contract from the Contracts sheet")
    validate(ws, f"{col['Side']}{lo}:{col['Side']}{hi}",
             {"validate": "list", "source": ["long", "short"]}, "long or short")
    validate(ws, f"{col['Margin mode']}{lo}:{col['Margin mode']}{hi}",
             {"validate": "list", "source": ["isolated", "cross"]}, "isolated or cross")
    mr = f"{col['Margin ratio']}{lo}:{col['Margin ratio']}{hi}"
    when_number(b, ws, mr, "{x}>=1", RED, stop=True)
    when_number(b, ws, mr, "{x}>=0.8", AMBER)
    status = f"{col['Status']}{lo}:{col['Status']}{hi}"
    for word, style in (("past liquidation", RED), ("warning", AMBER), ("error", GREY_FILL)):
        ws.conditional_format(status, {
            "type": "formula", "stop_if_true": True, "format": b.fmt(style),
            "criteria": f'=LEFT({col["Status"]}{lo},{len(word)})="{word}"'})
    for name in PRICE_COLUMNS:
        price_formats(b, ws, f"{col[name]}{lo}:{col[name]}{hi}")
    asset = f"${col['Margin asset']}{lo}"
    for name in MONEY_COLUMNS:
        ref = f"{col[name]}{lo}:{col[name]}{hi}"
        when_number(b, ws, ref, f'{asset}="USDT"', {"num_format": "#,##0.00"}, stop=True)
        when_number(b, ws, ref, f'{asset}<>""', {"num_format": "#,##0.00000000"}, stop=True)
    validate(ws, f"{col['Margin']}{lo}:{col['Margin']}{hi}",
             {"validate": "decimal", "criteria": ">", "value": 0},
             "Isolated margin in the margin asset; leave it blank for the initial margin")
    ws.freeze_panes("B2")
    for h, letter in col.items():
        ws.set_column(f"{letter}:{letter}", 40 if h == "Status" else
                      max(11.0, min(18.0, len(h) + 4)))


def when_number(b: Book, ws, ref: str, test: str, style: dict[str, Any],
                stop: bool = False) -> None:
    """A conditional format that fires on numbers only (a message such as "no
    liquidation ..." is text); ``test`` reads the range's first cell as ``{x}``."""
    x = ref.split(":")[0]
    rule = {"type": "formula", "criteria": f"=AND(ISNUMBER({x}),{test.format(x=x)})",
            "format": b.fmt(style)}
    if stop:
        rule["stop_if_true"] = True
    ws.conditional_format(ref, rule)


def price_formats(b: Book, ws, ref: str) -> None:
    """Number formats by magnitude (conditional formats: they follow the cells' values)."""
    for floor, code in PRICE_FORMATS:
        when_number(b, ws, ref, f"ABS({{x}})>={floor}", {"num_format": code}, stop=True)


def this_row(formula: str, table: str) -> str:
    """``[@Col]`` / ``[@[Col name]]`` -> ``Table[[#This Row],[Col]]``: the file format
    stores the long form; ``@`` is only how Excel displays it."""
    return re.sub(r"\[@(?:\[([^\]]+)\]|([^\[\]]+))\]",
                  lambda m: f"{table}[[#This Row],[{m.group(1) or m.group(2)}]]", formula)


def validate(ws, ref: str, rule: dict[str, Any], prompt: str) -> None:
    """A validation with its prompt and error message shown (XlsxWriter stores the
    formula as Excel does, without a leading ``=``)."""
    ws.data_validation(ref, {**rule, "ignore_blank": True, "input_title": "xlhtx",
                             "input_message": prompt, "error_title": "xlhtx",
                             "error_message": f"Not a valid choice: {prompt}"})


def position_picker(b: Book, ws, row0: int = 3) -> dict[str, str]:
    """Input cells that pick one Positions row (by number) and show its inputs; they read
    the Table's columns, so they follow it as rows are added. ``row0`` is 1-based."""
    ws.write_string(f"A{row0}", "Position (row of the Positions table)")
    ws.write_number(f"B{row0}", 3, b.fmt(INPUT))
    validate(ws, f"B{row0}", {"validate": "integer", "criteria": "between", "minimum": 1,
                              "maximum": '=ROWS(INDIRECT("Positions[Contract]"))'},
             "a row number of the Positions table")
    refs = {}
    for i, name in enumerate(["Contract", "Side", "Contracts", "Entry price", "Leverage",
                              "Margin", "Mark price"], start=1):
        r = row0 + i
        ws.write_string(f"A{r}", name)
        column = f"Positions[{name}]"
        if name == "Margin":   # an empty margin must stay empty, not become 0
            f = f'=IF(ISNUMBER(INDEX({column},$B${row0})),INDEX({column},$B${row0}),"")'
        else:
            f = f"=INDEX({column},$B${row0})"
        ws.write_formula(f"B{r}", f, None, "")
        if name in PRICE_COLUMNS:
            price_formats(b, ws, f"B{r}")
        refs[name] = f"$B${r}"
    return refs


# the picked Positions row's margin mode (the pickers' row number is in B3)
PICKED_MODE = "INDEX(Positions[Margin mode],$B$3)"


def mark_or_entry(refs: dict[str, str]) -> str:
    """The picked position's mark price, its entry price when no mark is given."""
    mark = refs["Mark price"]
    return f"IF(ISNUMBER({mark}),{mark},{refs['Entry price']})"


def spill(b: Book, ws, ref: str, formula: str, formats: dict[str, Any],
          header: bool = False) -> None:
    """A dynamic-array formula over ``ref``; every cell of the range has its column's
    format (``formats`` by column letter; the first row the header style when the
    function spills its own ``header``), the anchor included, and the others are written
    blank so no placeholder value is left where the spill stops short."""
    (r0, c0), (r1, c1) = (xl_cell_to_rowcol(cell) for cell in ref.split(":"))

    def fmt(r: int, c: int) -> Any:
        return b.fmt(HEAD) if header and r == r0 else formats.get(xl_col_to_name(c)) or b.fmt()
    ws.write_dynamic_array_formula(ref, formula, fmt(r0, c0), "")
    for r in range(r0, r1 + 1):
        for c in range(c0, c1 + 1):
            if (r, c) != (r0, c0):
                ws.write_blank(r, c, None, fmt(r, c))


def ladder_sheet(b: Book, ws) -> None:
    ws.write_string("A1", "Tiered liquidation ladder", b.fmt(TITLE))
    refs = position_picker(b, ws)
    top = LADDER_TOP
    ws.write_string("A11", "As the mark moves against the position, HTX cuts it tier by tier "
                    "at each trigger price (HTX_LIQLADDER); on risk-limit tiers (USDT-M "
                    "today) HTX publishes no partial liquidation: all of it goes at the "
                    "first trigger.", b.fmt(NOTE))
    f = (f"=HTX_LIQLADDER({refs['Contract']},{refs['Side']},{refs['Contracts']},"
         f"{refs['Entry price']},{refs['Leverage']},{refs['Margin']},{TIER_SET},"
         f"{PICKED_MODE})")
    # the function's own header is the table's header: nothing hidden, one call
    spill(b, ws, f"A{top}:G{top + LADDER_STEPS}", f,
          {"C": b.fmt(num_format="#,##0"), "D": b.fmt(num_format="#,##0"),
           "G": b.fmt(num_format="#,##0.00")}, header=True)
    price_formats(b, ws, f"B{top + 1}:B{top + LADDER_STEPS}")
    step_chart_points(b, ws, refs)
    widths(ws, {"A": 36, "B": 16, "C": 17, "D": 16, "E": 12, "F": 12, "G": 15, "I": 14, "J": 16})


LADDER_TOP = 12   # the ladder's header row (1-based), its steps below


def step_chart_points(b: Book, ws, refs: dict[str, str]) -> None:
    """The points of a step chart of contracts held against the mark: from the opening
    position at the mark, down each trigger to what is left, to zero. They read the
    spilled ladder's cells (no second call); past the last step a point repeats the one
    before, so the chart has no gap and the helper no #N/A."""
    grey = b.fmt(GREY)
    # (a numeric placeholder value on each plotted formula makes the chart's series
    # numbers, as a scatter's x values must be; the build's recalculation fills them)
    ws.write_string("I11", "Chart points", b.fmt(NOTE, GREY))
    header_row(b, ws, LADDER_TOP - 1, ["Mark price", "Contracts held"], col=8)
    row = LADDER_TOP + 1
    ws.write_formula(f"I{row}", f"={mark_or_entry(refs)}", grey, 0)
    ws.write_formula(f"J{row}", f"={refs['Contracts']}", grey, 0)
    for k in range(1, LADDER_STEPS + 1):
        step = LADDER_TOP + k
        # each trigger twice: the contracts before the cut (C), then after it (D)
        for held in ("C", "D"):
            row += 1
            ws.write_formula(f"I{row}", f"=IF(ISNUMBER($B${step}),$B${step},I{row - 1})",
                             grey, 0)
            ws.write_formula(f"J{row}", f"=IF(ISNUMBER($B${step}),${held}${step},J{row - 1})",
                             grey, 0)
    first, last = LADDER_TOP, row - 1   # 0-based rows of the points
    chart = b.chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.set_title({"name": "Contracts held as the mark reaches each trigger"})
    chart.set_style(13)
    chart.add_series({"name": "contracts held",
                      "categories": [ws.name, first, 8, last, 8],
                      "values": [ws.name, first, 9, last, 9],
                      "line": {"color": NAVY}, "marker": {"type": "circle"}})
    chart.set_x_axis({"name": "Mark price", "num_format": "#,##0"})
    chart.set_y_axis({"name": "Contracts held", "num_format": "#,##0"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 680, "height": 340})
    ws.insert_chart("L3", chart)


def scenario_sheet(b: Book, ws) -> None:
    ws.write_string("A1", "Scenario: the position over a price grid around its liquidation "
                    "price", b.fmt(TITLE))
    refs = position_picker(b, ws)
    pos = f"{refs['Contract']},{refs['Side']},{refs['Contracts']},{refs['Entry price']}"
    for r, label in zip(range(3, 7), ("Liquidation price", "Mark (entry if empty)",
                                      "Margin at the mark", "Grid step")):
        ws.write_string(f"D{r}", label)
    # the picked row's own figures: the Positions cells already hold them (no new call)
    ws.write_formula("E3", "=INDEX(Positions[Liq. price],$B$3)", None, "")
    ws.write_formula("E4", f"={mark_or_entry(refs)}", None, "")
    ws.write_formula("E5", f"=IF(ISNUMBER({refs['Margin']}),{refs['Margin']},"
                           "INDEX(Positions[Initial margin],$B$3))",
                     b.fmt(num_format="#,##0.00"), "")
    half = SCENARIO_POINTS // 2
    # centred on the liquidation price, 3x its distance from the mark either side; a
    # position no price liquidates: its mark +-50%
    ws.write_formula("E6", f"=IF(ISNUMBER(E3),{SCENARIO_SPAN}*ABS(E4-E3)/{half},E4*0.5/{half})",
                     None, "")
    price_formats(b, ws, "E3:E4")
    price_formats(b, ws, "E6")
    top = 12
    header_row(b, ws, top - 1, ["Move from mark", "Price", "Contracts left", "Margin ratio",
                                "Equity", "PnL"])
    centre = "IF(ISNUMBER($E$3),$E$3,$E$4)"
    after = f"{pos},{refs['Leverage']},B{{r}},{refs['Margin']},{TIER_SET}"
    move = b.fmt(num_format="+0.00%;-0.00%;0.00%")
    # the ratio column shrinks its words (a fully liquidated position has no ratio), as
    # the Positions formula columns do
    whole, pct, money = (b.fmt(num_format="#,##0"), b.fmt(num_format=PCT, shrink=True),
                         b.fmt(num_format="#,##0.00"))
    for k in range(SCENARIO_POINTS):
        r = top + 1 + k
        ws.write_formula(f"A{r}", f"=B{r}/$E$4-1", move, "")
        ws.write_formula(f"B{r}", f"=MAX({centre}+({k - half})*$E$6,{centre}/1000)", None, 0)
        ws.write_formula(f"F{r}", f"=E{r}-$E$5", money, "")   # a loss stops at the margin
    last = top + SCENARIO_POINTS
    # one call per column over the whole grid, spilled: 3 calls, not 75
    grid = after.format(r="{r}").replace("B{r}", f"B{top + 1}:B{last}")
    for col, output, fmt in (("C", "contracts", whole), ("D", "margin_ratio", pct),
                             ("E", "equity", money)):
        spill(b, ws, f"{col}{top + 1}:{col}{last}",
              f'=HTX_AFTERLIQ({grid},"{output}",{PICKED_MODE})', {col: fmt})
    price_formats(b, ws, f"B{top + 1}:B{last}")
    when_number(b, ws, f"D{top + 1}:D{last}", "{x}>=1", RED)
    when_number(b, ws, f"C{top + 1}:C{last}", "{x}=0", RED)
    # the liquidation price drawn as a vertical marker
    ws.write_string("H12", "Liquidation price marker", b.fmt(shrink=True))
    ws.write_formula("H13", "=$E$3", None, 0)
    ws.write_number("I13", 0)
    ws.write_formula("H14", "=$E$3", None, 0)
    ws.write_formula("I14", f"={refs['Contracts']}", None, 0)
    chart = b.chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.set_title({"name": "Contracts left (tiered liquidation) and margin ratio over price"})
    chart.set_style(13)
    xs = [ws.name, top, 1, last - 1, 1]
    chart.add_series({"name": [ws.name, top - 1, 2], "categories": xs,
                      "values": [ws.name, top, 2, last - 1, 2], "marker": {"type": "circle"},
                      "line": {"color": NAVY}})
    chart.add_series({"name": [ws.name, top - 1, 3], "categories": xs,
                      "values": [ws.name, top, 3, last - 1, 3], "y2_axis": True,
                      "marker": {"type": "none"}, "line": {"color": "#ED7D31"}})
    # 100% margin ratio (liquidation) across the grid, on the ratio's axis
    ws.write_string("H16", "Margin ratio 100%", b.fmt(shrink=True))
    ws.write_formula("H17", f"=B{top + 1}", None, 0)
    ws.write_formula("H18", f"=B{last}", None, 0)
    ws.write_number("I17", 1)
    ws.write_number("I18", 1)
    chart.add_series({"name": "margin ratio 100%", "categories": [ws.name, 16, 7, 17, 7],
                      "values": [ws.name, 16, 8, 17, 8], "y2_axis": True,
                      "marker": {"type": "none"},
                      "line": {"color": "#ED7D31", "dash_type": "round_dot"}})
    chart.add_series({"name": "liquidation price", "categories": [ws.name, 12, 7, 13, 7],
                      "values": [ws.name, 12, 8, 13, 8], "marker": {"type": "none"},
                      "line": {"color": "#FF5B5B", "dash_type": "dash"}})
    chart.set_x_axis({"name": "Price", "num_format": "#,##0"})
    chart.set_y_axis({"name": "Contracts left", "num_format": "#,##0"})
    chart.set_y2_axis({"name": "Margin ratio", "num_format": "0%"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 756, "height": 378})
    ws.insert_chart("K3", chart)
    ws.freeze_panes(f"A{top + 1}")
    widths(ws, {"A": 36, "B": 16, "C": 15, "D": 22, "E": 16, "F": 14, "H": 12, "I": 10})


ACCOUNT_LEGS = [("BTC-USDT", "long", 20000, 64000, 63500, 20),
                ("BTC-USDT", "short", 5000, 64500, 63500, 20),
                ("ETH-USDT", "short", 3000, 3100, 3150, 20),
                ("SOL-USDT", "long", 500, 142.5, 140.0, 10)]
# the sample account's balance: enough for today's risk-limit MMRs (the BTC-USDT long is
# in tier 4, 2%)
ACCOUNT_BALANCE = 60000
COLLATERAL_ROWS = 4   # empty input rows of the Accounts sheet's collateral table


def accounts_sheet(b: Book, ws) -> None:
    """One USDT cross margin account with a hedge pair: per contract its liquidation
    price (the legs of one contract move together), the account's margin ratio and
    HTX's risk rate, all from HTX_ACCOUNT."""
    ws.write_string("A1", "Margin account (USDT cross)", b.fmt(TITLE))
    inputs = [("Margin mode", "cross", "@"),
              ("Balance before unrealized PnL (USDT, HTX margin_static)", ACCOUNT_BALANCE,
               MONEY),
              ("Frozen order margin (USDT)", 0, MONEY)]
    for r, (label, value, fmt) in enumerate(inputs, start=3):
        ws.write_string(f"A{r}", label)
        ws.write(f"B{r}", value, b.fmt(INPUT, num_format=fmt))
    validate(ws, "B3", {"validate": "list", "source": ["isolated", "cross"]},
             "isolated (one contract) or cross")
    head = ["Contract", "Side", "Contracts", "Cost basis", "Mark price", "Leverage",
            "Liq. price", "Margin ratio", "Risk rate", "Equity"]
    top = 8
    header_row(b, ws, top - 2, head)
    for i, row in enumerate(ACCOUNT_LEGS, start=top):
        for j, v in enumerate(row):
            ws.write(f"{xl_col_to_name(j)}{i}", v, b.fmt(INPUT))
    last = top + len(ACCOUNT_LEGS) - 1
    cols = ",".join(f"{c}{top}:{c}{last}" for c in "ABCDEF")
    formats = dict(zip("GHIJ", (b.fmt(num_format=PRICE), b.fmt(num_format=PCT),
                                b.fmt(num_format="0.0000", shrink=True),
                                b.fmt(num_format=MONEY))))
    notes = [
        "The legs of one contract (here the BTC-USDT long and short) move with one price; "
        "each contract's liquidation price holds the other contracts at their mark prices.",
        "Tiers: risk-limit tiers (USDT-M today) on each side's own contracts; "
        "adjustment-factor ladders (coin-margined) on the net position.",
        "Risk rate (HTX's risk_rate, adjustment-factor contracts only; liquidation at 0 or "
        "below): USDT cross = equity / sum(adjust factor x (margin + frozen)) - 1; isolated "
        "and coin-margined = equity / (margin + frozen) - adjust factor. Risk-limit "
        "accounts: n/a, the margin ratio is HTX's figure.",
        "Cost basis: HTX's cost_hold (the settled basis), not the average open price.",
    ]
    for k, text in enumerate(notes, start=last + 2):
        ws.write_string(f"A{k}", text, b.fmt(NOTE))
    # Multi-Assets collateral: assets worth amount x index price x collateral rate,
    # added to the balance (empty rows: none)
    c0 = last + len(notes) + 3
    ws.write_string(f"A{c0}", "Multi-Assets collateral (optional, cross only): each asset "
                    "counts at amount x index price x collateral rate, added to the balance",
                    b.fmt(NOTE))
    header_row(b, ws, c0, ["currency", "amount", "index_price", "collateral_rate"])
    for r in range(c0 + 2, c0 + 2 + COLLATERAL_ROWS):
        for c in "ABCD":
            ws.write_blank(f"{c}{r}", None, b.fmt(INPUT))
    collateral = f"A{c0 + 1}:D{c0 + 1 + COLLATERAL_ROWS}"
    spill(b, ws, f"G{top}:J{last}", f"=HTX_ACCOUNT({cols},B4,B3,B5,{TIER_SET},{collateral})",
          formats)
    widths(ws, {"A": 52, "B": 12, "C": 12, "D": 13, "E": 13, "F": 10, "G": 15, "H": 13,
                "I": 12, "J": 15})


MAP_RANGE = (25000, 70000, 1000)   # from, to, step of the sample map (BTC prices)
MAP_CONTRACT = "BTC-USDT"


def liqmap_sheet(b: Book, ws) -> None:
    """HTX_LIQMAP over the Positions table: per price bucket the contracts and notional
    force-closed, longs and shorts apart, and a bar chart."""
    ws.write_string("A1", "Liquidation map of one contract of the Positions book",
                    b.fmt(TITLE))
    lo, hi, step = MAP_RANGE
    inputs = [("Price from", lo), ("Price to", hi), ("Bucket width", step),
              ("Mark (cumulative counts from here)", 30000)]
    for r, (label, value) in enumerate(inputs, start=3):
        ws.write_string(f"A{r}", label)
        ws.write_number(f"B{r}", value, b.fmt(INPUT, num_format=PRICE))
    ws.write_string("A7", "Contract")
    ws.write_string("B7", MAP_CONTRACT, b.fmt(INPUT))
    validate(ws, "B7", {"validate": "list", "source": '=INDIRECT("Contracts[contract_code]")'},
             "Pick the contract to map")
    ws.write_string("C7", "one contract per map: 0.001 BTC and 100 USD contracts do not add",
                    b.fmt(NOTE))
    top, buckets = 9, (hi - lo) // step
    cols = ",".join(f"Positions[{c}]" for c in ("Contract", "Side", "Contracts", "Entry price",
                                                 "Leverage", "Margin"))
    formats = dict(zip("ABCDEFG", (b.fmt(num_format=f) for f in (
        "#,##0.##", "#,##0.##", "#,##0", "#,##0", "#,##0", "#,##0", "#,##0"))))
    spill(b, ws, f"A{top}:G{top + buckets}", f"=HTX_LIQMAP({cols},B3,B4,B5,{TIER_SET},B6,B7,"
          "Positions[Margin mode])",
          formats, header=True)
    # the mark: a short navy block stacked on top of its bucket's bars (it hides none of
    # them, and every chart engine draws a stacked column), 0 in every other bucket
    first, end = top + 1, top + buckets
    ws.write_formula(f"H{top}", '="Mark "&TEXT($B$6,"#,##0.##")', b.fmt(HEAD), "Mark")
    height = f"0.04*(MAX($E${first}:$E${end})+MAX($F${first}:$F${end}))"
    for k in range(buckets):
        ws.write_formula(f"H{first + k}", f"=IF(AND($B$6>=$B$3+{k}*$B$5,"
                         f"$B$6<$B$3+{k + 1}*$B$5),{height},0)", b.fmt(GREY,
                                                                      num_format="#,##0"), 0)
    chart = b.chart({"type": "column", "subtype": "stacked"})
    cats = [ws.name, top, 0, top + buckets - 1, 0]
    for col, colour in ((4, "#D9534F"), (5, "#2E7D32"), (7, NAVY)):
        chart.add_series({"name": [ws.name, top - 1, col], "categories": cats,
                          "values": [ws.name, top, col, top + buckets - 1, col],
                          "fill": {"color": colour}, "overlap": 100, "gap": 50})
    chart.set_title({"name": "Notional force-closed per price bucket (longs red, shorts green)"})
    chart.set_y_axis({"name": "notional (USDT / USD)", "num_format": "#,##0"})
    chart.set_x_axis({"name": "bucket (low price)", "num_format": "#,##0"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 907, "height": 416})
    ws.insert_chart("I3", chart)
    widths(ws, {"A": 34, "B": 14, "C": 16, "D": 16, "E": 16, "F": 16, "G": 20})


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
    for r, row in enumerate((("UDF Modules", "xlhtx.udfs"), ("Use UDF Server", "True"),
                             ("Show Console", "False"))):
        ws.write_string(r, 0, row[0])
        ws.write_string(r, 1, row[1])
    widths(ws, {"A": 20, "B": 30})
