"""Where xlhtx adapts its two workbook libraries, in one place, each adaptation checked
against the version it was written for.

* **XlsxWriter** (pinned, 3.3.1: the committed template is compared byte for byte with a
  build):
  - ``CachedFormulaWorksheet``: XlsxWriter rewrites every formula it writes (some 60
    regular expressions for Excel's newer function names); a Table repeats each column's
    formula down every row, so the rewritten text is kept per distinct formula (at
    100,000 Positions rows the build took 160 s). Upstream: a cache in
    ``Worksheet._prepare_formula`` would serve every user writing Tables.
  - ``drawn_axes``: every drawn chart axis carries ``<c:delete val="0"/>`` as Excel 365
    writes it (XlsxWriter writes the element only for a hidden axis; some readers then
    hide the axis). Upstream: write the element for every axis.
* **formulas** (the engine of ordinary formulas in headless recalculation):
  - ``register``: the add-in's functions join the engine's global function registry, and
    ``INDEX`` is replaced by one that builds only the cell it returns (the engine's own
    builds an object for every cell of the range on every call: a 100,000-row column
    read by a dozen cells took seconds). Upstream: a lazy ``INDEX``.

``check()`` raises a clear error if an installed version lacks what these rely on.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import xlsxwriter
import xlsxwriter.worksheet

from xlhtx.errors import XlhtxError

XLSXWRITER_TESTED = "3.3.1"
FORMULAS_TESTED = ("1.2", "1.3")     # minor versions the INDEX adaptation was checked on


class CompatError(XlhtxError):
    """An installed library lacks what an adaptation relies on."""


def check() -> None:
    """The private hooks the adaptations use exist in the installed versions."""
    from xlsxwriter.chart import Chart
    missing = [f"xlsxwriter {name}" for owner, name in (
        (xlsxwriter.worksheet.Worksheet, "_prepare_formula"), (Chart, "_write_delete"),
        (Chart, "_write_axis_pos")) if not hasattr(owner, name)]
    if missing:
        raise CompatError(f"XlsxWriter {xlsxwriter.__version__} lacks {', '.join(missing)}: "
                          f"xlhtx was written for {XLSXWRITER_TESTED}; install that version")


class CachedFormulaWorksheet(xlsxwriter.worksheet.Worksheet):
    """A worksheet that prepares each distinct formula text once (see the module doc)."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        cache = self.__dict__.setdefault("_xlhtx_prepared", {})
        key = (formula, expand_future_functions)
        if key not in cache:
            cache[key] = super()._prepare_formula(formula, expand_future_functions)
        return cache[key]


def drawn_axes(chart) -> None:
    """Every drawn axis of ``chart`` writes ``<c:delete val="0"/>``, right before
    ``c:axPos`` where the schema puts it (see the module doc)."""
    write_delete, write_axis_pos = chart._write_delete, chart._write_axis_pos
    hidden = []

    def delete(val):
        hidden.append(val)
        write_delete(val)

    def axis_pos(*args):
        if not hidden:
            write_delete(0)
        hidden.clear()
        write_axis_pos(*args)

    chart._write_delete, chart._write_axis_pos = delete, axis_pos


# --------------------------------------------------------------------------- formulas

def register(functions: dict[str, Callable]) -> dict:
    """The ``formulas`` engine's function registry with ``functions`` (name -> engine
    function) added and the lean ``INDEX`` in place; returns the registry."""
    import formulas
    registry = formulas.get_functions()
    registry.update(functions)
    try:
        _lean_index(registry)
    except (ImportError, KeyError) as e:
        raise CompatError(f"formulas {formulas.__version__}: {e!r}; xlhtx's INDEX was "
                          f"checked on {', '.join(FORMULAS_TESTED)}.x") from None
    return registry


def _lean_index(registry: dict) -> None:
    """``INDEX(range, row[, column])`` that builds the one cell it returns; anything else
    goes to the engine's own."""
    from formulas.functions import wrap_func, wrap_impure_func
    from formulas.functions.look import xindex
    from formulas.ranges import Ranges
    from formulas.tokens.operand import _index2col
    if registry["INDEX"].get("xlhtx"):
        return

    def index(array, row_num, col_num=None, area_num=1):
        r, c = whole(row_num), whole(col_num) if col_num is not None else None
        if isinstance(array, Ranges) and not array.is_set and len(array.ranges) == 1 \
                and whole(area_num) == 1 and r is not None and (col_num is None or c):
            value = array.value
            height, width = value.shape
            if c is None:
                r, c = (1, r) if height == 1 and width > 1 else (r, 1)
            if 1 <= r <= height and 1 <= c <= width:
                rng = array.ranges[0]
                row, n = int(rng["r1"]) + r - 1, rng["n1"] + c - 1
                col = _index2col(n)
                ref = f"{col}{row}"
                sheet = rng["sheet_id"]
                return Ranges(values=dict(array.values)).set_value({
                    "r1": row, "r2": row, "c1": col, "c2": col, "n1": n, "n2": n, "ref": ref,
                    "name": f"{sheet}!{ref}" if sheet else ref, "sheet_id": sheet},
                    value[r - 1, c - 1])
        return xindex(array, row_num, col_num, area_num)

    registry["INDEX"] = {**registry["INDEX"], "xlhtx": True,
                         "function": wrap_impure_func(wrap_func(index, ranges=True))}


def whole(x: Any) -> int | None:
    """A positive whole number given as a cell, a 1x1 array or a number; else None."""
    v = getattr(x, "value", x)
    arr = np.asarray(v, dtype=object)
    if arr.size != 1:
        return None
    v = arr.reshape(-1)[0]
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    return int(v) if v >= 1 else None
