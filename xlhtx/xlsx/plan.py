"""Which formula cells are computed together, and in which order.

A ``Node`` is a set of rows of one column whose formulas have the same template (the
same formula relative to the row), or one cell. Cells are grouped without tokenizing
each formula: cells of a column with the same text share a template; a shared formula's
cells share their first cell's; fill-down formulas (``=B2-C2``, ``=B3-C3``, ...) are
matched by the digits of their text (``formula.shape_of``). Each group's text is
tokenized once.

Nodes are ordered (``graphlib``) so every node comes after the nodes whose cells it reads.
A group whose rows read each other (a running total) is split into its cells; a cycle of
single cells is a circular reference and is refused, naming its cells.
"""

from __future__ import annotations

import bisect
import graphlib
from collections import defaultdict
from typing import Callable, NamedTuple

from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter

from xlhtx.xlsx.cells import RecalcError, Workbook, a1
from xlhtx.xlsx.formula import DIGITS, FormulaError, Template, row_key, shape_of, template


class Node(NamedTuple):
    sheet: str
    col: int
    template: Template
    rows: tuple[int, ...]                                  # ascending
    spill: tuple[int, int, int, int] | None = None         # (c0, r0, c1, r1) of an array

    def cells(self) -> list[tuple[int, int]]:
        """(row, column) of every cell the node computes, spilled cells included."""
        if self.spill:
            c0, r0, c1, r1 = self.spill
            return [(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
        return [(r, self.col) for r in self.rows]


def nodes_of(book: Workbook) -> list[Node]:
    """Every formula cell of ``book`` in exactly one node."""
    out: list[Node] = []
    ctx = book.context
    shapes: dict[str, object] = {}
    for (sheet, col), by_text in book.texts.items():
        fill: dict[tuple, list[tuple[int, str]]] = defaultdict(list)
        for bare, rows in by_text.items():
            text = "=" + bare
            if len(rows) > 1:   # the same text down a column: one node
                out.append(_node(sheet, col, text, rows, moving=False, book=book))
                continue
            shape_text = DIGITS.sub("#", text)
            if shape_text not in shapes:
                shapes[shape_text] = _shape(text, ctx)
            shape = shapes[shape_text]
            key = row_key(text, rows[0], shape) if shape is not None else None
            if key is None:
                out.append(_node(sheet, col, text, rows, moving=False, book=book))
            else:
                fill[(shape_text, key)].append((rows[0], text))
        for members in fill.values():
            members.sort()
            text0 = members[0][1]
            out.append(_node(sheet, col, text0, [r for r, _ in members],
                             moving=len(members) > 1, book=book))
    for (sheet, _), sh in book.shared.items():
        by_col: dict[int, list[int]] = defaultdict(list)
        for r, c in sh.cells:
            by_col[c].append(r)
        for col, rows in by_col.items():
            text = sh.text
            if col != sh.col:
                origin = f"{get_column_letter(sh.col)}{sh.row}"
                text = Translator(text, origin).translate_formula(
                    f"{get_column_letter(col)}{sh.row}")
            out.append(_node(sheet, col, text, sorted(rows), moving=True, book=book,
                             anchor=sh.row))
    for (sheet, row, col), (text, bounds) in book.arrays.items():
        node = _node(sheet, col, text, [row], moving=False, book=book)
        out.append(node._replace(spill=bounds))
    return out


def _shape(text: str, ctx) -> object:
    try:
        return shape_of(text, ctx)
    except FormulaError:
        return None


def _node(sheet: str, col: int, text: str, rows: list[int], *, moving: bool,
          book: Workbook, anchor: int | None = None) -> Node:
    row = rows[0] if anchor is None else anchor
    try:
        t = template(text, sheet, row, col, book.context, moving=moving)
    except FormulaError as e:
        raise RecalcError(f"{a1(sheet, rows[0], col)}: {e}") from None
    return Node(sheet, col, t, tuple(sorted(rows)))


# ------------------------------------------------------------------ ordering

class CellIndex:
    """Which node computes a cell: per (sheet, column), sorted runs of rows."""

    def __init__(self, nodes: list[Node]):
        runs: dict[tuple[str, int], list[tuple[int, int, int]]] = defaultdict(list)
        for i, n in enumerate(nodes):
            if n.spill:
                c0, r0, c1, r1 = n.spill
                for c in range(c0, c1 + 1):
                    runs[(n.sheet, c)].append((r0, r1, i))
                continue
            start = prev = n.rows[0]
            for r in n.rows[1:]:
                if r != prev + 1:
                    runs[(n.sheet, n.col)].append((start, prev, i))
                    start = r
                prev = r
            runs[(n.sheet, n.col)].append((start, prev, i))
        self.runs = {k: sorted(v) for k, v in runs.items()}
        self.starts = {k: [r[0] for r in v] for k, v in self.runs.items()}
        self.columns: dict[str, list[int]] = defaultdict(list)
        for sheet, col in sorted(self.runs):
            self.columns[sheet].append(col)

    def nodes_in(self, sheet: str, r0: int, c0: int, r1: int, c1: int) -> set[int]:
        out = set()
        cols = self.columns.get(sheet, [])
        for col in cols[bisect.bisect_left(cols, c0):bisect.bisect_right(cols, c1)]:
            runs, starts = self.runs[(sheet, col)], self.starts[(sheet, col)]
            i = bisect.bisect_right(starts, r1)
            while i > 0:   # runs of a column do not overlap: ends rise with starts
                i -= 1
                lo, hi, node = runs[i]
                if hi < r0:
                    break
                out.add(node)
        return out

    def holds(self, sheet: str, row: int, col: int) -> bool:
        return bool(self.nodes_in(sheet, row, col, row, col))


def _reads(node: Node, index: CellIndex) -> set[int]:
    out = set()
    lo, hi = node.rows[0], node.rows[-1]
    for ref in node.template.refs:
        if ref.moves:
            a, b = ref.rows(lo)
            c, d = ref.rows(hi)
            r0, r1 = min(a, c), max(b, d)
        else:
            r0, r1 = ref.r0, ref.r1
        out |= index.nodes_in(ref.sheet, r0, ref.c0, r1, ref.c1)
    return out


def order(nodes: list[Node], progress: Callable[[str], None] = lambda s: None) -> list[Node]:
    """``nodes`` in an order where each comes after every node it reads (the standard
    library's ``graphlib``); a group caught in a cycle is split into its cells until only
    a true circular reference would remain, which is refused naming its cells."""
    while True:
        index = CellIndex(nodes)
        graph = {i: _reads(n, index) for i, n in enumerate(nodes)}
        try:
            return [nodes[i] for i in graphlib.TopologicalSorter(graph).static_order()]
        except graphlib.CycleError as e:
            cycle = e.args[1]            # [a, b, ..., a]
        split = {i for i in cycle if len(nodes[i].rows) > 1}
        if not split:
            cells = [a1(nodes[i].sheet, nodes[i].rows[0], nodes[i].col) for i in cycle]
            raise RecalcError("circular reference: " + " -> ".join(cells[:8] + cells[-1:]) +
                              "; Excel cannot compute it either: break the loop first")
        progress(f"splitting {len(split)} formula group(s) whose rows read each other")
        nodes = [m for i, n in enumerate(nodes) for m in
                 ([n._replace(rows=(r,)) for r in n.rows] if i in split else [n])]
