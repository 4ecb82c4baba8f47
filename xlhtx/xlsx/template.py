"""The template workbook (docs/workbook.md): a macro-enabled workbook wired for xlwings, built
deterministically from the tier tables and the sample book.

The VBA project is xlwings' own standalone module, taken from the installed xlwings
package at build time (``quickstart_standalone.xlsm``); its ``xlwings.conf`` sheet names
``xlhtx.udfs`` as the UDF module. Sheets: Guide, Positions, Ladder, Scenario, Accounts,
Tiers, Contracts, MarginLadders. Spilling formulas are written as dynamic-array formulas
(``xlsxml.mark_dynamic_arrays``) so Excel 365 does not put an implicit ``@`` in front.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any, Sequence

from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.formatting.rule import FormulaRule, Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.styles.numbers import NumberFormat
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableFormula, TableStyleInfo

from xlhtx.version import __version__
from xlhtx.samples import sample_positions
from xlhtx.files import atomic_write
from xlhtx.reference.tiers import TierTable
from xlhtx.reference.snapshot import snapshot
from xlhtx.xlsx.package import finish_package

TIERS = "Tiers[#All]"
HEAD_FILL = PatternFill("solid", fgColor="1F3864")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
AMBER = PatternFill("solid", fgColor="FFC000")
RED = PatternFill("solid", fgColor="FF5B5B")
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
                      "[@[Mark price]],[@Leverage],[@Margin],{T})"),
    ("Margin ratio", PCT, "HTX_MARGINRATIO([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                          "[@[Mark price]],[@Leverage],[@Margin],{T})"),
    ("Liq. price", PRICE, "HTX_LIQPRICE([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                          "[@Leverage],[@Margin],{T})"),
    ("Bankruptcy price", PRICE, "HTX_BANKRUPTCYPRICE([@Contract],[@Side],[@Contracts],"
                                "[@[Entry price]],[@Leverage],[@Margin],{T})"),
    ("Distance to liq. %", PCT, "HTX_LIQDISTANCE([@Contract],[@Side],[@Contracts],"
                                "[@[Entry price]],[@[Mark price]],[@Leverage],[@Margin],{T})"),
    ("Margin asset", "@", "HTX_MARGINASSET([@Contract],{T})"),
]
PRICE_COLUMNS = ("Entry price", "Mark price", "Liq. price", "Bankruptcy price")
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


def build(out: str | Path, table: TierTable | None = None,
          positions: dict[str, list] | None = None, n_rows: int | None = None) -> Path:
    """Build the template at ``out`` (``.xlsm``). ``n_rows`` repeats the sample book to
    that many Positions rows (for benchmarks)."""
    table = table or snapshot()
    positions = positions or sample_positions()
    wb = load_workbook(xlwings_vba_source(), keep_vba=True)
    for ws in list(wb.worksheets):
        wb.remove(ws)
    stamp = dt.datetime.strptime(table.as_of[:10], "%Y-%m-%d") if table.as_of else \
        dt.datetime(2026, 1, 1)
    wb.properties.creator = f"xlhtx {__version__}"
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.lastModifiedBy = None

    guide(wb.create_sheet("Guide"), table)
    n = position_sheet(wb.create_sheet("Positions"), positions, n_rows)
    ladder_sheet(wb.create_sheet("Ladder"), n)
    scenario_sheet(wb.create_sheet("Scenario"), n)
    accounts_sheet(wb.create_sheet("Accounts"))
    liqmap_sheet(wb.create_sheet("Liquidation map"), n)
    reference_sheet(wb.create_sheet("Tiers"), "Tiers", table.to_rows(), table)
    reference_sheet(wb.create_sheet("Contracts"), "Contracts", contract_rows(table), table)
    ladders = table.ladder_margin or snapshot().ladder_margin
    reference_sheet(wb.create_sheet("MarginLadders"), "MarginLadders", ladders.to_rows(), table)
    xlwings_conf(wb.create_sheet("xlwings.conf"))
    # every sheet has a VBA code name (Excel expects one per sheet in a macro workbook)
    for i, ws in enumerate(wb.worksheets, start=1):
        ws.sheet_properties.codeName = f"Sheet{i}"
        if ws.title not in ("Tiers", "MarginLadders", "xlwings.conf"):
            fit_to_page(ws)
    wb.active = 1
    out = Path(out)
    with tempfile.TemporaryDirectory() as d:
        raw = Path(d) / "openpyxl.xlsm"
        wb.save(raw)
        atomic_write(out, lambda dst: finish_package(raw, dst, stamp))
    return out


# ------------------------------------------------------------------------- sheets


def fit_to_page(ws) -> None:
    """Print (and render) a sheet on one landscape page, charts included."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def header_row(ws, row: int, headers: Sequence[str], col: int = 1) -> None:
    for j, h in enumerate(headers):
        c = ws.cell(row=row, column=col + j, value=h)
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = HEAD_FILL
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def widths(ws, values: dict[str, float]) -> None:
    for col, w in values.items():
        ws.column_dimensions[col].width = w


def guide(ws, table: TierTable) -> None:
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
        ("Install (Windows, Excel)", "h"),
        ("pip install xlhtx; xlwings addin install; unblock this file if it was downloaded "
         "(right-click, Properties, Unblock: Excel blocks macros of files from the internet); "
         "in Excel trust access to the VBA project object model (Trust Center, Macro "
         "Settings); open this workbook; in the xlwings tab set the Interpreter if Python "
         "is not on the PATH (the UDF module is xlhtx.udfs, set in the xlwings.conf sheet); "
         "press Import Functions.", None),
        ("Refresh the tier tables from HTX: xlhtx tiers fetch --workbook <this file> "
         "(or edit the Tiers sheet).", None),
        ("Without Excel: xlhtx recalc <this file> -o values.xlsx writes a copy with computed "
         "values that any viewer shows.", None),
        ("", None),
        ("Tier snapshot", "h"),
        (f"As of {table.as_of}. Source: {table.source}", None),
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
    for i, (text, kind) in enumerate(lines, start=1):
        c = ws.cell(row=i, column=1, value=text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        if kind == "title":
            c.font = Font(bold=True, size=16, color="1F3864")
        elif kind == "h":
            c.font = Font(bold=True, size=12, color="1F3864")
        # rows sized to their text: Excel does not grow a wrapped row written by a program
        lines_needed = max(1, -(-len(text) // GUIDE_CHARS_PER_LINE))
        ws.row_dimensions[i].height = {"title": 24, "h": 19}.get(kind, 15.5 * lines_needed)
    widths(ws, {"A": 120})


GUIDE_CHARS_PER_LINE = 105   # characters of 11-point Calibri in a 120-wide column


def position_sheet(ws, positions: dict[str, list], n_rows: int | None) -> int:
    headers = [c[0] for c in POSITION_COLUMNS]
    header_row(ws, 1, headers)
    ws.row_dimensions[1].height = 30
    sample = list(zip(*(positions[SAMPLE_KEYS[h]] for h in INPUTS)))
    n = n_rows or len(sample)
    for r in range(2, n + 2):
        row = sample[(r - 2) % len(sample)]
        for j, (name, fmt, formula) in enumerate(POSITION_COLUMNS, start=1):
            c = ws.cell(row=r, column=j)
            c.number_format = fmt
            if formula is None:
                c.value = row[j - 1]
                c.fill = INPUT_FILL
            else:
                c.value = "=" + this_row(formula.format(T=TIERS), "Positions")
                # a message ("no liquidation: ...") shrinks into its cell, not over the next
                c.alignment = Alignment(shrink_to_fit=True)
    last = get_column_letter(len(headers))
    ref = f"A1:{last}{n + 1}"
    t = Table(displayName="Positions", ref=ref)
    t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    t._initialise_columns()
    for column, (name, _, formula) in zip(t.tableColumns, POSITION_COLUMNS):
        column.name = name
        if formula is not None:   # rows a user adds to the Table get the formula too
            column.calculatedColumnFormula = TableFormula(
                attr_text=this_row(formula.format(T=TIERS), "Positions"))
    ws.add_table(t)
    col = {h: get_column_letter(j) for j, h in enumerate(headers, start=1)}
    lo, hi = 2, n + 1
    validate(ws, f"{col['Contract']}{lo}:{col['Contract']}{hi}",
             'INDIRECT("Contracts[contract_code]")', "Pick a contract from the Contracts sheet")
    validate(ws, f"{col['Side']}{lo}:{col['Side']}{hi}", '"long,short"', "long or short")
    validate(ws, f"{col['Margin mode']}{lo}:{col['Margin mode']}{hi}", '"isolated,cross"',
             "isolated or cross")
    mr = f"{col['Margin ratio']}{lo}:{col['Margin ratio']}{hi}"
    first = f"{col['Margin ratio']}{lo}"
    # numbers only: a message in the cell ("no liquidation ...") is text, not a ratio
    ws.conditional_formatting.add(mr, FormulaRule(
        formula=[f"AND(ISNUMBER({first}),{first}>=1)"], fill=RED, stopIfTrue=True))
    ws.conditional_formatting.add(mr, FormulaRule(
        formula=[f"AND(ISNUMBER({first}),{first}>=0.8)"], fill=AMBER))
    for name in PRICE_COLUMNS:
        price_formats(ws, f"{col[name]}{lo}:{col[name]}{hi}")
    ws.freeze_panes = "B2"
    for h, letter in col.items():
        ws.column_dimensions[letter].width = max(11.0, min(18.0, len(h) + 4))
    return n


def price_formats(ws, ref: str) -> None:
    """Number formats by magnitude (conditional formats: they follow the cells' values)."""
    first = ref.split(":")[0]
    for k, (floor, code) in enumerate(PRICE_FORMATS):
        style = DifferentialStyle(numFmt=NumberFormat(numFmtId=170 + k, formatCode=code))
        rule = Rule(type="expression", dxf=style, stopIfTrue=True,
                    formula=[f"AND(ISNUMBER({first}),ABS({first})>={floor})"])
        ws.conditional_formatting.add(ref, rule)


def this_row(formula: str, table: str) -> str:
    """``[@Col]`` / ``[@[Col name]]`` -> ``Table[[#This Row],[Col]]``: the file format
    stores the long form; ``@`` is only how Excel displays it."""
    import re
    return re.sub(r"\[@(?:\[([^\]]+)\]|([^\[\]]+))\]",
                  lambda m: f"{table}[[#This Row],[{m.group(1) or m.group(2)}]]", formula)


def validate(ws, ref: str, formula: str, prompt: str, **rule: Any) -> None:
    """A validation with its prompt and error message shown. ``formula`` is stored as
    Excel stores it: without a leading ``=``."""
    kind = rule.pop("type", "list")
    dv = DataValidation(type=kind, formula1=formula.lstrip("="), allow_blank=True,
                        showDropDown=False, showErrorMessage=True, showInputMessage=True,
                        **rule)
    dv.error = f"Not a valid choice: {prompt}"
    dv.errorTitle = "xlhtx"
    dv.prompt = prompt
    dv.promptTitle = "xlhtx"
    ws.add_data_validation(dv)
    dv.add(ref)


def position_picker(ws, n: int, row0: int = 3) -> dict[str, str]:
    """Input cells that pick one Positions row (by number) and show its inputs; they read
    the Table's columns, so they follow it as rows are added."""
    ws.cell(row=row0, column=1, value="Position (row of the Positions table)")
    pick = ws.cell(row=row0, column=2, value=3)
    pick.fill = INPUT_FILL
    validate(ws, f"B{row0}", "1", "a row number of the Positions table", type="whole",
             operator="between", formula2="ROWS(Positions[Contract])")
    refs = {}
    for i, name in enumerate(["Contract", "Side", "Contracts", "Entry price", "Leverage",
                              "Margin", "Mark price"], start=1):
        r = row0 + i
        ws.cell(row=r, column=1, value=name)
        column = f"Positions[{name}]"
        if name == "Margin":   # an empty margin must stay empty, not become 0
            f = f'=IF(ISNUMBER(INDEX({column},$B${row0})),INDEX({column},$B${row0}),"")'
        else:
            f = f"=INDEX({column},$B${row0})"
        ws.cell(row=r, column=2, value=f)
        if name in PRICE_COLUMNS:
            price_formats(ws, f"B{r}")
        refs[name] = f"$B${r}"
    return refs


LADDER_HEADERS = ["Step", "Trigger price", "Contracts before", "Contracts after",
                  "Tier before", "Tier after", "Margin after"]


def ladder_sheet(ws, n: int) -> None:
    ws["A1"] = "Tiered liquidation ladder"
    ws["A1"].font = Font(bold=True, size=14, color="1F3864")
    refs = position_picker(ws, n)
    top = 13
    ws.cell(row=11, column=1, value="As the mark moves against the position, HTX cuts it "
            "tier by tier at each trigger price (HTX_LIQLADDER):").font = Font(italic=True)
    header_row(ws, top - 1, LADDER_HEADERS)
    f = (f"=HTX_LIQLADDER({refs['Contract']},{refs['Side']},{refs['Contracts']},"
         f"{refs['Entry price']},{refs['Leverage']},{refs['Margin']},{TIERS})")
    ws[f"A{top}"] = ArrayFormula(f"A{top}:G{top + LADDER_STEPS}", f)
    ws.row_dimensions[top].hidden = True   # the function's own header: words are above
    for r in range(top + 1, top + LADDER_STEPS + 1):
        price_formats(ws, f"B{r}")
        ws.cell(row=r, column=7).number_format = "#,##0.00"
        for c in (3, 4):
            ws.cell(row=r, column=c).number_format = "#,##0"
    step_chart_points(ws, f[1:], refs)
    widths(ws, {"A": 36, "B": 16, "C": 17, "D": 16, "E": 12, "F": 12, "G": 15})


def step_chart_points(ws, ladder: str, refs: dict[str, str]) -> None:
    """The points of a step chart of contracts held against the mark: from the opening
    position at the mark, down each trigger to what is left, to zero. Each point reads
    the ladder through INDEX (a spill's cells are not read by every engine)."""
    ws["I11"] = "Chart points: mark price, contracts held"
    ws["I11"].font = Font(italic=True, color="808080")
    mark = f'IF(ISNUMBER({refs["Mark price"]}),{refs["Mark price"]},{refs["Entry price"]})'
    ws["I12"], ws["J12"] = f"={mark}", f"={refs['Contracts']}"
    row = 13
    for k in range(1, LADDER_STEPS + 1):
        # each trigger twice: the contracts before the cut, then after it
        for col in (3, 4):
            ws[f"I{row}"] = f"=IFERROR(INDEX({ladder},{k + 1},2)*1,NA())"
            ws[f"J{row}"] = f"=IFERROR(INDEX({ladder},{k + 1},{col})*1,NA())"
            row += 1
    last = row - 1
    for r in range(12, last + 1):
        ws[f"I{r}"].font = ws[f"J{r}"].font = Font(color="808080")
    chart = ScatterChart()
    chart.title = "Contracts held as the mark reaches each trigger"
    chart.style = 13
    chart.x_axis.title = "Mark price"
    chart.y_axis.title = "Contracts held"
    xs = Reference(ws, min_col=9, min_row=12, max_row=last)
    ys = Reference(ws, min_col=10, min_row=12, max_row=last)
    held = Series(ys, xs, title="contracts held")
    held.smooth = False
    held.marker.symbol = "circle"
    held.graphicalProperties.line.solidFill = "1F3864"
    chart.series.append(held)
    show_axes(chart)
    chart.width, chart.height = 18, 9
    ws.add_chart(chart, "L3")


def show_axes(chart) -> None:
    """Axes drawn (``delete="0"``, as Excel writes them) with their labels."""
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False


def scenario_sheet(ws, n: int) -> None:
    ws["A1"] = "Scenario: the position over a price grid around its liquidation price"
    ws["A1"].font = Font(bold=True, size=14, color="1F3864")
    refs = position_picker(ws, n)
    pos = f"{refs['Contract']},{refs['Side']},{refs['Contracts']},{refs['Entry price']}"
    ws["D3"], ws["D4"], ws["D5"], ws["D6"] = ("Liquidation price", "Mark (entry if empty)",
                                              "Margin at the mark", "Grid step")
    ws["E3"] = f"=HTX_LIQPRICE({pos},{refs['Leverage']},{refs['Margin']},{TIERS})"
    ws["E4"] = (f'=IF(ISNUMBER({refs["Mark price"]}),{refs["Mark price"]},'
                f'{refs["Entry price"]})')
    ws["E5"] = (f"=HTX_EQUITY({pos},E4,{refs['Leverage']},{refs['Margin']},{TIERS})"
                f"-HTX_PNL({pos},E4,{TIERS})")
    half = SCENARIO_POINTS // 2
    # centred on the liquidation price, 3x its distance from the mark either side; a
    # position no price liquidates: its mark +-50%
    ws["E6"] = (f"=IF(ISNUMBER(E3),{SCENARIO_SPAN}*ABS(E4-E3)/{half},E4*0.5/{half})")
    for r in (3, 4):
        price_formats(ws, f"E{r}")
    ws["E5"].number_format = "#,##0.00"
    price_formats(ws, "E6")
    top = 12
    header_row(ws, top, ["Move from mark", "Price", "Contracts left", "Margin ratio",
                         "Equity", "PnL"])
    centre = "IF(ISNUMBER($E$3),$E$3,$E$4)"
    after = f"{pos},{refs['Leverage']},B{{r}},{refs['Margin']},{TIERS}"
    for k in range(SCENARIO_POINTS):
        r = top + 1 + k
        ws[f"B{r}"] = f"=MAX({centre}+({k - half})*$E$6,{centre}/1000)"
        ws[f"A{r}"] = f"=B{r}/$E$4-1"
        ws[f"C{r}"] = f"=HTX_AFTERLIQ({after.format(r=r)})"
        ws[f"D{r}"] = f'=HTX_AFTERLIQ({after.format(r=r)},"margin_ratio")'
        ws[f"E{r}"] = f'=HTX_AFTERLIQ({after.format(r=r)},"equity")'
        ws[f"F{r}"] = f"=E{r}-$E$5"   # an isolated loss stops at the margin
        ws[f"A{r}"].number_format = "+0.00%;-0.00%;0.00%"
        price_formats(ws, f"B{r}")
        ws[f"C{r}"].number_format = "#,##0"
        ws[f"D{r}"].number_format = PCT
        ws[f"E{r}"].number_format = ws[f"F{r}"].number_format = "#,##0.00"
    last = top + SCENARIO_POINTS
    ws.conditional_formatting.add(f"D{top + 1}:D{last}", FormulaRule(
        formula=[f"AND(ISNUMBER(D{top + 1}),D{top + 1}>=1)"], fill=RED))
    ws.conditional_formatting.add(f"C{top + 1}:C{last}", FormulaRule(
        formula=[f"AND(ISNUMBER(C{top + 1}),C{top + 1}=0)"], fill=RED))
    chart = ScatterChart()
    chart.title = "Contracts left (tiered liquidation) and margin ratio over price"
    chart.style = 13
    chart.x_axis.title = "Price"
    chart.y_axis.title = "Contracts left"
    xs = Reference(ws, min_col=2, min_row=top + 1, max_row=last)
    left = Series(Reference(ws, min_col=3, min_row=top, max_row=last), xs,
                  title_from_data=True)
    left.smooth = False
    left.marker.symbol = "circle"
    chart.series.append(left)
    ratio = ScatterChart()
    r_series = Series(Reference(ws, min_col=4, min_row=top, max_row=last), xs,
                      title_from_data=True)
    r_series.smooth = False
    ratio.series.append(r_series)
    ratio.y_axis.axId = 200
    ratio.y_axis.title = "Margin ratio"
    ratio.y_axis.crosses = "max"
    ratio.y_axis.number_format = "0%"
    # the liquidation price drawn as a vertical marker
    ws["H12"] = "Liquidation price marker"
    ws["H12"].alignment = Alignment(shrink_to_fit=True)
    ws["H13"], ws["I13"] = "=$E$3", 0
    ws["H14"], ws["I14"] = "=$E$3", f"={refs['Contracts']}"
    liq = Series(Reference(ws, min_col=9, min_row=13, max_row=14),
                 Reference(ws, min_col=8, min_row=13, max_row=14), title="liquidation price")
    liq.smooth = False
    liq.graphicalProperties.line.solidFill = "FF5B5B"
    liq.graphicalProperties.line.dashStyle = "dash"
    chart.series.append(liq)
    show_axes(chart)
    show_axes(ratio)
    chart += ratio
    chart.width, chart.height = 20, 10
    ws.add_chart(chart, "K3")
    ws.freeze_panes = f"A{top + 1}"
    widths(ws, {"A": 36, "B": 16, "C": 15, "D": 22, "E": 16, "F": 14, "H": 12, "I": 10})


ACCOUNT_LEGS = [("BTC-USDT", "long", 20000, 64000, 63500, 20),
                ("BTC-USDT", "short", 5000, 64500, 63500, 20),
                ("ETH-USDT", "short", 3000, 3100, 3150, 20),
                ("SOL-USDT", "long", 500, 142.5, 140.0, 10)]


def accounts_sheet(ws) -> None:
    """One USDT cross margin account with a hedge pair: per contract its liquidation
    price (the legs of one contract move together), the account's margin ratio and
    HTX's risk rate, all from HTX_ACCOUNT."""
    ws["A1"] = "Margin account (USDT cross)"
    ws["A1"].font = Font(bold=True, size=14, color="1F3864")
    inputs = [("Margin mode", "cross", "@"),
              ("Balance before unrealized PnL (USDT, HTX margin_static)", 25000, MONEY),
              ("Frozen order margin (USDT)", 0, MONEY)]
    for r, (label, value, fmt) in enumerate(inputs, start=3):
        ws.cell(row=r, column=1, value=label)
        c = ws.cell(row=r, column=2, value=value)
        c.fill = INPUT_FILL
        c.number_format = fmt
    validate(ws, "B3", '"isolated,cross"', "isolated (one contract) or cross")
    head = ["Contract", "Side", "Contracts", "Cost basis", "Mark price", "Leverage",
            "Liq. price", "Margin ratio", "Risk rate", "Equity"]
    top = 8
    header_row(ws, top - 1, head)
    for i, row in enumerate(ACCOUNT_LEGS, start=top):
        for j, v in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=v).fill = INPUT_FILL
    last = top + len(ACCOUNT_LEGS) - 1
    cols = ",".join(f"{c}{top}:{c}{last}" for c in "ABCDEF")
    ws[f"G{top}"] = ArrayFormula(f"G{top}:J{last}", f"=HTX_ACCOUNT({cols},B4,B3,B5,{TIERS})")
    for r in range(top, last + 1):
        for c, fmt in zip("GHIJ", (PRICE, PCT, "0.0000", MONEY)):
            ws[f"{c}{r}"].number_format = fmt
    notes = [
        "The legs of one contract (here the BTC-USDT long and short) move with one price "
        "and are tiered on the net position; each contract's liquidation price holds the "
        "other contracts at their mark prices.",
        "Risk rate (HTX's risk_rate; liquidation at 0 or below): USDT cross = equity / "
        "sum(adjust factor x (margin + frozen)) - 1; isolated and coin-margined = equity / "
        "(margin + frozen) - adjust factor.",
        "Cost basis: HTX's cost_hold (the settled basis), not the average open price.",
    ]
    for k, text in enumerate(notes, start=last + 2):
        ws.cell(row=k, column=1, value=text).font = Font(italic=True)
    widths(ws, {"A": 30, "B": 12, "C": 12, "D": 13, "E": 13, "F": 10, "G": 15, "H": 13,
                "I": 12, "J": 15})


MAP_RANGE = (25000, 70000, 1000)   # from, to, step of the sample map (BTC prices)


def liqmap_sheet(ws, n: int) -> None:
    """HTX_LIQMAP over the Positions table: per price bucket the contracts and notional
    force-closed, longs and shorts apart, and a bar chart."""
    ws["A1"] = "Liquidation map of the Positions book"
    ws["A1"].font = Font(bold=True, size=14, color="1F3864")
    lo, hi, step = MAP_RANGE
    inputs = [("Price from", lo), ("Price to", hi), ("Bucket width", step),
              ("Mark (cumulative counts from here)", 30000)]
    for r, (label, value) in enumerate(inputs, start=3):
        ws.cell(row=r, column=1, value=label)
        c = ws.cell(row=r, column=2, value=value)
        c.fill = INPUT_FILL
        c.number_format = PRICE
    ws.cell(row=7, column=1, value="The range picks the underlying: positions whose triggers "
            "fall outside it (other coins) are not shown.").font = Font(italic=True)
    top, buckets = 9, (hi - lo) // step
    cols = ",".join(f"Positions[{c}]" for c in ("Contract", "Side", "Contracts", "Entry price",
                                                 "Leverage", "Margin"))
    ws[f"A{top}"] = ArrayFormula(f"A{top}:G{top + buckets}",
                                 f"=HTX_LIQMAP({cols},B3,B4,B5,{TIERS},B6)")
    for r in range(top + 1, top + buckets + 1):
        for c, fmt in zip("ABCDEFG", (PRICE, PRICE, "#,##0", "#,##0", MONEY, MONEY, MONEY)):
            ws[f"{c}{r}"].number_format = fmt
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "Notional force-closed per price bucket (longs red, shorts green)"
    chart.y_axis.title = "notional (USDT / USD)"
    chart.x_axis.title = "bucket (low price)"
    chart.add_data(Reference(ws, min_col=5, max_col=6, min_row=top, max_row=top + buckets),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + buckets))
    for series, colour in zip(chart.series, ("D9534F", "2E7D32")):
        series.graphicalProperties.solidFill = colour
    # the mark: a bar in its bucket on a second axis, from the inputs alone
    ws[f"H{top}"] = "Mark"
    for k in range(buckets):
        ws[f"H{top + 1 + k}"] = (f"=IF(AND($B$6>=$B$3+{k}*$B$5,$B$6<$B$3+{k + 1}*$B$5),1,0)")
    marker = BarChart()
    marker.add_data(Reference(ws, min_col=8, min_row=top, max_row=top + buckets),
                    titles_from_data=True)
    marker.series[0].graphicalProperties.solidFill = "1F3864"
    marker.y_axis.axId = 300
    marker.y_axis.scaling.max = 1
    marker.y_axis.delete = True   # a 0/1 helper axis: the bar, not its scale
    marker.y_axis.crosses = "max"
    chart += marker
    show_axes(chart)
    chart.width, chart.height = 24, 11
    ws.add_chart(chart, "I3")
    widths(ws, {"A": 34, "B": 14, "C": 16, "D": 16, "E": 16, "F": 16, "G": 20})


def contract_rows(table: TierTable) -> list[list[Any]]:
    out: list[list[Any]] = [["contract_code", "kind", "contract_size"]]
    for code in table.codes:
        c = table.contracts[code]
        out.append([c.code, c.kind, c.size])
    return out


def reference_sheet(ws, name: str, rows: list[list[Any]], table: TierTable) -> None:
    header_row(ws, 1, rows[0])
    for r, row in enumerate(rows[1:], start=2):
        for j, v in enumerate(row, start=1):
            ws.cell(row=r, column=j, value=v)
    last = get_column_letter(len(rows[0]))
    t = Table(displayName=name, ref=f"A1:{last}{max(len(rows), 2)}")
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(t)
    ws.freeze_panes = "A2"
    note = get_column_letter(len(rows[0]) + 2)
    ws[f"{note}1"] = "Source"
    ws[f"{note}1"].font = Font(bold=True)
    ws[f"{note}2"] = table.source
    ws[f"{note}3"] = f"As of {table.as_of}"
    ws[f"{note}4"] = "Replace with: xlhtx tiers fetch --workbook <this file>"
    for j, h in enumerate(rows[0], start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(12.0, len(str(h)) + 4)
    ws.column_dimensions[note].width = 60


def xlwings_conf(ws) -> None:
    """xlwings' workbook settings: only rows with a value (an empty Interpreter_Win row
    would override the interpreter the user set in the xlwings add-in)."""
    for row in (("UDF Modules", "xlhtx.udfs"), ("Use UDF Server", "True"),
                ("Show Console", "False")):
        ws.append(list(row))
    widths(ws, {"A": 20, "B": 30})
