"""The slow, obvious way to recalculate a workbook, to check ``xlhtx recalc`` against and
to time it against: the ``formulas`` engine's own model of the whole workbook, cell by
cell, with the HTX functions registered in it (Table references written out as A1 first,
since the engine does not know Tables).
"""

from __future__ import annotations

import functools
import os
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from xlhtx.excel.headless import FUNCTIONS
from xlhtx.xlsx import package
from xlhtx.xlsx.evaluate import _cell_value, _engine_function
from xlhtx.xlsx.formula import template
from xlhtx.xlsx.refs import Context


def calculate(path: str | Path) -> dict[tuple[str, int, int], Any]:
    """Values of every formula cell (and spilled cell), computed by the engine alone."""
    import formulas
    import formulas.excel as engine
    path = Path(path)
    parts = dict(package.read_parts(path))
    ctx = Context({s.upper(): s for s in package.sheet_parts(parts)}, package.tables(parts),
                  package.defined_names(parts))
    registry = formulas.get_functions()
    for name, f in FUNCTIONS.by_name.items():
        registry[name] = _engine_function(f)
    wb = load_workbook(path)
    cells, arrays = [], {}
    for ws in wb.worksheets:
        ws._charts, ws._images = [], []
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                spill = None
                if isinstance(v, ArrayFormula):
                    spill, v = range_boundaries(v.ref), v.text
                if not (isinstance(v, str) and v.startswith("=")):
                    continue
                text = template(v, ws.title, c.row, c.column, ctx, moving=False).render(c.row)
                cells.append((ws.title, c.row, c.column))
                if spill:
                    arrays[cells[-1]] = spill
                    c0, r0, c1, r1 = spill
                    c.value = ArrayFormula(f"{get_column_letter(c0)}{r0}:"
                                           f"{get_column_letter(c1)}{r1}", text)
                else:
                    c.value = text
    wb.vba_archive = None
    fd, tmp = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    real = engine.tqdm
    engine.tqdm = types.SimpleNamespace(tqdm=functools.partial(real.tqdm, disable=True))
    try:
        wb.save(tmp)
        model = formulas.ExcelModel().loads(tmp).finish()
        sol = model.calculate()
    finally:
        engine.tqdm = real
        os.unlink(tmp)
    book = Path(tmp).name.upper()
    by_key = {k.upper(): v for k, v in sol.items()}

    def key(sheet, r0, c0, r1=None, c1=None):
        ref = f"{get_column_letter(c0)}{r0}" + (
            f":{get_column_letter(c1)}{r1}" if r1 is not None else "")
        return f"'[{book}]{sheet.upper()}'!{ref}"

    out = {}
    for sheet, r, c in cells:
        if (sheet, r, c) in arrays:
            c0, r0, c1, r1 = arrays[(sheet, r, c)]
            arr = by_key.get(key(sheet, r0, c0, r1, c1))
            for i in range(r1 - r0 + 1):
                for j in range(c1 - c0 + 1):
                    v = _cell_value(arr, i, j)
                    out[(sheet, r0 + i, c0 + j)] = None if v == "#N/A" else v
        else:
            v = by_key.get(key(sheet, r, c))
            if v is None:
                v = by_key.get(key(sheet, r, c, r, c))
            out[(sheet, r, c)] = _cell_value(v, 0, 0) if v is not None else None
    return out


def same(a: Any, b: Any, rel: float = 1e-12) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return bool(np.isclose(a, b, rtol=rel, atol=0)) or a == b
    return a == b
