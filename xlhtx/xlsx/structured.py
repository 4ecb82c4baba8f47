"""Excel Table structured references -> A1 references, for formula engines that do not
know Tables (the ``formulas`` package evaluating a workbook without Excel).

Handles ``Table[Col]``, ``Table[[Col]]``, ``Table[[Col1]:[Col2]]``, ``Table[#All]``,
``Table[#Data]``, ``Table[#Headers]``, ``Table[]``, ``Table[[#All],[Col]]`` (and
``#Data``/``#Headers``), ``Table[[#This Row],[Col]]`` and the ``[@Col]`` /
``[@[Col name]]`` / ``Table[@Col]`` shorthands (the table holding the cell).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.utils import get_column_letter, range_boundaries
from xlhtx.errors import XlhtxError


@dataclass(frozen=True)
class TableInfo:
    name: str
    sheet: str
    min_col: int
    min_row: int
    max_col: int
    max_row: int
    columns: tuple[str, ...]
    header_rows: int = 1

    def holds(self, sheet: str, row: int, col: int) -> bool:
        return sheet == self.sheet and self.min_row <= row <= self.max_row and \
            self.min_col <= col <= self.max_col


class StructuredRefError(XlhtxError):
    pass


def tables_of(workbook) -> dict[str, TableInfo]:
    """Upper-cased table name -> its place, from an openpyxl workbook."""
    out = {}
    for ws in workbook.worksheets:
        for name in list(ws.tables):
            t = ws.tables[name]
            min_col, min_row, max_col, max_row = range_boundaries(t.ref)
            cols = tuple(c.name for c in t.tableColumns) if t.tableColumns else tuple(
                str(ws.cell(row=min_row, column=c).value) for c in range(min_col, max_col + 1))
            out[name.upper()] = TableInfo(name, ws.title, min_col, min_row, max_col, max_row,
                                          cols, t.headerRowCount if t.headerRowCount is not None
                                          else 1)
    return out


NAME = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.\\]*$")


def translate(formula: str, tables: dict[str, TableInfo], sheet: str, row: int,
              col: int) -> str:
    """``formula`` with every structured reference replaced by an absolute A1 reference."""
    if "[" not in formula or not tables:
        return formula
    out, i, n = [], 0, len(formula)
    in_str = False
    while i < n:
        ch = formula[i]
        if ch == '"':
            in_str = not in_str
            out.append(ch)
            i += 1
            continue
        if in_str or ch != "[":
            out.append(ch)
            i += 1
            continue
        # a bracket outside a string: find the table name written just before it
        prefix = "".join(out)
        m = NAME.search(prefix)
        name = m.group(0) if m else ""
        if m and (m.start() > 0 and prefix[m.start() - 1] in "'!"):
            out.append(ch)  # part of an external/sheet reference: leave it
            i += 1
            continue
        end = _bracket_end(formula, i)
        spec = formula[i + 1:end]
        table = tables.get(name.upper()) if name else _table_at(tables, sheet, row, col)
        if table is None:
            if name:
                raise StructuredRefError(f"unknown table {name!r} in {formula}")
            raise StructuredRefError(f"{formula}: [@...] outside a table")
        ref = _resolve(table, spec, row)
        if name:
            del out[len(out) - len(name):]
        out.append(ref)
        i = end + 1
    return "".join(out)


def _bracket_end(s: str, start: int) -> int:
    depth = 0
    for j in range(start, len(s)):
        if s[j] == "'" and j + 1 < len(s):   # escaped character in a column name
            continue
        if s[j] == "[":
            depth += 1
        elif s[j] == "]":
            depth -= 1
            if depth == 0:
                return j
    raise StructuredRefError(f"unbalanced brackets in {s}")


def _table_at(tables: dict[str, TableInfo], sheet: str, row: int, col: int) -> TableInfo | None:
    for t in tables.values():
        if t.holds(sheet, row, col):
            return t
    return None


def _resolve(t: TableInfo, spec: str, row: int) -> str:
    spec = spec.strip()
    items = [x.strip() for x in re.findall(r"\[([^\[\]]*)\]", spec)] if spec.startswith("[") \
        else [spec] if spec else []
    area, cols = "#data", []
    for it in items:
        if it.startswith("@"):
            area = "#this row"
            rest = it[1:].strip()
            if rest:
                cols.append(rest)
        elif it.startswith("#"):
            area = it.lower()
        elif it:
            cols.append(it)
    if spec.startswith("@"):   # [@[Col name]] lands here with items empty
        area = "#this row"
        inner = re.findall(r"\[([^\[\]]*)\]", spec)
        cols = inner or [spec[1:]]
    span = ":" in spec and len(cols) == 2
    first_row = t.min_row + t.header_rows
    rows = {"#all": (t.min_row, t.max_row), "#data": (first_row, t.max_row),
            "#headers": (t.min_row, t.min_row), "#this row": (row, row)}
    if area not in rows:
        raise StructuredRefError(f"{t.name}[{spec}]: {area} is not supported")
    r0, r1 = rows[area]
    if cols:
        idx = [_column(t, c) for c in cols]
        c0, c1 = (min(idx), max(idx)) if span or len(idx) > 1 else (idx[0], idx[0])
    else:
        c0, c1 = t.min_col, t.max_col
    sheet = "'" + t.sheet.replace("'", "''") + "'!"
    a = f"${get_column_letter(c0)}${r0}"
    b = f"${get_column_letter(c1)}${r1}"
    return sheet + (a if a == b else f"{a}:{b}")


def _column(t: TableInfo, name: str) -> int:
    name = re.sub(r"'(.)", r"\1", name)
    for j, c in enumerate(t.columns):
        if c.lower() == name.lower():
            return t.min_col + j
    raise StructuredRefError(f"table {t.name} has no column {name!r}")
