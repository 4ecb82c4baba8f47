"""Cell and range references: where a formula's operand points, and back to A1 text.

A ``Ref``'s rows are absolute, or offsets from the row of the formula's cell when the
reference moves with it (a formula filled down, a Table's ``[#This Row]``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname

from xlhtx.xlsx.package import MAX_COL, MAX_ROW, TableInfo


class Ref(NamedTuple):
    sheet: str
    r0: int          # a row, or an offset from the cell's row when rel0
    c0: int
    r1: int
    c1: int
    rel0: bool = False
    rel1: bool = False

    def rows(self, row: int) -> tuple[int, int]:
        return (row + self.r0 if self.rel0 else self.r0, row + self.r1 if self.rel1 else self.r1)

    @property
    def single(self) -> bool:
        return self.c0 == self.c1 and (self.r0, self.rel0) == (self.r1, self.rel1)

    @property
    def moves(self) -> bool:
        return self.rel0 or self.rel1


SIDE = r"(\$?[A-Za-z]{1,3})?(\$?\d+)?"
A1 = re.compile(rf"^{SIDE}(?::{SIDE})?$")


def render_ref(ref: Ref, row: int) -> str:
    r0, r1 = ref.rows(row)
    a = f"${get_column_letter(ref.c0)}${r0}"
    b = f"${get_column_letter(ref.c1)}${r1}"
    return quote_sheetname(ref.sheet) + "!" + (a if a == b else f"{a}:{b}")


class Context(NamedTuple):
    """What references are resolved against."""
    sheets: dict[str, str]                      # upper-cased name -> name
    tables: dict[str, TableInfo]
    names: dict[tuple[str | None, str], str]    # (sheet or None, upper name) -> formula


def split_sheet(text: str) -> tuple[str | None, str]:
    if "!" not in text:
        return None, text
    sheet, _, ref = text.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref


def parse_a1(text: str, sheet: str, ctx: Context, row: int | None = None) -> Ref | None:
    """An A1 reference as a ``Ref``; with ``row``, rows written without ``$`` become
    offsets from it (the reference moves when the formula is filled down)."""
    name, ref = split_sheet(text)
    if name is not None:
        name = ctx.sheets.get(name.upper())
        if name is None:
            return None
    m = A1.match(ref)
    if not m:
        return None
    col0, row0, col1, row1 = m.groups()
    if ":" not in ref:
        if not (col0 and row0):
            return None
        col1, row1 = col0, row0
    elif not ((col0 and row0 and col1 and row1) or (col0 and col1 and not row0 and not row1)
              or (row0 and row1 and not col0 and not col1)):
        return None
    c0 = column_index_from_string(col0.lstrip("$").upper()) if col0 else 1
    c1 = column_index_from_string(col1.lstrip("$").upper()) if col1 else MAX_COL
    r0 = int(row0.lstrip("$")) if row0 else 1
    r1 = int(row1.lstrip("$")) if row1 else MAX_ROW
    if not (1 <= r0 <= MAX_ROW and 1 <= r1 <= MAX_ROW and c0 <= MAX_COL and c1 <= MAX_COL):
        return None
    rel0 = row is not None and bool(row0) and not row0.startswith("$")
    rel1 = row is not None and bool(row1) and not row1.startswith("$")
    if (r0 > r1 and rel0 == rel1) or c0 > c1:
        r0, r1, rel0, rel1 = (r1, r0, rel1, rel0) if r0 > r1 else (r0, r1, rel0, rel1)
        c0, c1 = min(c0, c1), max(c0, c1)
    return Ref(name or sheet, r0 - row if rel0 else r0, c0, r1 - row if rel1 else r1, c1,
               rel0, rel1)


