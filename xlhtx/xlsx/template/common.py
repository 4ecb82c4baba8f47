"""Formats and helpers every sheet of the template uses: the workbook's formats, headers,
widths, validations, conditional formats and spills."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from xlhtx.xlsx.compat import drawn_axes


# every HTX_* call reads the Tiers sheet's two Tables (adjustment-factor ladders and, beside
# them, risk-limit tiers) through one defined name over both, with room to add rows
TIERS = "TierTables"

# every HTX_* cell reads the tier table through one cell holding its handle
# (HTX_TIERSET(TierTables)): the table crosses from Excel to Python once per
# recalculation, not once per call
TIER_SET = "TierSet"

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

# a price shows the digits its size needs (BTC 29,915.56; DOGE 0.122213): by magnitude
PRICE_FORMATS = ((1000, "#,##0.00"), (1, "#,##0.0000"), (0, "0.000000##"))


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
