"""A workbook's cells as recalculation needs them, read in one streaming pass.

``Store`` holds values by sheet and column, each column a list indexed by row (a column
of 100,000 values is one list, and a column range is a slice of it). ``read_workbook``
fills it with the input cells and collects the formula cells: formulas written out in
full grouped by (sheet, column, text), shared formulas by their group, array formulas
with the range they fill.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, NamedTuple

from openpyxl.utils import get_column_letter, range_boundaries

from xlhtx.errors import XlhtxError
from xlhtx.xlsx import package
from xlhtx.xlsx.refs import Context

MAX_FORMULA_CHARS = 8_192   # Excel's limit on a formula's length (with its "=")
MAX_FORMULAS = 3_000_000   # formula cells a headless recalculation takes on


class RecalcError(XlhtxError):
    """The workbook cannot be recalculated; the message says why."""


def a1(sheet: str, row: int, col: int) -> str:
    return f"{sheet}!{get_column_letter(col)}{row}"


MAX_RANGE_CELLS = 5_000_000   # cells one range may read (A1:XFD1048576 is 17 billion)


class Store:
    """Cell values by sheet and column (``{row: value}`` per column, so a sheet with one
    cell at row 1,048,576 in every column stays small); empty cells are absent."""

    def __init__(self) -> None:
        self.columns: dict[str, dict[int, dict[int, Any]]] = defaultdict(dict)
        self.last: dict[str, int] = defaultdict(int)   # the last row a sheet uses

    def get(self, sheet: str, row: int, col: int) -> Any:
        column = self.columns.get(sheet, {}).get(col)
        return column.get(row) if column is not None else None

    def set(self, sheet: str, row: int, col: int, value: Any) -> None:
        self.columns[sheet].setdefault(col, {})[row] = value
        if row > self.last[sheet]:
            self.last[sheet] = row

    def set_rows(self, sheet: str, col: int, rows: list[int], values: list) -> None:
        self.columns[sheet].setdefault(col, {}).update(zip(rows, values))
        if rows and rows[-1] > self.last[sheet]:
            self.last[sheet] = rows[-1]

    def rows_of(self, sheet: str, col: int, rows: list[int]) -> list:
        get = self.columns.get(sheet, {}).get(col, {}).get
        return [get(r) for r in rows]

    def block(self, sheet: str, r0: int, c0: int, r1: int, c1: int) -> list[list]:
        """Rows r0..r1 of columns c0..c1 as a list of rows."""
        cells = (r1 - r0 + 1) * (c1 - c0 + 1)
        if cells > MAX_RANGE_CELLS:
            raise RecalcError(f"a formula reads {sheet}!{get_column_letter(c0)}{r0}:"
                              f"{get_column_letter(c1)}{r1}, {cells:,} cells, more than the "
                              f"{MAX_RANGE_CELLS:,} one range may hold in headless "
                              "recalculation; narrow the range or use Excel")
        sheet_cols = self.columns.get(sheet, {})
        gets = [sheet_cols.get(c, {}).get for c in range(c0, c1 + 1)]
        return [[get(r) for get in gets] for r in range(r0, r1 + 1)]

    def last_row(self, sheet: str) -> int:
        return self.last.get(sheet, 0)

    def last_col(self, sheet: str) -> int:
        return max(self.columns.get(sheet, {}), default=0)

    def copy(self) -> "Store":
        new = Store()
        for sheet, cols in self.columns.items():
            new.columns[sheet] = {c: dict(v) for c, v in cols.items()}
        new.last.update(self.last)
        return new


class Shared(NamedTuple):
    text: str
    row: int
    col: int
    cells: list[tuple[int, int]]


class Workbook(NamedTuple):
    """What recalculation reads from a workbook."""
    path: Path
    parts: package.Parts                                   # the package, as read
    context: Context
    inputs: Store
    texts: dict[tuple[str, int], dict[str, list[int]]]    # (sheet, col) -> text (no "=") -> rows
    shared: dict[tuple[str, str], Shared]                  # (sheet, si) -> shared formula
    arrays: dict[tuple[str, int, int], tuple[str, tuple[int, int, int, int]]]
    fast: frozenset[str]          # sheet parts the compiled scan read (``package.read_fast``)


def _too_many(path: Path, n: int) -> RecalcError:
    return RecalcError(f"{path}: {n:,} formulas, more than the {MAX_FORMULAS:,} headless "
                       "recalculation takes on; use `xlhtx calc` on the positions table, "
                       "or Excel")


def count_formulas(parts: package.Parts) -> int:
    """Formula cells of the sheets, counted in their bytes before anything is parsed (a
    workbook over the limit is refused at once)."""
    sheets = set(package.sheet_parts(parts).values())
    return sum(data.count(b"<f>") + data.count(b"<f ") for name, data in parts
               if name in sheets)


def read_workbook(path: Path, progress: Callable[[str], None] = lambda s: None) -> Workbook:
    """Check the package, then read it: inputs into a ``Store``, formulas collected."""
    raw = package.read_parts(path)
    package.check_layout(raw)
    n = count_formulas(raw)
    if n > MAX_FORMULAS:
        raise _too_many(path, n)
    parts = dict(raw)
    strings = package.shared_strings(parts)
    where = package.sheet_parts(parts)
    sheets = list(where)
    context = Context({s.upper(): s for s in sheets}, package.tables(parts),
                      package.defined_names(parts))
    store = Store()
    texts: dict[tuple[str, int], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    shared: dict[tuple[str, str], Shared] = {}
    followers: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    arrays = {}
    scanned: set[str] = set()
    n = 0

    def formula(sheet: str, rows: list[int], col: int, f: package.Formula) -> None:
        nonlocal n
        n += len(rows)
        if n > MAX_FORMULAS:   # XML the byte count above missed (a namespace prefix)
            raise _too_many(path, n)
        if len(f.text) + 1 > MAX_FORMULA_CHARS:
            raise RecalcError(f"{a1(sheet, rows[0], col)}: a formula of {len(f.text) + 1:,} "
                              f"characters; Excel takes at most {MAX_FORMULA_CHARS:,}")
        if f.kind == "array":
            for row in rows:
                arrays[(sheet, row, col)] = ("=" + f.text, range_boundaries(
                    f.ref or f"{get_column_letter(col)}{row}"))
        elif f.kind == "shared":
            for row in rows:
                if f.text:   # the group's first cell holds its text
                    shared[(sheet, f.shared)] = Shared("=" + f.text, row, col, [])
                followers[(sheet, f.shared)].append((row, col))
        elif f.kind == "dataTable":
            raise RecalcError(f"{a1(sheet, rows[0], col)} is a what-if data table; headless "
                              "recalculation does not compute those: use Excel")
        else:
            texts[(sheet, col)][f.text].extend(rows)

    for sheet in sheets:
        progress(f"reading {sheet}")
        data = parts[where[sheet]]
        fast = package.read_fast(data, strings)
        if fast is not None:
            scanned.add(where[sheet])
            for col, rows, values in fast.columns:
                store.set_rows(sheet, col, rows, values)
            for rows, col, f in fast.formulas:
                formula(sheet, rows, col, f)
            continue
        for row, col, value, f in package.read_cells(data, strings):
            if f is None:
                if value is not None:
                    store.set(sheet, row, col, value)
            else:
                formula(sheet, [row], col, f)
    for key, cells in followers.items():
        if key not in shared:
            sheet, si = key
            raise RecalcError(f"{sheet}: shared formula {si} has no cell holding its text; "
                              "open and save the file in Excel first")
        shared[key].cells.extend(cells)
    return Workbook(Path(path), raw, context, store, texts, shared, arrays,
                    frozenset(scanned))
