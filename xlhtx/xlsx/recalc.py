"""Recalculating a workbook without Excel, column by column.

1. Read the package once (``cells.read_workbook``): input values into a column store,
   formula cells grouped by column and text as they stream past.
2. Plan (``plan``): group the cells of a column whose formulas are the same relative to
   their row, tokenize each group once, and order the groups by what they read.
3. Evaluate (``evaluate``): a column of ``HTX_*`` calls is one call of the Excel function
   over the column (one kernel call); a column of an ordinary formula is compiled once
   by the ``formulas`` engine and evaluated on whole columns where that is exact; single
   cells and spills go through the engine.
4. Write (``package.inject_values``): one streaming pass per sheet puts the values into a
   copy of the file; sheets, styles, charts and VBA survive, and the input is never
   overwritten unless asked.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

from xlhtx.xlsx.cells import MAX_FORMULAS, RecalcError, Store, a1, read_workbook
from xlhtx.xlsx.evaluate import Evaluator, ExcelFunctions
from xlhtx.xlsx.package import LayoutError, SheetValues, inject_values
from xlhtx.xlsx.plan import CellIndex, Node, nodes_of, order
from xlhtx.xlsx.workbook_io import WorkbookError, check_workbook_file

Cell = tuple[str, int, int]   # (sheet, row, column)
HTX_CALL = re.compile(r"\bHTX_[A-Z0-9_]+\(", re.I)
__all__ = ["RecalcError", "WorkbookModel", "recalc", "ExcelFunctions", "MAX_FORMULAS"]


class WorkbookModel:
    """A workbook's formulas, read and planned once, ready to be calculated with changed
    inputs."""

    def __init__(self, path: str | Path, functions: ExcelFunctions, *,
                 progress: Callable[[str], None] = lambda s: None):
        self.path = Path(path)
        self.functions = functions
        self.progress = progress
        try:
            check_workbook_file(self.path)
            self.book = read_workbook(self.path, progress)
        except (WorkbookError, LayoutError) as e:
            raise RecalcError(str(e) if str(self.path) in str(e) else f"{self.path}: {e}") \
                from None
        self.inputs: Store = self.book.inputs
        self.nodes: list[Node] = order(nodes_of(self.book), progress)
        self.index = CellIndex(self.nodes)
        self.last_run: Counter = Counter()

    def evaluate(self, changes: dict[Cell, Any] | None = None) -> Store:
        """Every cell's value with ``changes`` applied to input cells."""
        store = self.inputs.copy()
        for (sheet, row, col), v in (changes or {}).items():
            if self.index.holds(sheet, row, col):
                raise RecalcError(f"{a1(sheet, row, col)} holds a formula; change an input cell")
            store.set(sheet, row, col, v)
        ev = Evaluator(self.functions, self.book.context, store, self.progress)
        ev.run(self.nodes)
        self.last_run = ev.how
        return store

    def recalculated_by(self, sheet: str, row: int, col: int) -> dict[Cell, int]:
        """The formula cells Excel recomputes after an edit of the input cell ``(sheet,
        row, col)`` — those that read it, then those that read them — each with the
        number of ``HTX_*`` calls its formula makes (a spilled formula is its anchor
        cell: one call however far it spills). This is the cost of one edit in Excel,
        where every call is a trip to Python."""
        formulas = []
        for n in self.nodes:
            calls = sum(len(HTX_CALL.findall(p)) for p in n.template.parts
                        if isinstance(p, str))
            for r in n.rows:
                reads = [(ref.sheet, *ref.rows(r), ref.c0, ref.c1) for ref in n.template.refs]
                writes = ([(n.sheet, rr, cc) for rr, cc in n.cells()] if n.spill
                          else [(n.sheet, r, n.col)])
                formulas.append(((n.sheet, r, n.col), writes, reads, calls))
        out: dict[Cell, int] = {}
        frontier = [(sheet, row, col)]
        while frontier:
            changed = []
            for cell, writes, reads, calls in formulas:
                if cell not in out and any(
                        s == fs and r0 <= fr <= r1 and c0 <= fc <= c1
                        for s, r0, r1, c0, c1 in reads for fs, fr, fc in frontier):
                    out[cell] = calls
                    changed.extend(writes)
            frontier = changed
        return out

    def cells(self) -> list[Cell]:
        """Every formula cell and every cell a formula spills into."""
        return [(n.sheet, r, c) for n in self.nodes for r, c in n.cells()]

    def calculate(self, changes: dict[Cell, Any] | None = None) -> dict[Cell, Any]:
        """Values of every formula cell (and every cell a formula spills into)."""
        store = self.evaluate(changes)
        return {cell: store.get(*cell) for cell in self.cells()}

    def sheet_values(self, store: Store) -> dict[str, SheetValues]:
        """What the writer puts into each sheet that has formulas."""
        spilled: dict[str, dict[int, dict[int, Any]]] = defaultdict(lambda: defaultdict(dict))
        sheets = {n.sheet for n in self.nodes}
        for n in self.nodes:
            if n.spill:
                for r, c in n.cells():
                    spilled[n.sheet][r][c] = store.get(n.sheet, r, c)
        return {s: SheetValues(lambda r, c, s=s: store.get(s, r, c), dict(spilled[s]))
                for s in sheets}


# --------------------------------------------------------------------- command

def recalc(book: str | Path, out: str | Path | None = None, *, functions: ExcelFunctions,
           in_place: bool = False, values_only: bool = False,
           progress: Callable[[str], None] = lambda s: None) -> Path:
    """Recalculate ``book`` and write a copy with cached values (see module doc)."""
    from xlhtx.files import atomic_write
    book = Path(book)
    if in_place and out is not None:
        raise RecalcError("give either -o OUT or --in-place, not both")
    if in_place:
        target = book
    else:
        target = Path(out) if out else book.with_name(
            f"{book.stem}-values{'.xlsx' if values_only else book.suffix}")
        if target.resolve() == book.resolve():
            raise RecalcError(f"{target}: the output would overwrite the input; use "
                              "--in-place to do that")
    if values_only and target.suffix.lower() != ".xlsx":
        raise RecalcError(f"{target}: a values-only copy has no macros; name it .xlsx")
    if target.suffix.lower() == ".xlsm" and book.suffix.lower() != ".xlsm":
        raise RecalcError(f"{target}: {book.name} has no macros; name the copy .xlsx")
    progress(f"reading {book}")
    model = WorkbookModel(book, functions, progress=progress)
    progress("calculating")
    store = model.evaluate()
    try:
        atomic_write(target, lambda tmp: inject_values(
            book, tmp, model.sheet_values(store), keep_formulas=not values_only,
            drop_vba=values_only or target.suffix.lower() == ".xlsx", parts=model.book.parts,
            fast=model.book.fast, cell_value=store.get, progress=progress),
            replace_input=in_place)
    except LayoutError as e:
        raise RecalcError(f"{book}: {e}") from None
    return target
