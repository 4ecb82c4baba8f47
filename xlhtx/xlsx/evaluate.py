"""Computing the nodes of a workbook (``plan``) in order, a column at a time.

* A column of one ``HTX_*`` call per row, on constants, the row's cells and whole tables,
  is *one* call of the Excel function over the columns (one kernel call): what Excel
  shows in each cell, at the speed of the core.
* A column of an ordinary formula is compiled once by the ``formulas`` engine. Built
  only from functions that work element by element (``ELEMENTWISE``) on single cells, it
  is evaluated once on whole columns; otherwise the compiled function runs row by row.
* Single cells and array formulas (spills) go through the same compiled functions, with
  ``HTX_*`` registered in the engine as the same Excel functions Excel calls.

Ranges reach the engine as its range objects built from the ``Store``; ``INDEX`` into a
100,000-row column builds the one cell it returns, not one object per cell.
"""

from __future__ import annotations

import functools
import gc
import inspect
import re
from collections import Counter
from typing import Any, Callable, NamedTuple

import numpy as np

from xlhtx.errors import CellError
from xlhtx.xlsx import compat
from xlhtx.xlsx.cells import RecalcError, Store, a1
from xlhtx.xlsx.formula import Template
from xlhtx.xlsx.package import MAX_TEXT, ExcelError
from xlhtx.xlsx.plan import Node
from xlhtx.xlsx.refs import Context, Ref, parse_a1, render_ref

# evaluated on whole columns they give what they give cell by cell (tests/test_recalc.py
# checks each on numbers, text, empty cells and errors)
ELEMENTWISE = frozenset({
    "IF", "IFERROR", "IFNA", "ISNUMBER", "ISTEXT", "ISBLANK", "ISERROR", "ISNA",
    "ISLOGICAL", "NOT", "ABS", "ROUND", "ROUNDUP", "ROUNDDOWN", "INT", "SIGN", "SQRT",
    "EXP", "LN", "LOG10", "MOD", "POWER", "NA"})
INFIX = frozenset({"+", "-", "*", "/", "^", "&", "=", "<>", "<", ">", "<=", ">=", "%"})
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NOT_CONSTANT = object()
UNKNOWN = Ref("", 0, 0, 0, 0)   # an input the engine names that is no cell of the workbook


class ExcelFunctions(NamedTuple):
    """The Excel functions a workbook may call beside Excel's own."""
    by_name: dict[str, Callable[..., Any]]
    row_wise: frozenset[str]            # a column of calls equals one call over the column
    table_arguments: tuple[str, ...]    # arguments that take a whole table


def _empty():
    import schedula
    return schedula.EMPTY


class Evaluator:
    """Computes nodes into a ``Store`` (inputs first, then every node in order)."""

    def __init__(self, functions: ExcelFunctions, context: Context, store: Store,
                 progress: Callable[[str], None] = lambda s: None):
        import formulas
        self.functions = functions
        self.context = context
        self.store = store
        self.progress = progress
        self.ranges: dict[Ref, Any] = {}
        self.column_cache: dict[tuple, list[list]] = {}
        self.how: Counter = Counter()   # cells computed per way, for tests and progress
        self.compiled: dict[tuple, tuple[Any, list[Ref], bool]] = {}
        self.params = {name: list(inspect.signature(f).parameters)
                       for name, f in functions.by_name.items()}
        compat.register({name: _engine_function(f) for name, f in functions.by_name.items()})

    def run(self, nodes: list[Node]) -> None:
        # millions of small lists and no cycles among them: the cyclic collector would
        # only walk them again and again
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._run(nodes)
        finally:
            if enabled:
                gc.enable()

    def _run(self, nodes: list[Node]) -> None:
        for node in nodes:
            if len(node.rows) >= 1000:
                self.progress(f"{node.sheet}: column of {node.rows[-1] - node.rows[0] + 1:,}"
                              f" rows at {a1(node.sheet, node.rows[0], node.col)}")
            values = self._node(node)
            if values is not None:
                self.store.set_rows(node.sheet, node.col, list(node.rows), values)

    # -------------------------------------------------------------- per node kind
    def _node(self, node: Node) -> list | None:
        if node.spill:
            self.how["array"] += 1
            self._array(node)
            return None
        if len(node.rows) > 1:
            call = self._htx_call(node.template)
            if call is not None:
                values = self._batch(node, *call)
                if values is not None:
                    self.how["htx column"] += len(node.rows)
                    return values
            if _elementwise(node.template):
                values = self._columns(node)
                if values is not None:
                    self.how["formula column"] += len(node.rows)
                    return values
        self.how["cell by cell"] += len(node.rows)
        return self._row_by_row(node)

    def _batch(self, node: Node, name: str, args: list) -> list | None:
        rows = list(node.rows)
        columns = []
        for kind, a in args:
            if kind == "const":
                columns.append([[a]])
            elif kind == "table":
                columns.append(self.store.block(a.sheet, *self._clamp(a, rows[0])))
            elif a.moves:
                columns.append(self._column(a, rows))
            else:
                columns.append([[self.store.get(a.sheet, a.r0, a.c0)]])
        result = _excel_call(self.functions.by_name[name], columns)
        if not isinstance(result, list):   # one value or message: Excel shows it in every cell
            return [result] * len(rows)
        if len(result) != len(rows) or any(len(r) != 1 for r in result[:1]):
            return None
        return [r[0] if r else None for r in result]

    def _column(self, ref: Ref, rows: list[int]) -> list[list]:
        """The cells a moving reference reads down ``rows``, as Excel passes a column (one
        list per row); a column read by several functions is built once."""
        key = (ref.sheet, ref.c0, ref.r0, rows[0], rows[-1], len(rows))
        contiguous = rows[-1] - rows[0] + 1 == len(rows)
        if contiguous and key in self.column_cache:
            return self.column_cache[key]
        out = [[v] for v in self.store.rows_of(ref.sheet, ref.c0, [r + ref.r0 for r in rows])]
        if contiguous:
            self.column_cache[key] = out
        return out

    def _columns(self, node: Node) -> list | None:
        fn, refs, own = self._compile(node.template, node.rows[0], node)
        if not own:
            return None
        rows = list(node.rows)
        args = []
        for ref in refs:
            args.append(_engine_range(self._column(ref, rows)) if ref.moves else
                        self._value(ref, rows[0]))
        try:
            res = fn(*args)
        except Exception:
            return None
        arr = np.asarray(getattr(res, "value", res), dtype=object)
        if arr.ndim == 0 or arr.shape == (1, 1):
            return [_plain(arr.reshape(-1)[0])] * len(rows)
        if arr.shape != (len(rows), 1):
            return None
        return [_plain(x) for x in arr[:, 0].tolist()]

    def _row_by_row(self, node: Node) -> list:
        fn, refs, own = self._compile(node.template, node.rows[0], node)
        out = []
        for row in node.rows:
            fn_row, refs_row, _ = (fn, refs, own) if own else \
                self._compile(node.template, row, node)
            out.append(_cell_value(self._call(fn_row, refs_row, row), 0, 0))
            if len(node.rows) > 1:   # later rows of a split group may read this one
                self.store.set(node.sheet, row, node.col, out[-1])
        return out

    def _array(self, node: Node) -> None:
        c0, r0, c1, r1 = node.spill
        fn, refs, _ = self._compile(node.template, node.rows[0], node)
        res = self._call(fn, refs, node.rows[0])
        for i in range(r1 - r0 + 1):
            for j in range(c1 - c0 + 1):
                v = _cell_value(res, i, j)
                # past the end of the spill the engine pads with #N/A; a dynamic array
                # leaves those cells empty (ours never say a bare #N/A)
                self.store.set(node.sheet, r0 + i, c0 + j, None if v == "#N/A" else v)

    # ------------------------------------------------------------------ helpers
    def _htx_call(self, t: Template) -> tuple[str, list] | None:
        """(name, args) when ``t`` is one row-wise HTX call on constants, the row's own
        cells, fixed cells and whole tables."""
        parts = t.parts
        if len(parts) < 2 or not isinstance(parts[0], str) or parts[-1] != ")":
            return None
        name = parts[0][:-1].upper()
        if not parts[0].endswith("(") or name not in self.functions.row_wise:
            return None
        raw: list[list] = [[]]
        for p in parts[1:-1]:
            if p == ",":
                raw.append([])
            else:
                raw[-1].append(p)
        if raw == [[]]:
            raw = []
        params = self.params[name]
        if len(raw) > len(params):
            return None
        args = []
        for j, a in enumerate(raw):
            if not a:
                args.append(("const", None))
            elif len(a) > 1:
                return None
            elif isinstance(a[0], Ref):
                ref = a[0]
                if ref.single:
                    args.append(("cell", ref))
                elif not ref.moves and params[j] in self.functions.table_arguments:
                    args.append(("table", ref))
                else:
                    return None
            else:
                const = _constant(a[0])
                if const is _NOT_CONSTANT:
                    return None
                args.append(("const", const))
        return name, args

    def _compile(self, t: Template, row: int, node: Node) -> tuple[Any, list[Ref], bool]:
        """The engine's function of ``t`` rendered at ``row``, the reference behind each of
        its inputs, and whether those are the template's own (so the function serves every
        row of the node; not when two references meet at this row)."""
        import formulas
        key = (t, row if any(r.moves for r in t.refs) else None)
        hit = self.compiled.get(key)
        if hit is not None:
            return hit
        text = t.render(row)
        registry = formulas.get_functions()
        for p in t.parts:
            if isinstance(p, str) and p.endswith("(") and len(p) > 1:
                name = p[:-1].upper()
                bare = name.removeprefix("_XLFN.").removeprefix("_XLWS.")
                if not {name, bare, "_XLFN." + bare} & registry.keys():
                    raise _cannot(node, row, text, f"it does not implement {bare}")
        try:
            fn = formulas.Parser().ast(text)[1].compile()
        except Exception as e:
            text_of_e = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            raise _cannot(node, row, text, text_of_e) from None
        by_name: dict[str, set[Ref]] = {}
        for ref in t.refs:   # each reference under the name the engine gives it
            by_name.setdefault(_engine_name(render_ref(ref, row)), set()).add(ref)
        refs, own = [], True
        for name in fn.inputs:
            same = by_name.get(name, set())
            if len(same) == 1:
                refs.append(next(iter(same)))
                continue
            own = False   # two references meet at this row: this row's own compile
            found = parse_a1(name, "", self.context)
            refs.append(next(iter(same)) if same else UNKNOWN if found is None else found)
        out = (fn, refs, own)
        self.compiled[key] = out
        return out

    def _call(self, fn: Any, refs: list[Ref], row: int) -> Any:
        args = [self._value(ref, row) for ref in refs]   # a refused range stops the run
        try:
            return fn(*args)
        except Exception:
            return "#VALUE!"

    def _value(self, ref: Ref, row: int) -> Any:
        if ref is UNKNOWN:
            from formulas.functions import Error
            return Error.errors["#NAME?"]
        if ref.single:
            r = row + ref.r0 if ref.rel0 else ref.r0
            return _engine_range([[self.store.get(ref.sheet, r, ref.c0)]])
        if not ref.moves and ref in self.ranges:
            return self.ranges[ref]
        arr = _engine_range(self.store.block(ref.sheet, *self._clamp(ref, row)))
        if not ref.moves:
            self.ranges[ref] = arr
        return arr

    def _clamp(self, ref: Ref, row: int) -> tuple[int, int, int, int]:
        """(r0, c0, r1, c1) of ``ref`` at ``row``, whole columns and rows cut to the cells
        the sheet uses (an empty tail adds nothing a formula could see)."""
        r0, r1 = ref.rows(row)
        last_row = max(self.store.last_row(ref.sheet), r0)
        last_col = max(self.store.last_col(ref.sheet), ref.c0)
        return r0, ref.c0, min(r1, last_row), min(ref.c1, last_col)


@functools.lru_cache(maxsize=4096)
def _engine_name(ref_text: str) -> str:
    """The name the engine gives a reference among a compiled function's inputs (it
    writes ranges down to the last row as ``A:J``, and so on)."""
    import formulas
    names = list(formulas.Parser().ast("=" + ref_text)[1].compile().inputs)
    return names[0] if len(names) == 1 else ref_text


def _cannot(node: Node, row: int, text: str, why: str) -> RecalcError:
    return RecalcError(f"{a1(node.sheet, row, node.col)}: the formula engine cannot compute "
                       f"{text[:80]} ({why}); recalculate this workbook in Excel")


def _elementwise(t: Template) -> bool:
    for p in t.parts:
        if isinstance(p, Ref):
            if not p.single:
                return False
        elif p.endswith("("):
            if p[:-1].upper() not in ELEMENTWISE:
                return False
        elif p in (",", ")", "(") or p in INFIX or _constant(p) is not _NOT_CONSTANT:
            continue
        else:
            return False   # names, spaces (intersections), ranges built with ':'
    return True


def _constant(arg: str) -> Any:
    a = arg.strip()
    if len(a) >= 2 and a[0] == a[-1] == '"':
        return a[1:-1].replace('""', '"')
    if a.upper() in ("TRUE", "FALSE"):
        return a.upper() == "TRUE"
    if not NUMBER.match(a):
        return _NOT_CONSTANT   # nan, inf, names: not numbers in Excel (it shows #NAME?)
    return float(a)


def _engine_range(rows: list[list]) -> Any:
    """Cell values as the engine's range object (what its functions expect: ``INDEX`` of
    an empty cell is an empty cell, not 0)."""
    import formulas
    from openpyxl.utils import get_column_letter
    height, width = len(rows), len(rows[0]) if rows else 0
    arr = np.empty((height, width), dtype=object)
    if arr.size:
        arr[:] = rows
        arr = _TO_ENGINE(arr)
    label = f"A1:{get_column_letter(max(width, 1))}{max(height, 1)}"
    return formulas.Ranges().push(label, arr)


def _to_engine(v: Any) -> Any:
    if v is None:
        return _empty()
    if type(v) is ExcelError:
        from formulas.functions import Error
        return Error.errors.get(str(v), v)
    return v


_TO_ENGINE = np.frompyfunc(_to_engine, 1, 1)


def _cell_value(v: Any, i: int, j: int) -> Any:
    if v is None:
        return None
    arr = np.asarray(getattr(v, "value", v), dtype=object)
    if arr.ndim == 0:
        x = arr.item()
    elif arr.ndim == 2 and i < arr.shape[0] and j < arr.shape[1]:
        x = arr[i, j]
    elif arr.ndim == 1 and i < arr.shape[0] and j == 0:
        x = arr[i]
    else:
        return None   # the spill is smaller than the range the formula holds
    return _plain(x)


def _plain(e: Any) -> Any:
    """One value of the formula engine as a cell holds it: None for empty, a Python
    number or text, an Excel error as its text."""
    if e is _empty():
        return None
    if isinstance(e, np.generic):
        return e.item()
    if type(e).__name__ == "XlError":
        return ExcelError(str(e))
    if isinstance(e, str) and len(e) > MAX_TEXT:
        return ExcelError("#VALUE!")   # Excel's answer for text that outgrows a cell
    return e


def _from_engine(x: Any) -> Any:
    """A ``formulas`` argument -> what xlwings would pass (2-D lists, None for empty)."""
    v = getattr(x, "value", x)
    arr = np.asarray(v, dtype=object)
    if arr.ndim < 2:
        arr = arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(1, 1)
    return [[_plain(e) for e in row] for row in arr.tolist()]


def _excel_call(f: Callable, args: list) -> Any:
    """``f(*args)`` as Excel shows it: its result, or the message of a call that cannot
    be computed (a ``CellError``'s own words, anything else as ``#VALUE!``)."""
    try:
        return f(*args)
    except CellError as e:
        return str(e)
    except Exception as e:
        return f"#VALUE! {e}"


def _engine_function(f: Callable) -> Callable:
    def call(*args):
        res = _excel_call(f, [_from_engine(a) for a in args])
        if isinstance(res, list):
            return np.array(res, dtype=object)
        return res
    return call
