"""Recalculating a workbook without Excel.

HTX_* functions are evaluated by the functions the caller passes (``xlhtx.udfs.FUNCTIONS``,
which run the core); ordinary Excel formulas by the ``formulas``
package. Two phases:

1. *Batched HTX calls*: every cell whose formula is a single ``HTX_*`` call on constants,
   input cells or input ranges is grouped with the others of its function and tier
   range, and each group is one call of the Excel function over columns (one kernel
   call), exactly what Excel would show in each cell.
2. *Per-row formulas*: ordinary formulas that repeat row after row (the same formula
   relative to its cell, reading single cells) are compiled once by the ``formulas``
   engine and evaluated for each row once their inputs are known.
3. *The formula engine* evaluates the rest (ranges, spills, HTX calls on formula
   results) with the cells above as inputs; HTX_* functions are registered in it and go
   through the same Excel functions cell by cell.

Table structured references are translated to A1 references first (``structured``).
The output is a copy of the input whose formula cells (and spilled cells) hold cached
values, written at the XML level so sheets, styles, charts and VBA survive
(``xlsxml.inject_values``); the input is never overwritten unless asked.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from xlhtx.xlsx.structured import StructuredRefError, tables_of, translate
from xlhtx.xlsx.workbook_io import WorkbookError, check_workbook_file, open_workbook
from xlhtx.xlsx.package import LayoutError, check_layout, inject_values, read_parts
from xlhtx.errors import CellError, XlhtxError

Cell = tuple[str, int, int]   # (sheet, row, column)
HTX_CALL = re.compile(r"^=\s*(HTX_[A-Z]+)\s*\((.*)\)\s*$", re.S | re.I)
REF = re.compile(r"^(?:'((?:[^']|'')+)'|([A-Za-z0-9_.]+))?!?\$?([A-Z]{1,3})\$?(\d+)"
                 r"(?::\$?([A-Z]{1,3})\$?(\d+))?$")
A1_IN_FORMULA = re.compile(r"(?<![A-Za-z0-9_.$])(?:'(?:[^']|'')+'!|[A-Za-z0-9_.]+!)?"
                           r"\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?(?![A-Za-z0-9_(])")
STRING = re.compile(r'"(?:[^"]|"")*"')
# functions that read whole columns or spill tables: never batched cell by cell
MAX_FORMULAS = 500_000   # formula cells a headless recalculation takes on
EXTERNAL = re.compile(r"\[\d+\]")   # [1]Sheet1!A1: a cell of another workbook
NOT_BATCHED = {"HTX_LIQLADDER", "HTX_CROSSLIQPRICE", "HTX_ADLRANK", "HTX_VERSION",
               "HTX_ACCOUNT", "HTX_RISKRATE", "HTX_LIQMAP"}
Functions = dict[str, Callable[..., Any]]   # Excel name -> the Python function behind it


class RecalcError(XlhtxError):
    """The workbook cannot be recalculated; the message says why."""


def split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call (strings and parentheses kept)."""
    out, depth, cur, in_str = [], 0, [], False
    for ch in text:
        if ch == '"':
            in_str = not in_str
        elif not in_str and ch in "([{":
            depth += 1
        elif not in_str and ch in ")]}":
            depth -= 1
        elif not in_str and depth == 0 and ch == ",":
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out if text.strip() else []


class WorkbookModel:
    """A workbook's formulas, ready to be calculated with changed inputs."""

    def __init__(self, path: str | Path, functions: Functions, *, batch: bool = True,
                 progress: Callable[[str], None] = lambda s: None):
        self.path = Path(path)
        self.functions = functions
        self.batch = batch
        self.progress = progress
        wb = open_workbook(self.path, data_only=False)
        try:
            self._read(wb)
            self._build_engine(wb)
        finally:
            wb.close()

    # --------------------------------------------------------------- reading
    def _read(self, wb) -> None:
        self.tables = tables_of(wb)
        self.values: dict[Cell, Any] = {}
        self.formulas: dict[Cell, str] = {}
        self.arrays: dict[Cell, tuple[int, int, int, int]] = {}
        self.sheets = [ws.title for ws in wb.worksheets]
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if v is None:
                        continue
                    key = (ws.title, c.row, c.column)
                    if isinstance(v, ArrayFormula):
                        self.arrays[key] = range_boundaries(v.ref)
                        v = v.text
                    if isinstance(v, str) and v.startswith("="):
                        if len(self.formulas) >= MAX_FORMULAS:
                            raise RecalcError(
                                f"more than {MAX_FORMULAS:,} formulas: over the limit of "
                                "headless recalculation; use `xlhtx calc` on the positions "
                                "table, or Excel")
                        if EXTERNAL.search(STRING.sub('""', v)):
                            raise RecalcError(
                                f"{ws.title}!{c.coordinate} refers to another workbook "
                                f"({v[:60]}); xlhtx reads nothing outside the workbook")
                        try:
                            self.formulas[key] = translate(v, self.tables, ws.title, c.row,
                                                           c.column)
                        except StructuredRefError as e:
                            raise RecalcError(f"{ws.title}!{c.coordinate}: {e}") from None
                    else:
                        self.values[key] = v
        self._refuse_cycles()
        self.groups = self._batch_groups() if self.batch else {}
        self.batched = {cell for cells in self.groups.values() for cell, _ in cells}
        self.rows = self._row_groups() if self.batch else []
        self.row_cells = {cell for _, _, cells in self.rows for cell in cells}

    def _parse_ref(self, arg: str, sheet: str) -> tuple[str, int, int, int, int] | None:
        m = REF.match(arg.strip())
        if not m:
            return None
        sh = (m.group(1) or "").replace("''", "'") or m.group(2) or sheet
        if sh not in self.sheets:
            return None
        c0, r0 = column_index_from_string(m.group(3)), int(m.group(4))
        c1 = column_index_from_string(m.group(5)) if m.group(5) else c0
        r1 = int(m.group(6)) if m.group(6) else r0
        return sh, r0, c0, r1, c1

    def _batch_groups(self) -> dict[tuple, list[tuple[Cell, list]]]:
        """Cells whose formula is one HTX call on constants and input cells/ranges."""
        formula_cells = set(self.formulas)
        has_formula: dict[tuple, bool] = {}   # per range: the Tiers range is shared by all
        groups: dict[tuple, list] = defaultdict(list)
        for cell, f in self.formulas.items():
            m = HTX_CALL.match(f)
            if not m or cell in self.arrays:
                continue
            name = m.group(1).upper()
            if name in NOT_BATCHED or name not in self.functions:
                continue
            args, key, ok = [], [name], True
            for a in split_args(m.group(2)):
                ref = self._parse_ref(a, cell[0])
                if ref is None:
                    const = _constant(a)
                    if const is _NOT_CONSTANT:
                        ok = False
                        break
                    args.append(("const", const))
                    key.append(("const",))
                    continue
                sh, r0, c0, r1, c1 = ref
                if ref not in has_formula:
                    has_formula[ref] = any((sh, r, c) in formula_cells
                                           for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))
                if has_formula[ref]:
                    ok = False
                    break
                if (r0, c0) == (r1, c1):
                    args.append(("cell", (sh, r0, c0)))
                    key.append(("cell",))
                else:   # a range (the tiers table): the group shares it
                    args.append(("range", ref))
                    key.append(("range", ref))
            if ok:
                groups[tuple(key)].append((cell, args))
        return groups

    def _refuse_cycles(self) -> None:
        """A circular reference has no value (Excel shows 0 and a warning): refuse it with
        the cells of the cycle, rather than leave them empty without a word."""
        deps: dict[Cell, list[Cell]] = {}
        for cell, f in self.formulas.items():
            out = []
            for _, p in self.refs_of(f, cell[0]):
                if p is None:
                    continue
                sh, r0, c0, r1, c1 = p
                if (r1 - r0 + 1) * (c1 - c0 + 1) > 100_000:
                    continue   # a whole-column range: its formula cells are checked alone
                out += [(sh, r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
                        if (sh, r, c) in self.formulas]
            deps[cell] = out
        state: dict[Cell, int] = {}
        for start in deps:
            if start in state:
                continue
            stack = [(start, iter(deps[start]))]
            path = [start]
            state[start] = 1
            while stack:
                cell, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[cell] = 2
                    stack.pop()
                    path.pop()
                elif state.get(nxt) == 1:
                    loop = path[path.index(nxt):] + [nxt]
                    raise RecalcError("circular reference: " + " -> ".join(
                        f"{sh}!{get_column_letter(c)}{r}" for sh, r, c in loop[:8]) +
                        "; Excel cannot compute it either: break the loop first")
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(deps[nxt])))
                    path.append(nxt)

    def refs_of(self, formula: str, sheet: str) -> list[tuple[re.Match, tuple | None]]:
        """A1 references of a formula outside its string literals, parsed."""
        blank = STRING.sub(lambda m: " " * len(m.group(0)), formula)
        return [(m, self._parse_ref(m.group(0), sheet)) for m in A1_IN_FORMULA.finditer(blank)]

    def _row_groups(self) -> list[tuple[Any, list[tuple[Cell, tuple]], list[Cell]]]:
        """Ordinary formulas that repeat relative to their cell and read single cells,
        grouped, compiled once, in an order where every input is known before use:
        ``[(compiled, inputs as (sheet, row offset, column offset), cells)]``."""
        import formulas
        shapes: dict[tuple, list[Cell]] = defaultdict(list)
        offsets: dict[tuple, list] = {}
        for cell, f in self.formulas.items():
            if cell in self.batched or cell in self.arrays or HTX_CALL.match(f):
                continue
            parts, last, refs = [], 0, []
            for m, p in self.refs_of(f, cell[0]):
                if p is None or (p[1], p[2]) != (p[3], p[4]):
                    break   # a range, or a name we cannot place: the engine's job
                parts += [f[last:m.start()], f"<{p[0]}|{p[1] - cell[1]}|{p[2] - cell[2]}>"]
                refs.append((p[0], p[1] - cell[1], p[2] - cell[2]))
                last = m.end()
            else:
                key = (cell[0], "".join(parts) + f[last:])
                shapes[key].append(cell)
                offsets[key] = refs
        # keep groups whose inputs are inputs, batched cells or earlier groups
        known = set(self.batched)
        order, pending = [], dict(shapes)

        def inputs_known(k: tuple) -> bool:
            return all(t in known or t not in self.formulas
                       for _, r, c in pending[k] for rs, dr, dc in offsets[k]
                       for t in [(rs, r + dr, c + dc)])
        while pending:
            ready = [k for k in pending if inputs_known(k)]
            if not ready:
                break
            for k in ready:
                order.append(k)
                known.update(pending.pop(k))
        out = []
        by_upper = {name.upper(): name for name in self.sheets}
        for key in order:
            cells = shapes[key]
            first = cells[0]
            try:
                fn = formulas.Parser().ast(self.formulas[first])[1].compile()
            except Exception:
                continue   # the engine will report it
            inputs = []
            for name in fn.inputs:
                sheet, _, ref = name.rpartition("!")
                p = self._parse_ref(ref, by_upper.get(sheet.strip("'").upper(), first[0]))
                inputs.append(((p[0], p[1] - first[1], p[2] - first[2])))
            out.append((fn, inputs, cells))
        return out

    # ---------------------------------------------------------------- engine
    def _build_engine(self, wb) -> None:
        """The ``formulas`` model of the cells phase 1 does not compute."""
        import formulas
        self.progress(f"compiling {len(self.formulas) - len(self.batched) - len(self.row_cells):,}"
                      f" formulas ({len(self.batched):,} HTX cells batched, "
                      f"{len(self.row_cells):,} per-row cells)")
        register_functions(formulas, self.functions)
        fd, tmp = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        needed = self._engine_cells()
        try:
            for ws in wb.worksheets:
                ws._charts, ws._images = [], []
                for key in [k for k in ws._cells if (ws.title, *k) not in needed]:
                    del ws._cells[key]   # the engine compiles every cell it is given
                for (sh, r, c), f in self.formulas.items():
                    if sh != ws.title:
                        continue
                    if (sh, r, c) in self.batched or (sh, r, c) in self.row_cells:
                        ws.cell(row=r, column=c).value = 0.0   # an input of phase 3
                    elif (sh, r, c) in self.arrays:
                        c0, r0, c1, r1 = self.arrays[(sh, r, c)]
                        ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}"
                        ws.cell(row=r, column=c).value = ArrayFormula(ref, f)
                    else:
                        ws.cell(row=r, column=c).value = f
            wb.vba_archive = None
            wb.save(tmp)
            with quiet_engine():
                self.engine = formulas.ExcelModel().loads(tmp).finish()
            self.book = Path(tmp).name
        except RecalcError:
            raise
        except Exception as e:  # the engine's own parse errors name the formula
            raise RecalcError(f"the formula engine cannot read this workbook: {e}") from None
        finally:
            os.unlink(tmp)

    def _engine_cells(self) -> set[Cell]:
        """The formula cells phase 2 computes and every cell they read, transitively."""
        todo = [c for c in self.formulas if c not in self.batched and c not in self.row_cells]
        needed = set(todo)
        while todo:
            sh, r, c = todo.pop()
            f = self.formulas.get((sh, r, c))
            if f is None or (sh, r, c) in self.batched or (sh, r, c) in self.row_cells:
                continue
            for _, parsed in self.refs_of(f, sh):
                if parsed is None:
                    continue
                rs, r0, c0, r1, c1 = parsed
                for rr in range(r0, r1 + 1):
                    for cc in range(c0, c1 + 1):
                        if (rs, rr, cc) not in needed:
                            needed.add((rs, rr, cc))
                            if (rs, rr, cc) in self.formulas:
                                todo.append((rs, rr, cc))
        return needed

    def key(self, sheet: str, r1: int, c1: int, r2: int | None = None,
            c2: int | None = None) -> str:
        ref = f"{get_column_letter(c1)}{r1}" + (f":{get_column_letter(c2)}{r2}" if r2 is not None else "")
        return f"'[{self.book}]{sheet.upper()}'!{ref}"

    # ------------------------------------------------------------ calculating
    def calculate(self, changes: dict[Cell, Any] | None = None) -> dict[Cell, Any]:
        """Values of every formula cell (and every cell a formula spills into) with
        ``changes`` applied to input cells."""
        changes = changes or {}
        for cell in changes:
            if cell in self.formulas:
                raise RecalcError(f"{cell[0]}!{get_column_letter(cell[2])}{cell[1]} holds a formula; "
                                  "change an input cell")
        values = {**self.values, **changes}
        out: dict[Cell, Any] = {}
        for key, cells in self.groups.items():
            out.update(self._run_group(key[0], cells, values))
        known = {**values, **out}
        for fn, offsets, cells in self.rows:
            for cell in cells:
                args = [_engine_arg(known.get((sh, cell[1] + dr, cell[2] + dc)))
                        for sh, dr, dc in offsets]
                try:
                    v = _cell_value(fn(*args), 0, 0)
                except Exception:
                    v = "#VALUE!"
                out[cell] = known[cell] = v
        inputs = {self.key(*cell): _engine_value(v) for cell, v in {**changes, **out}.items()}
        with quiet_engine():
            sol = self.engine.calculate(inputs=inputs)
        for cell, f in self.formulas.items():
            if cell in out:
                continue
            sh, r, c = cell
            if cell in self.arrays:
                c0, r0, c1, r1 = self.arrays[cell]
                arr = _solution(sol, self.key(sh, r0, c0, r1, c1))
                for i in range(r1 - r0 + 1):
                    for j in range(c1 - c0 + 1):
                        v = _cell_value(arr, i, j)
                        # past the end of the spill the engine pads with #N/A; a dynamic
                        # array leaves those cells empty (ours never say a bare #N/A)
                        out[(sh, r0 + i, c0 + j)] = None if v == "#N/A" else v
            else:
                out[cell] = _cell_value(_solution(sol, self.key(sh, r, c)), 0, 0)
        return out

    def _run_group(self, name: str, cells: list[tuple[Cell, list]],
                   values: dict[Cell, Any]) -> dict[Cell, Any]:
        columns = []
        for j, (kind, first) in enumerate(cells[0][1]):
            if kind == "range":
                sh, r0, c0, r1, c1 = first
                columns.append([[values.get((sh, r, c)) for c in range(c0, c1 + 1)]
                                for r in range(r0, r1 + 1)])
            elif kind == "const":
                columns.append([[a[j][1]] for _, a in cells])
            else:
                columns.append([[values.get(a[j][1])] for _, a in cells])
        try:
            result = self.functions[name](*columns)
        except CellError as e:   # one cell: Excel shows the message in it
            result = str(e)
        except Exception as e:
            result = f"#VALUE! {e}"
        if not isinstance(result, list):
            result = [[result]] * len(cells)
        return {cell: row[0] if row else None for (cell, _), row in zip(cells, result)}


# ------------------------------------------------------------------- helpers

_NOT_CONSTANT = object()
NUMBER_LITERAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _constant(arg: str) -> Any:
    a = arg.strip()
    if a == "":
        return None
    if len(a) >= 2 and a[0] == a[-1] == '"':
        return a[1:-1].replace('""', '"')
    if a.upper() in ("TRUE", "FALSE"):
        return a.upper() == "TRUE"
    if not NUMBER_LITERAL.match(a):
        return _NOT_CONSTANT   # nan, inf, names: not numbers in Excel (it shows #NAME?)
    return float(a)


def _engine_value(v: Any) -> Any:
    return "" if v is None else v


def _engine_arg(v: Any) -> Any:
    import schedula as sh
    return sh.EMPTY if v is None else v


def _solution(sol: dict, key: str) -> Any:
    v = sol.get(key)
    if v is None:
        for k, val in sol.items():   # the engine may name a single cell as A1:A1
            if k.upper() == key.upper():
                return val
        return None
    return v


def _cell_value(v: Any, i: int, j: int) -> Any:
    if v is None:
        return None
    arr = getattr(v, "value", v)
    arr = np.asarray(arr, dtype=object)
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
    import schedula as sh
    if e is sh.EMPTY:
        return None
    if isinstance(e, np.generic):
        return e.item()
    if type(e).__name__ == "XlError":
        return str(e)
    return e


def _from_engine(x: Any) -> Any:
    """A ``formulas`` argument -> what xlwings would pass (2-D lists, None for empty)."""
    v = getattr(x, "value", x)
    arr = np.asarray(v, dtype=object)
    if arr.ndim < 2:
        arr = arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(1, 1)
    return [[_plain(e) for e in row] for row in arr]


def register_functions(formulas_module, functions: Functions) -> None:
    """HTX_* as functions of the formula engine, through the Excel functions."""
    funcs = formulas_module.get_functions()
    for name, f in functions.items():
        funcs[name] = _engine_function(f)


def _engine_function(f: Callable) -> Callable:
    def call(*args):
        try:
            res = f(*(_from_engine(a) for a in args))
        except CellError as e:
            return str(e)
        except Exception as e:
            return f"#VALUE! {e}"
        if isinstance(res, list):
            return np.array(res, dtype=object)
        return res
    return call


# --------------------------------------------------------------------- command

@contextmanager
def quiet_engine() -> Iterator[None]:
    """The formula engine draws its own progress bars on stderr: off while it runs
    (xlhtx reports progress itself), and only for it."""
    import functools
    import types

    import formulas.excel as engine
    real = engine.tqdm
    engine.tqdm = types.SimpleNamespace(tqdm=functools.partial(real.tqdm, disable=True))
    try:
        yield
    finally:
        engine.tqdm = real


def count_formulas(book: str | Path) -> int:
    """Formula cells in the sheets, counted by streaming their XML (before anything is
    parsed, so a huge workbook is refused in a second)."""
    import zipfile
    n = 0
    with zipfile.ZipFile(book) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                tail = b""
                with z.open(name) as f:
                    while chunk := f.read(1 << 20):
                        data = tail + chunk
                        n += data.count(b"<f>") + data.count(b"<f ")
                        tail = data[-3:]
                        n -= tail.count(b"<f>") + tail.count(b"<f ")
                n += tail.count(b"<f>") + tail.count(b"<f ")
    return n


def recalc(book: str | Path, out: str | Path | None = None, *, functions: Functions,
           in_place: bool = False,
           values_only: bool = False, batch: bool = True,
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
    try:
        check_workbook_file(book)
        check_layout(read_parts(book))
        n = count_formulas(book)
        if n > MAX_FORMULAS:
            raise RecalcError(f"{book}: {n:,} formulas, more than the {MAX_FORMULAS:,} headless "
                              "recalculation takes on; use `xlhtx calc` on the positions "
                              "table, or Excel")
        model = WorkbookModel(book, functions, batch=batch, progress=progress)
    except (WorkbookError, LayoutError) as e:
        raise RecalcError(f"{book}: {e}" if str(book) not in str(e) else str(e)) from None
    progress("calculating")
    values = model.calculate()
    by_sheet: dict[str, dict[tuple[int, int], Any]] = defaultdict(dict)
    for (sh, r, c), v in values.items():
        by_sheet[sh][(r, c)] = v
    try:
        atomic_write(target, lambda tmp: inject_values(
            book, tmp, by_sheet, keep_formulas=not values_only,
            drop_vba=values_only or target.suffix.lower() == ".xlsx"))
    except LayoutError as e:
        raise RecalcError(f"{book}: {e}") from None
    return target
