"""Excel Table structured references resolved to the cells they name (``Ref``), so a
workbook's formulas can be computed without Excel.

Handles ``Table[Col]``, ``Table[[Col]]``, ``Table[[Col1]:[Col2]]``, ``Table[#All]``,
``Table[#Data]``, ``Table[#Headers]``, ``Table[]``, ``Table[[#All],[Col]]`` (and
``#Data``/``#Headers``), ``Table[[#This Row],[Col]]`` and the ``[@Col]`` /
``[@[Col name]]`` / ``Table[@Col]`` shorthands (the table holding the cell).
"""

from __future__ import annotations

import re
from xlhtx.errors import XlhtxError
from xlhtx.xlsx.package import TableInfo
from xlhtx.xlsx.refs import Ref


class StructuredRefError(XlhtxError):
    pass


def resolve_structured(operand: str, tables: dict[str, TableInfo], sheet: str, row: int,
                       col: int) -> Ref:
    """One structured-reference operand of a formula (as the tokenizer gives it) as a
    ``Ref``: ``[#This Row]`` references move with the cell, the others are absolute."""
    i = operand.index("[")
    name, spec = operand[:i], operand[i:]
    if not spec.endswith("]") or _bracket_end(spec, 0) != len(spec) - 1:
        raise StructuredRefError(f"unbalanced brackets in {operand}")
    table = tables.get(name.upper()) if name else _table_at(tables, sheet, row, col)
    if table is None:
        if name:
            raise StructuredRefError(f"unknown table {name!r} in {operand}")
        raise StructuredRefError(f"{operand}: [@...] outside a table")
    return _resolve(table, spec[1:-1])


def _bracket_end(s: str, start: int) -> int:
    depth = 0
    j = start
    while j < len(s):
        if s[j] == "'":   # an escaped character in a column name
            j += 2
            continue
        if s[j] == "[":
            depth += 1
        elif s[j] == "]":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise StructuredRefError(f"unbalanced brackets in {s}")


def _table_at(tables: dict[str, TableInfo], sheet: str, row: int, col: int) -> TableInfo | None:
    for t in tables.values():
        if t.holds(sheet, row, col):
            return t
    return None


def _resolve(t: TableInfo, spec: str) -> Ref:
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
    last_row = t.max_row - t.totals_rows
    rows = {"#all": (t.min_row, t.max_row), "#data": (first_row, last_row),
            "#headers": (t.min_row, t.min_row), "#totals": (last_row + 1, t.max_row),
            "#this row": (0, 0)}
    if area not in rows:
        raise StructuredRefError(f"{t.name}[{spec}]: {area} is not supported")
    r0, r1 = rows[area]
    if cols:
        idx = [_column(t, c) for c in cols]
        c0, c1 = (min(idx), max(idx)) if span or len(idx) > 1 else (idx[0], idx[0])
    else:
        c0, c1 = t.min_col, t.max_col
    moves = area == "#this row"
    return Ref(t.sheet, r0, c0, r1, c1, moves, moves)


def _column(t: TableInfo, name: str) -> int:
    name = re.sub(r"'(.)", r"\1", name)
    for j, c in enumerate(t.columns):
        if c.lower() == name.lower():
            return t.min_col + j
    raise StructuredRefError(f"table {t.name} has no column {name!r}")
